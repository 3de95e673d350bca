"""powervc_vsn through ansible-playbook against the PowerVC emulator."""

import copy

from tests.emulators.powervc import DEFAULT_SEED

MODULE = "hybridcloud.migration.powervc_vsn"
GROUP = "group/hybridcloud.migration.powervc"


def connection(handle):
    info = handle.info
    return {"auth": {"auth_url": info["auth_url"], "username": info["username"], "password": info["password"],
                     "project_name": info["project_name"]}, "ca_cert": handle.ca_path}


def defaults(handle):
    return {GROUP: connection(handle)}


def task(name, check=False, diff=False, ignore_errors=False, **args):
    entry = {"name": name, MODULE: args}
    if check:
        entry["check_mode"] = True
    if diff:
        entry["diff"] = True
    if ignore_errors:
        entry["ignore_errors"] = True
    return entry


def vsn_calls(handle):
    """Mutating VSN/server calls (Keystone token create/revoke left out on purpose)."""
    return [(e["method"], e["path"].rsplit("/", 1)[-1], e["query"], e["body"]) for e in handle.admin.mutations()
            if not e["path"].startswith("/v3/")]


class RecordingTokens(dict):
    """Stands in for the emulator's token table to learn the token values it hands out."""

    def __init__(self, issued):
        super().__init__()
        self.issued = issued

    def __setitem__(self, key, value):
        self.issued.append(key)
        super().__setitem__(key, value)


def test_reserve_check_mode_change_and_second_run(ansible, powervc_emulator):
    run = ansible.play([
        task("preview", check=True, diff=True, state="reserved", vsn="abcd102", description="for ibmi-new",
             host="9080-HEX*1234ABC"),
        task("reserve", diff=True, state="reserved", vsn="abcd102", description="for ibmi-new", host="prod-p10-a"),
        task("again", state="reserved", vsn="ABCD102", description="for ibmi-new", host="9080HEX_1234ABC"),
    ], module_defaults=defaults(powervc_emulator), diff=True)
    assert run.rc == 0, run.output
    preview, reserve, again = run.result("preview"), run.result("reserve"), run.result("again")
    assert preview["changed"] is True and preview["actions"] == [{"action": "reserve", "vsn": "ABCD102"}]
    # the diff lists only what changes, under the VSN, with no null for "not reserved yet"
    assert preview["diff"] == {"before": {"VSN ABCD102": {"reserved": False}},
                               "after": {"VSN ABCD102": {"reserved": True, "host": "prod-p10-a (9080HEX_1234ABC)",
                                                         "description": "for ibmi-new"}}}
    assert reserve["changed"] is True and reserve["vsn"] == {
        "virtual_serial_number": "ABCD102", "reserved": True, "host": "9080HEX_1234ABC",
        "host_display_name": "prod-p10-a", "description": "for ibmi-new", "server": None}
    assert again["changed"] is False and again["actions"] == []
    # one reserve in all: neither the check-mode run nor the second run sent anything
    assert vsn_calls(powervc_emulator) == [("POST", "virtual-serial-number", "action=reserve",
                                            {"virtual_serial_number": "ABCD102", "description": "for ibmi-new"})]


