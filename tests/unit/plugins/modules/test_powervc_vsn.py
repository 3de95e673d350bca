"""powervc_vsn in-process against the PowerVC emulator: plans, check mode, waits, failures before changes."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import powervc_vsn
from tests.unit.module_runner import run_module

VSN_PATH = "/virtual-serial-number"


def args(handle, **extra):
    info = handle.info
    auth = dict(auth_url=info["auth_url"], username=info["username"], password=info["password"],
                project_name=info["project_name"])
    return dict(extra, auth=auth, ca_cert=handle.ca_path)


def vsn_mutations(handle):
    """Mutating calls other than Keystone's token create/revoke."""
    return [(e["method"], e["path"].split("/")[-1], e["query"]) for e in handle.admin.mutations()
            if not e["path"].startswith("/v3/")]


def reserved(handle):
    return {r["virtual_serial_number"]: r for r in handle.admin.state()["reserved"]}


def test_reserve_then_update_description_then_unchanged(powervc_emulator):
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="abcd101"))
    assert code == 0 and result["changed"] is True and result["actions"] == [{"action": "reserve", "vsn": "ABCD101"}]
    assert result["vsn"]["host"] == "9080HEX_1234ABC" and result["vsn"]["description"] == ""
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="ABCD101", description="d"),
                               diff=True)
    assert result["actions"] == [{"action": "update_reservation", "vsn": "ABCD101"}]
    # only what changes: the description, under the VSN
    assert result["diff"] == {"before": {"VSN ABCD101": {"description": ""}}, "after": {"VSN ABCD101": {"description": "d"}}}
    powervc_emulator.admin.clear_journal()
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="ABCD101", description="d"))
    assert result["changed"] is False and vsn_mutations(powervc_emulator) == []


def test_unreserve_and_its_check_mode(powervc_emulator):
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unreserved", vsn="ABCD001"),
                               check_mode=True, diff=True)
    assert result["changed"] is True and result["vsn"]["reserved"] is False
    assert result["diff"]["before"]["VSN ABCD001"]["reserved"] is True and vsn_mutations(powervc_emulator) == []
    assert result["diff"]["after"] == {"VSN ABCD001": {"reserved": False}}  # no null for "unchanged" or "gone"
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unreserved", vsn="ABCD001", host="prod-p10-a"))
    assert result["changed"] is True and "ABCD001" not in reserved(powervc_emulator)
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unreserved", vsn="ABCD001"))
    assert result["changed"] is False


def test_reserve_on_the_wrong_host_fails_before_any_change(powervc_emulator):
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="ABCD001",
                                                     description="x", host="dr-p10-b"))
    assert code == 1 and ("parameter 'host' is dr-p10-b (9109RMD_1031CAT), but VSN ABCD001 is reserved on host "
                          "prod-p10-a (9080HEX_1234ABC)") in result["msg"]
    assert vsn_mutations(powervc_emulator) == []


def test_reserve_a_vsn_still_in_use_twice(powervc_emulator):
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="ABCD100"))
    assert result["changed"] is True
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="ABCD100"))
    assert code == 0 and result["changed"] is False
    assert "still used by server ibmi-prod-01" in str(result["warnings"])


def test_hmc_host_reserve_error_is_the_apis(powervc_emulator):
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="HMC0002"))
    assert code == 1 and result["msg"].startswith(
        "POST /virtual-serial-number?action=reserve on VSN HMC0002 failed: The reserve operation is supported only")
    assert result["error_code"] == "badRequest" and result["status"] == 400


def test_assign_waits_for_the_server_to_show_the_vsn(powervc_emulator):
    powervc_emulator.admin.action("settings", {"assign_delay": 1.5})
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="assigned", vm="ibmi-test-02",
                                                     vsn="ABCD567"), diff=True)
    assert code == 0, result
    assert result["server"]["virtual_serial_number"] == "ABCD567" and result["vsn"]["server"]["name"] == "ibmi-test-02"
    label = "ibmi-test-02 (%s\u2026)" % result["server"]["id"][:8]  # the name beside its id
    assert result["diff"] == {"before": {label: {"virtual_serial_number": "none"}},
                              "after": {label: {"virtual_serial_number": "ABCD567"}}}
    assert result["server"]["host_display_name"] == "prod-p10-a"
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="assigned", vm="ibmi-test-02", vsn="auto"))
    assert result["changed"] is False


def test_unassign_and_wait_false(powervc_emulator):
    server_id = powervc_emulator.info["servers"]["ibmi-dev-03"]
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unassigned", vm=server_id, vsn="ZZZ0000"))
    assert result["changed"] is False  # the server has another VSN: nothing to take away
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unassigned", vm=server_id, wait=False))
    assert result["changed"] is True and result["actions"] == [
        {"action": "unassign_vsn", "server": "ibmi-dev-03", "server_id": server_id, "vsn": "CDF0010"}]
    assert result["server"]["virtual_serial_number"] is None


