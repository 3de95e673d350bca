"""powervc_server through ansible-playbook against the PowerVC emulator: deploy with a VSN, re-runs,
check mode, delete keeping the VSN, lost answers, killed runs, build failures, bad input."""

import copy

from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import wait_for
from tests.emulators.powervc import DEFAULT_SEED

MODULE = "hybridcloud.migration.powervc_server"
GROUP = "group/hybridcloud.migration.powervc"
NEW = dict(vm="ibmi-new-01", image="IBM i 7.5 base", flavor="ibmi-small",
           networks=[{"network": "prod-vlan10", "fixed_ip": "10.10.10.21"}])


def defaults(handle):
    info = handle.info
    return {GROUP: {"auth": {"auth_url": info["auth_url"], "username": info["username"],
                             "password": info["password"], "project_name": info["project_name"]},
                    "ca_cert": handle.ca_path}}


def task(title, check=False, ignore_errors=False, **args):
    entry = {"name": title, MODULE: args}
    if check:
        entry["check_mode"] = True
    if ignore_errors:
        entry["ignore_errors"] = True
    return entry


def calls(handle):
    """Mutating Nova calls (Keystone's token create/revoke left out): (method, path after the tenant, query)."""
    return [(e["method"], e["path"].split("/v2.1/", 1)[-1].split("/", 1)[-1], e["query"])
            for e in handle.admin.mutations() if not e["path"].startswith("/v3/")]


def servers_named(handle, name):
    return [s for s in handle.admin.state()["servers"] if s["name"] == name]


def test_check_mode_create_with_auto_and_reserved_vsn_then_unchanged(ansible, powervc_emulator):
    reserved = {**NEW, "vm": "ibmi-new-02", "virtual_serial_number": "CDF0002", "networks": [{"network": "dr-vlan20"}]}
    run = ansible.play([
        task("preview auto", check=True, host="dr-p10-b", virtual_serial_number="auto", **NEW),
        task("preview reserved", check=True, **reserved),
        task("create auto", host="dr-p10-b", virtual_serial_number="auto", **NEW),
        task("create reserved", **reserved),
        task("again auto", host="9109RMD_1031CAT", virtual_serial_number="auto", **NEW),
        task("again reserved", **reserved),
    ], module_defaults=defaults(powervc_emulator), diff=True)
    assert run.rc == 0, run.output
    auto, preview = run.result("preview auto"), run.result("preview reserved")
    assert auto["changed"] is True and auto["actions"][0]["virtual_serial_number"] == "auto"
    assert "free VSNs of host 9109RMD_1031CAT" in auto["actions"][0]["vsn_source"]
    assert preview["actions"][0]["host"] == "9080HEX_1234ABC"  # the reserved VSN's host
    assert preview["diff"]["before"] == {} and preview["diff"]["after"]["virtual_serial_number"] == "CDF0002"
    created = run.result("create auto")["server"]
    assert created["status"] == "ACTIVE" and created["host"] == "9109RMD_1031CAT"
    assert created["virtual_serial_number"] in ("CDF0011", "CDF0012", "CDF0013")
    second = run.result("create reserved")["server"]
    assert second["virtual_serial_number"] == "CDF0002" and second["host"] == "9080HEX_1234ABC"
    assert "CDF0002" not in [r["virtual_serial_number"] for r in powervc_emulator.admin.state()["reserved"]]
    for name in ("again auto", "again reserved"):
        assert run.result(name)["changed"] is False and run.result(name)["actions"] == []
    assert run.result("again auto")["server"]["virtual_serial_number"] == created["virtual_serial_number"]
    # two creates in all: check mode and the re-runs sent nothing
    assert calls(powervc_emulator) == [("POST", "servers", ""), ("POST", "servers", "")]