def test_move_check_mode_change_and_second_run(ansible, powervc_emulator):
    powervc_emulator.admin.action("settings", {"move_delay": 0.5})
    move = dict(state="moved", source_host="prod-p10-a", target_host="9109-RMD*1031CAT", vsns=["CDF0002", "CDF0003"])
    run = ansible.play([task("preview", check=True, **move), task("move", **move), task("again", **move)],
                       module_defaults=defaults(powervc_emulator), diff=True)
    assert run.rc == 0, run.output
    preview, moved, again = run.result("preview"), run.result("move"), run.result("again")
    assert preview["changed"] is True and preview["moved"] == ["CDF0002", "CDF0003"]
    # only the VSNs that move, hosts as "display name (id)"
    assert preview["diff"] == {"before": {"vsns": {v: {"host": "prod-p10-a (9080HEX_1234ABC)"} for v in move["vsns"]}},
                               "after": {"vsns": {v: {"host": "dr-p10-b (9109RMD_1031CAT)"} for v in move["vsns"]}}}
    assert moved["changed"] is True and moved["unverified"] == []
    assert [v["host"] for v in moved["vsns"]] == ["9109RMD_1031CAT", "9109RMD_1031CAT"]
    assert again["changed"] is False and again["already_on_target"] == ["CDF0002", "CDF0003"]
    # per-VSN outcomes in the bulk shape, beside the listing keys
    route = {"from": "prod-p10-a (9080HEX_1234ABC)", "to": "dr-p10-b (9109RMD_1031CAT)", "jobs": [], "error": ""}
    for entry in preview["vsns"]:
        assert entry == dict(entry, outcome="moved", started=None, ended=None, **route)
    for name, entry in zip(move["vsns"], moved["vsns"]):
        assert entry == dict(entry, name=name, outcome="moved", **route) and entry["reserved"] is True
        assert entry["started"] <= entry["ended"]
    for entry in again["vsns"]:
        assert entry == dict(entry, outcome="unchanged", started=None, ended=None, **route)
    assert vsn_calls(powervc_emulator) == [("PUT", "virtual-serial-number", "action=move", {"move_vsns": {
        "source_host": "9080HEX_1234ABC", "target_host": "9109RMD_1031CAT", "vsns": ["CDF0002", "CDF0003"]}})]