@pytest.mark.parametrize("extra, message", [
    (dict(state="assigned", vm="ibmi-prod-01", vsn="auto"), None),  # has one already: unchanged
    (dict(state="unassigned", vm="ibmi-prod-01"), "cannot unassign the VSN of server ibmi-prod-01 while it is ACTIVE"),
    (dict(state="assigned", vm="ibmi-test-02", vsn="ABC"), "parameter 'vsn' must be 7 letters or digits, or 'auto'"),
    (dict(state="assigned", vm="nope", vsn="auto"), "parameter 'vm': no server with id or name 'nope'"),
    (dict(state="moved", source_host="prod-p10-a", target_host="nowhere"), "parameter 'target_host': no PowerVC host"),
    (dict(state="moved", source_host="prod-p10-a", target_host="9080-HEX*1234ABC"), "names the same host"),
    (dict(state="moved", source_host="prod-p10-a", target_host="dr-p10-b", vsns=["HMC0009"]),
     "VSN HMC0009 is reserved on host 900942A_78ABCDE, not on source_host"),
    (dict(state="reserved", vsn="ABCD101", vm="ibmi-test-02"), "parameter 'vm' is not used with state=reserved"),
])
def test_bad_input_fails_before_any_change(powervc_emulator, extra, message):
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, **extra))
    if message is None:
        assert code == 0 and result["changed"] is False
    else:
        assert code == 1 and message in result["msg"], result
    assert vsn_mutations(powervc_emulator) == []


def test_move_waits_until_listed_on_target(powervc_emulator):
    powervc_emulator.admin.action("settings", {"move_delay": 1.0})
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="moved", source_host="9080-HEX*1234ABC",
                                                     target_host="dr-p10-b", vsns=["cdf0002", "CDF0003", "ABCD102"]))
    assert code == 0, result
    # ABCD102 is not in the reserved list: sent in its own call, accepted, but never confirmable
    assert result["moved"] == ["CDF0002", "CDF0003"] and result["unverified"] == ["ABCD102"]
    assert result["pending"] == [] and result["adopted"] == []
    assert [v["host"] for v in result["vsns"]] == ["9109RMD_1031CAT", "9109RMD_1031CAT", None]
    assert [(e["body"]["move_vsns"]["vsns"], e["status"]) for e in powervc_emulator.admin.mutations()
            if e["method"] == "PUT"] == [(["CDF0002", "CDF0003"], 202), (["ABCD102"], 202)]


def test_move_timeout_is_a_clear_failure(powervc_emulator):
    powervc_emulator.admin.action("settings", {"move_delay": 30})
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="moved", source_host="prod-p10-a",
                                                     target_host="dr-p10-b", vsn="CDF0002", timeout=1))
    assert code == 1 and result["msg"] == (
        "PowerVC accepted PUT /virtual-serial-number?action=move of VSNs CDF0002 to host dr-p10-b (9109RMD_1031CAT), "
        "but they were not listed there within the "
        "timeout of 1 s; a re-run finds them there or still under way and waits for them")
    assert result["actions"][0]["action"] == "move"
    # truthful on failure: accepted, so changed, but not moved (yet)
    assert result["changed"] is True and result["moved"] == [] and result["pending"] == ["CDF0002"]


def test_hmc_host_form_only_when_powervc_says_the_host_is_unknown(powervc_emulator):
    unknown = {"itemNotFound": {"code": 404, "message": "Compute host 9080HEX_1234ABC could not be found."}}
    powervc_emulator.admin.fault(method="PUT", path=VSN_PATH, status=404, body=unknown)
    powervc_emulator.admin.fault(method="PUT", path=VSN_PATH, status=202, body="")
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="moved", source_host="prod-p10-a",
                                                     target_host="dr-p10-b", vsn="CDF0002", wait=False))
    assert code == 0, result
    assert result["actions"] == [{"action": "move", "vsns": ["CDF0002"], "source_host": "9080-HEX*1234ABC",
                                  "source_host_display_name": "prod-p10-a", "target_host": "9109-RMD*1031CAT",
                                  "target_host_display_name": "dr-p10-b"}]
    assert result["target_host"] == {"name": "9109RMD_1031CAT", "display_name": "dr-p10-b"}
    assert result["changed"] is True and result["pending"] == ["CDF0002"] and result["moved"] == []


def test_hmc_host_form_failing_too_names_both_answers(powervc_emulator):
    unknown = {"itemNotFound": {"code": 404, "message": "Compute host 9080HEX_1234ABC could not be found."}}
    powervc_emulator.admin.fault(method="PUT", path=VSN_PATH, status=404, body=unknown)
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="moved", source_host="prod-p10-a",
                                                     target_host="dr-p10-b", vsn="CDF0002"))
    assert code == 1 and "the retry with the HMC host form 9080-HEX*1234ABC -> 9109-RMD*1031CAT failed too" in result["msg"]
    assert result["changed"] is False and result["moved"] == [] and result["pending"] == []
    puts = [e["body"]["move_vsns"] for e in powervc_emulator.admin.journal() if e["method"] == "PUT"]
    assert [(p["source_host"], p["target_host"]) for p in puts] == [
        ("9080HEX_1234ABC", "9109RMD_1031CAT"), ("9080-HEX*1234ABC", "9109-RMD*1031CAT")]


def test_refusal_about_the_vsns_is_not_retried_with_the_hmc_form(powervc_emulator):
    refused = {"badRequest": {"code": 400, "message": "Virtual serial number CDF0002 is not available for move."}}
    powervc_emulator.admin.fault(method="PUT", path=VSN_PATH, status=400, body=refused)
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="moved", source_host="prod-p10-a",
                                                     target_host="dr-p10-b", vsn="CDF0002", timeout=2))
    # re-read for a while (a refusal is also what a move under way looks like), then the API's own error
    assert code == 1 and "not available for move" in result["msg"] and result["error_code"] == "badRequest"
    assert result["changed"] is False and result["moved"] == [] and result["actions"] == []
    assert len([e for e in powervc_emulator.admin.journal() if e["method"] == "PUT"]) == 1