def test_delete_keeping_the_vsn_then_redeploy_with_it(ansible, powervc_emulator):
    run = ansible.play([
        task("preview delete", check=True, vm="ibmi-prod-01", state="absent", reserve_vsn_on_delete=True),
        task("delete", vm="ibmi-prod-01", state="absent", reserve_vsn_on_delete=True,
             reservation_description="ibmi-prod-01 goes to DR"),
        task("delete again", vm="ibmi-prod-01", state="absent", reserve_vsn_on_delete=True),
        task("redeploy", **{**NEW, "vm": "ibmi-prod-01", "virtual_serial_number": "ABCD100"}),
    ], module_defaults=defaults(powervc_emulator), diff=True)
    assert run.rc == 0, run.output
    preview, delete = run.result("preview delete"), run.result("delete")
    assert [a["action"] for a in preview["actions"]] == ["reserve_vsn", "delete"]
    assert delete["changed"] is True and delete["vsn"]["reserved"] is True
    assert delete["diff"]["before"]["virtual_serial_number"] == "ABCD100" and delete["diff"]["after"] == {}
    assert run.result("delete again")["changed"] is False
    redeploy = run.result("redeploy")
    assert redeploy["server"]["virtual_serial_number"] == "ABCD100" and redeploy["server"]["host"] == "9080HEX_1234ABC"
    assert calls(powervc_emulator) == [("POST", "virtual-serial-number", "action=reserve"),
                                       ("DELETE", "servers/3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e01", ""),
                                       ("POST", "servers", "")]
    reserve = next(e for e in powervc_emulator.admin.mutations() if e["query"] == "action=reserve")
    assert reserve["body"] == {"virtual_serial_number": "ABCD100", "description": "ibmi-prod-01 goes to DR"}