def test_assign_unassign_round_trip(ansible, powervc_emulator):
    run = ansible.play([
        task("assign", state="assigned", vm="ibmi-test-02", vsn="auto"),
        task("assign again", state="assigned", vm="ibmi-test-02", vsn="auto"),
        task("unassign", state="unassigned", vm="ibmi-test-02"),
        task("unassign again", state="unassigned", server="ibmi-test-02"),  # the openstack.cloud alias
    ], module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    assert run.result("assign")["server"]["virtual_serial_number"] == "ABCD101"
    assert [run.result(n)["changed"] for n in ("assign", "assign again", "unassign", "unassign again")] == [
        True, False, True, False]
    assert [c[3] for c in vsn_calls(powervc_emulator)] == [
        {"assign_vsn": {"virtual_serial_number": "auto"}}, {"unassign_vsn": None}]


def test_bad_input_fails_clearly_before_any_change(ansible, powervc_emulator):
    seed = copy.deepcopy(DEFAULT_SEED)
    seed["servers"][1]["status"] = "ACTIVE"  # ibmi-test-02: running, no VSN
    powervc_emulator.reset(seed)
    run = ansible.play([
        task("bad vsn", ignore_errors=True, state="reserved", vsn="ABCD-12"),
        task("unknown server", ignore_errors=True, state="assigned", vm="ibmi-ghost", vsn="auto"),
        task("unknown host", ignore_errors=True, state="moved", source_host="prod-p10-a", target_host="9999-ZZZ*0000000"),
        task("active server", ignore_errors=True, state="assigned", vm="ibmi-test-02", vsn="ABCD567"),
        task("missing option", ignore_errors=True, state="assigned", vm="ibmi-test-02"),
    ], module_defaults=defaults(powervc_emulator))
    messages = {name: run.result(name)["msg"] for name in
                ("bad vsn", "unknown server", "unknown host", "active server", "missing option")}
    assert all(run.result(name)["_status"] == "failed" for name in messages), messages
    assert "parameter 'vsn' must be 7 letters or digits; got 'ABCD-12'" in messages["bad vsn"]
    assert "parameter 'vm': no server with id or name 'ibmi-ghost'" in messages["unknown server"]
    assert "parameter 'target_host': no PowerVC host '9999-ZZZ*0000000'" in messages["unknown host"]
    assert ("cannot assign a VSN to server ibmi-test-02 while it is ACTIVE; stop the VM first"
            in messages["active server"])
    assert "state is assigned but all of the following are missing: vsn" in messages["missing option"]
    assert vsn_calls(powervc_emulator) == []


def test_token_expiry_mid_run_and_no_secret_at_vvvv(ansible, powervc_emulator):
    issued = []
    powervc_emulator.emulator.tokens = RecordingTokens(issued)
    # The token dies when the servers are read (after the reserved list): one re-auth, same call again.
    powervc_emulator.admin.fault(method="GET", path="/servers/detail", expire_session=True)
    run = ansible.play([task("reserve", state="reserved", vsn="ABCD567", description="licence for ibmi-new")],
                       module_defaults=defaults(powervc_emulator), verbosity=4)
    assert run.rc == 0, run.output
    assert run.result("reserve")["changed"] is True
    assert len(issued) == 2  # first token, then one after the 401
    tokens = [e for e in powervc_emulator.admin.journal() if e["path"] == "/v3/auth/tokens"]
    assert [(e["method"], e["status"]) for e in tokens] == [("POST", 201), ("POST", 201), ("DELETE", 204)]
    assert powervc_emulator.admin.state()["valid_tokens"] == 0  # revoked at the end
    for secret in [powervc_emulator.info["password"]] + issued:
        assert secret not in run.output
    assert "ABCD567" in run.output  # the -vvvv output is really there


def test_server_error_on_move_is_reported_with_the_api_code(ansible, powervc_emulator):
    """A 500 on every send: re-read after each (the work may be done), resent while not, then the API's error."""
    powervc_emulator.admin.fault(method="PUT", path="/virtual-serial-number", status=500, times=10,
                                 body={"computeFault": {"code": 500, "message": "Unexpected API Error. Please report."}})
    run = ansible.play([task("move", state="moved", source_host="prod-p10-a", target_host="dr-p10-b", vsn="CDF0002",
                             timeout=4)],
                       module_defaults=defaults(powervc_emulator))
    result = run.result("move")
    assert run.rc != 0 and result["_status"] == "failed"
    assert result["msg"] == ("PUT /virtual-serial-number?action=move on VSNs CDF0002 (prod-p10-a (9080HEX_1234ABC) -> "
                             "dr-p10-b (9109RMD_1031CAT)) failed: Unexpected API "
                             "Error. Please report. (HTTP 500; error code computeFault)")
    assert result["error_code"] == "computeFault" and result["status"] == 500
    assert result["changed"] is False and result["moved"] == [] and result["pending"] == []
    (entry,) = result["vsns"]
    assert entry["name"] == "CDF0002" and entry["outcome"] == "failed" and entry["ended"] is None
    assert "Unexpected API Error" in entry["error"] and entry["started"]
    assert len([e for e in powervc_emulator.admin.journal() if e["method"] == "PUT"]) == 3
    assert powervc_emulator.admin.state()["reserved"][1] == {
        "virtual_serial_number": "CDF0002", "host": "9080HEX_1234ABC", "description": "DR pool for ibmi-prod",
        "assigned_to": None}


def test_credentials_from_os_environment_only(ansible, powervc_emulator):
    info = powervc_emulator.info
    env = {"OS_AUTH_URL": info["auth_url"], "OS_USERNAME": info["username"], "OS_PASSWORD": info["password"],
           "OS_PROJECT_NAME": info["project_name"], "OS_USER_DOMAIN_NAME": "Default",
           "OS_PROJECT_DOMAIN_NAME": "Default", "OS_CACERT": powervc_emulator.ca_path, "OS_REGION_NAME": "RegionOne",
           "OS_INTERFACE": "public"}
    run = ansible.play([task("unreserve", state="unreserved", vsn="ABCD001")], env=env, verbosity=4)
    assert run.rc == 0, run.output
    assert run.result("unreserve")["changed"] is True
    assert info["password"] not in run.output


def test_credentials_from_a_clouds_yaml_entry(ansible, powervc_emulator, tmp_path):
    info = powervc_emulator.info
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  pvc:\n    auth:\n      auth_url: %s\n      username: %s\n      password: %s\n"
        "      project_name: %s\n      user_domain_name: Default\n      project_domain_name: Default\n"
        "    cacert: %s\n    region_name: RegionOne\n"
        % (info["auth_url"], info["username"], info["password"], info["project_name"], powervc_emulator.ca_path))
    run = ansible.play([task("reserve", cloud="pvc", state="reserved", vsn="CDF0003", description="DR pool for ibmi-prod")],
                       env={"OS_CLIENT_CONFIG_FILE": str(clouds)})
    assert run.rc == 0, run.output
    assert run.result("reserve")["changed"] is False