def test_lost_create_answer_is_found_by_name_not_resent(ansible, powervc_emulator):
    powervc_emulator.admin.fault(method="POST", path="/servers$", after=True, status=500,
                                 body={"computeFault": {"code": 500, "message": "gateway lost the answer"}})
    run = ansible.play([task("create", virtual_serial_number="auto", **NEW),
                        task("again", virtual_serial_number="auto", **NEW)], module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    create = run.result("create")
    assert create["changed"] is True and [a["action"] for a in create["actions"]] == ["create", "adopt"]
    assert create["server"]["status"] == "ACTIVE" and create["server"]["virtual_serial_number"]
    assert run.result("again")["changed"] is False
    assert calls(powervc_emulator) == [("POST", "servers", "")] and len(servers_named(powervc_emulator, NEW["vm"])) == 1


def test_run_killed_mid_build_is_adopted_and_waited_for(ansible, powervc_emulator):
    powervc_emulator.admin.action("settings", {"build_time": 4})

    def create_answered():
        return any(e["method"] == "POST" and e["path"].endswith("/servers") and e["status"] == 202
                   for e in powervc_emulator.admin.journal())

    killed = ansible.start([task("create", virtual_serial_number="ABCD001", **NEW)],
                           module_defaults=defaults(powervc_emulator)).kill_when(create_answered)
    assert killed.rc != 0
    assert servers_named(powervc_emulator, NEW["vm"])[0]["status"] == "BUILD"
    run = ansible.play([task("rerun", virtual_serial_number="ABCD001", **NEW)], module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    rerun = run.result("rerun")
    assert rerun["actions"][0]["action"] == "adopt" and rerun["server"]["status"] == "ACTIVE"
    assert rerun["changed"] is True and rerun["server"]["virtual_serial_number"] == "ABCD001"
    assert calls(powervc_emulator) == [("POST", "servers", "")]


def test_run_killed_mid_build_is_adopted_when_the_vsn_shows_only_after_the_build(ansible, powervc_emulator):
    """The doc does not say when a new server's VSN becomes visible: 'none' during BUILD is no conflict."""
    # 8 s: the check run must still find the build under way on a loaded machine (ansible-playbook start-up)
    powervc_emulator.admin.action("settings", {"build_time": 8, "vsn_after_build": True})
    args = {**NEW, "host": "dr-p10-b", "virtual_serial_number": "auto"}

    def create_answered():
        return any(e["method"] == "POST" and e["path"].endswith("/servers") and e["status"] == 202
                   for e in powervc_emulator.admin.journal())

    ansible.start([task("create", **args)], module_defaults=defaults(powervc_emulator)).kill_when(create_answered)
    run = ansible.play([task("check", check=True, **args), task("rerun", **args), task("again", **args)],
                       module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    check, rerun = run.result("check"), run.result("rerun")
    assert check["actions"][0]["action"] == "adopt"
    assert rerun["actions"][0]["action"] == "adopt" and rerun["changed"] is True
    assert rerun["server"]["status"] == "ACTIVE" and rerun["server"]["virtual_serial_number"] in ("CDF0011", "CDF0012")
    assert run.result("again")["changed"] is False
    assert calls(powervc_emulator) == [("POST", "servers", "")]


def test_run_killed_between_reserve_and_delete_converges(ansible, powervc_emulator):
    powervc_emulator.admin.fault(method="DELETE", path="/servers/", delay=3)

    def delete_sent():
        return any(e["method"] == "DELETE" and "/servers/" in e["path"] for e in powervc_emulator.admin.journal())

    args = dict(vm="ibmi-prod-01", state="absent", reserve_vsn_on_delete=True)
    ansible.start([task("delete", **args)], module_defaults=defaults(powervc_emulator)).kill_when(delete_sent)
    run = ansible.play([task("rerun", **args)], module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    assert servers_named(powervc_emulator, "ibmi-prod-01") == []
    reserved = {r["virtual_serial_number"]: r for r in powervc_emulator.admin.state()["reserved"]}
    assert reserved["ABCD100"]["assigned_to"] is None and reserved["ABCD100"]["host"] == "9080HEX_1234ABC"
    # The killed run's delayed DELETE is still being served: let it end here, not in the next test.
    wait_for(lambda: all(e["status"] is not None for e in powervc_emulator.admin.journal()) or None, 30,
             what="the delayed DELETE to be answered")


def test_run_killed_while_nova_deletes_is_waited_for_not_deleted_again(ansible, powervc_emulator):
    """Nova deletes asynchronously (task_state 'deleting'): a re-run waits, it sends no second reserve or delete."""
    # 8 s: the check run must still find the delete under way on a loaded machine (ansible-playbook start-up)
    powervc_emulator.admin.action("settings", {"delete_time": 8})

    def delete_answered():
        return any(e["method"] == "DELETE" and "/servers/" in e["path"] and e["status"] == 204
                   for e in powervc_emulator.admin.journal())

    args = dict(vm="ibmi-prod-01", state="absent", reserve_vsn_on_delete=True)
    ansible.start([task("delete", **args)], module_defaults=defaults(powervc_emulator)).kill_when(delete_answered)
    assert servers_named(powervc_emulator, "ibmi-prod-01")
    run = ansible.play([task("check", check=True, **args), task("rerun", **args), task("again", **args)],
                       module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    check, rerun = run.result("check"), run.result("rerun")
    assert [a["action"] for a in check["actions"]] == ["adopt_delete"]
    assert [a["action"] for a in rerun["actions"]] == ["adopt_delete"] and rerun["changed"] is True
    assert rerun["vsn"] == {"virtual_serial_number": "ABCD100", "reserved": True, "host": "9080HEX_1234ABC",
                            "host_display_name": "prod-p10-a"}
    assert run.result("again")["changed"] is False and servers_named(powervc_emulator, "ibmi-prod-01") == []
    assert calls(powervc_emulator) == [("POST", "virtual-serial-number", "action=reserve"),
                                       ("DELETE", "servers/3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e01", "")]


def test_present_while_nova_still_deletes_the_old_server_waits_then_creates(ansible, powervc_emulator):
    """A server of that name being deleted is not 'ok': the run waits for it to go, then creates."""
    powervc_emulator.admin.action("settings", {"delete_time": 3})
    args = {**NEW, "vm": "ibmi-prod-01", "virtual_serial_number": "ABCD100"}  # the VSN the old server had
    run = ansible.play([task("delete", vm="ibmi-prod-01", state="absent", reserve_vsn_on_delete=True, wait=False),
                        task("check", check=True, **args), task("create", **args)],
                       module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    check, create = run.result("check"), run.result("create")
    assert [a["action"] for a in check["actions"]] == ["wait_deleted", "create"]
    assert [a["action"] for a in create["actions"]] == ["wait_deleted", "create"] and create["changed"] is True
    (server,) = servers_named(powervc_emulator, "ibmi-prod-01")
    assert server["status"] == "ACTIVE" and server["id"] == create["server"]["id"]
    assert create["server"]["virtual_serial_number"] == "ABCD100"
    assert [c[0] for c in calls(powervc_emulator)] == ["POST", "DELETE", "POST"]  # reserve, delete, create


def test_build_failure_surfaces_the_fault_and_is_not_retried(ansible, powervc_emulator):
    powervc_emulator.admin.action("settings", {"build_time": 0.5, "build_faults": {
        "^ibmi-new": "No valid host was found. There are not enough hosts available."}})
    run = ansible.play([task("create", ignore_errors=True, virtual_serial_number="auto", **NEW),
                        task("again", ignore_errors=True, virtual_serial_number="auto", **NEW)],
                       module_defaults=defaults(powervc_emulator))
    create, again = run.result("create"), run.result("again")
    assert create["_status"] == "failed" and create["changed"] is True
    assert "went to ERROR while being built: No valid host was found" in create["msg"]
    assert create["server"]["status"] == "ERROR" and "No valid host" in create["server"]["fault"]
    assert again["_status"] == "failed" and again["changed"] is False and "state=absent" in again["msg"]
    assert calls(powervc_emulator) == [("POST", "servers", "")]


def test_bad_input_fails_naming_the_parameter_with_zero_mutating_calls(ansible, powervc_emulator):
    cases = {
        "unknown image": (dict(image="ibmi-9.9"), "parameter 'image': no image with id or name 'ibmi-9.9'"),
        "unknown flavor": (dict(flavor="huge"), "parameter 'flavor': no flavor with id or name 'huge'"),
        "unknown network": (dict(networks=[{"network": "vlan99"}]), "parameter 'networks[0].network': no network"),
        "unknown host": (dict(host="9999-ZZZ*0000000"), "parameter 'host': no PowerVC host '9999-ZZZ*0000000'"),
        "vsn shape": (dict(virtual_serial_number="ABCD-12"), "parameter 'virtual_serial_number' must be 'auto', "
                                                             "'none' or 7 letters or digits"),
        "vsn in use": (dict(virtual_serial_number="CDF0010"), "parameter 'virtual_serial_number': VSN CDF0010 is in "
                                                              "use by server ibmi-dev-03"),
        "timeout": (dict(timeout=100000), "parameter 'timeout' must be between 1 and 86400, got 100000"),
        "vsn conflict": (dict(vm="ibmi-prod-01", virtual_serial_number="ABCD567"),
                         "exists with VSN ABCD100, not ABCD567"),
    }
    run = ansible.play([task(name, ignore_errors=True, **{**NEW, **extra}) for name, (extra, _m) in cases.items()],
                       module_defaults=defaults(powervc_emulator))
    for name, (_extra, message) in cases.items():
        result = run.result(name)
        assert result["_status"] == "failed" and message in result["msg"], (name, result["msg"])
        assert result["changed"] is False
    assert calls(powervc_emulator) == []


def test_no_secret_in_vvvv_output(ansible, powervc_emulator):
    seed = copy.deepcopy(DEFAULT_SEED)
    secret = "Pvc-Secret-0123456789-abcdefghij"
    seed["users"][0]["password"] = secret
    powervc_emulator.reset(seed)
    handle_defaults = defaults(powervc_emulator)
    handle_defaults[GROUP]["auth"]["password"] = secret
    run = ansible.play([task("create", virtual_serial_number="auto", **NEW)], module_defaults=handle_defaults,
                       verbosity=4)
    assert run.rc == 0, run.output
    assert secret not in run.output and "adminPass" not in run.output
    powervc_emulator.reset()


def test_keystone_answering_503_is_asked_again_then_the_run_goes_on(ansible, powervc_emulator):
    """A token request changes nothing: Keystone's 503 is retried, not turned into a failed run."""
    powervc_emulator.admin.fault(method="POST", path="/v3/auth/tokens", status=503, times=1,
                                 body={"error": {"code": 503, "title": "Service Unavailable", "message": "busy"}})
    run = ansible.play([task("create", virtual_serial_number="auto", **NEW)], module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    assert run.result("create")["changed"] is True and calls(powervc_emulator) == [("POST", "servers", "")]


def test_servers_on_a_later_page_are_found_not_created_again(ansible, powervc_emulator):
    """Nova pages GET /servers at osapi_max_limit: the name is looked for on every page."""
    powervc_emulator.admin.action("settings", {"max_limit": 1})
    run = ansible.play([task("present", vm="ibmi-dev-03"),  # exists, on the third page
                        task("absent", vm="ibmi-legacy-04", state="absent")],
                       module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    assert run.result("present")["changed"] is False and run.result("present")["server"]["name"] == "ibmi-dev-03"
    assert run.result("absent")["changed"] is True and servers_named(powervc_emulator, "ibmi-legacy-04") == []
    assert [c[0] for c in calls(powervc_emulator)] == ["DELETE"]


def test_delete_answer_lost_after_nova_acted_is_read_back_not_resent(ansible, powervc_emulator):
    powervc_emulator.admin.action("settings", {"delete_time": 2})
    powervc_emulator.admin.fault(method="DELETE", path="/servers/", after=True, status=503, times=3,
                                 body={"computeFault": {"code": 503, "message": "proxy lost the answer"}})
    run = ansible.play([task("delete", vm="ibmi-test-02", state="absent"),
                        task("again", name="ibmi-test-02", state="absent")],  # 'name': the openstack.cloud alias
                       module_defaults=defaults(powervc_emulator))
    assert run.rc == 0, run.output
    assert run.result("delete")["changed"] is True and "being deleted" in run.result("delete")["warnings"][0]
    assert run.result("again")["changed"] is False and servers_named(powervc_emulator, "ibmi-test-02") == []
    assert [c[0] for c in calls(powervc_emulator)] == ["DELETE"]
