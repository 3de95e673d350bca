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
    assert result["diff"]["before"]["description"] == "" and result["diff"]["after"]["description"] == "d"
    powervc_emulator.admin.clear_journal()
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="ABCD101", description="d"))
    assert result["changed"] is False and vsn_mutations(powervc_emulator) == []


def test_unreserve_and_its_check_mode(powervc_emulator):
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unreserved", vsn="ABCD001"),
                               check_mode=True, diff=True)
    assert result["changed"] is True and result["vsn"]["reserved"] is False
    assert result["diff"]["before"]["reserved"] is True and vsn_mutations(powervc_emulator) == []
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unreserved", vsn="ABCD001", host="prod-p10-a"))
    assert result["changed"] is True and "ABCD001" not in reserved(powervc_emulator)
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unreserved", vsn="ABCD001"))
    assert result["changed"] is False


def test_reserve_on_the_wrong_host_fails_before_any_change(powervc_emulator):
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="ABCD001",
                                                     description="x", host="dr-p10-b"))
    assert code == 1 and "parameter 'host' is 9109RMD_1031CAT, but VSN ABCD001 is reserved on host 9080HEX_1234ABC" \
        in result["msg"]
    assert vsn_mutations(powervc_emulator) == []


def test_reserve_a_vsn_still_in_use_twice(powervc_emulator):
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="ABCD100"))
    assert result["changed"] is True
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="ABCD100"))
    assert code == 0 and result["changed"] is False
    assert "still used by server ibmi-prod-01" in str(result["warnings"])


def test_hmc_host_reserve_error_is_the_apis(powervc_emulator):
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="reserved", vsn="HMC0002"))
    assert code == 1 and result["msg"].startswith("reserve VSN on HMC0002 failed: The reserve operation is supported only")
    assert result["error_code"] == "badRequest" and result["status"] == 400


def test_assign_waits_for_the_server_to_show_the_vsn(powervc_emulator):
    powervc_emulator.admin.action("settings", {"assign_delay": 1.5})
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="assigned", server="ibmi-test-02",
                                                     vsn="ABCD567"), diff=True)
    assert code == 0, result
    assert result["server"]["virtual_serial_number"] == "ABCD567" and result["vsn"]["server"]["name"] == "ibmi-test-02"
    assert result["diff"] == {"before": {"server": "ibmi-test-02", "virtual_serial_number": None},
                              "after": {"server": "ibmi-test-02", "virtual_serial_number": "ABCD567"}}
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="assigned", server="ibmi-test-02", vsn="auto"))
    assert result["changed"] is False


def test_unassign_and_wait_false(powervc_emulator):
    server_id = powervc_emulator.info["servers"]["ibmi-dev-03"]
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unassigned", server=server_id, vsn="ZZZ0000"))
    assert result["changed"] is False  # the server has another VSN: nothing to take away
    result, _code = run_module(powervc_vsn.main, args(powervc_emulator, state="unassigned", server=server_id, wait=False))
    assert result["changed"] is True and result["actions"] == [
        {"action": "unassign_vsn", "server": "ibmi-dev-03", "vsn": "CDF0010"}]
    assert result["server"]["virtual_serial_number"] is None


@pytest.mark.parametrize("extra, message", [
    (dict(state="assigned", server="ibmi-prod-01", vsn="auto"), None),  # has one already: unchanged
    (dict(state="unassigned", server="ibmi-prod-01"), "cannot unassign the VSN of server ibmi-prod-01 while it is ACTIVE"),
    (dict(state="assigned", server="ibmi-test-02", vsn="ABC"), "parameter 'vsn' must be 7 letters or digits, or 'auto'"),
    (dict(state="assigned", server="nope", vsn="auto"), "parameter 'server': no server with id or name 'nope'"),
    (dict(state="moved", source_host="prod-p10-a", target_host="nowhere"), "parameter 'target_host': no PowerVC host"),
    (dict(state="moved", source_host="prod-p10-a", target_host="9080-HEX*1234ABC"), "names the same host"),
    (dict(state="moved", source_host="prod-p10-a", target_host="dr-p10-b", vsns=["HMC0009"]),
     "VSN HMC0009 is reserved on host 900942A_78ABCDE, not on source_host"),
    (dict(state="reserved", vsn="ABCD101", server="ibmi-test-02"), "parameter 'server' is not used with state=reserved"),
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
    assert result["moved"] == ["CDF0002", "CDF0003", "ABCD102"] and result["unverified"] == ["ABCD102"]
    assert [v["host"] for v in result["vsns"]] == ["9109RMD_1031CAT", "9109RMD_1031CAT", None]
    assert vsn_mutations(powervc_emulator) == [("PUT", "virtual-serial-number", "action=move")]


def test_move_timeout_is_a_clear_failure(powervc_emulator):
    powervc_emulator.admin.action("settings", {"move_delay": 30})
    result, code = run_module(powervc_vsn.main, args(powervc_emulator, state="moved", source_host="prod-p10-a",
                                                     target_host="dr-p10-b", vsn="CDF0002", timeout=1))
    assert code == 1 and "gave up waiting for VSNs CDF0002 to be listed on host 9109RMD_1031CAT after 1 s" in result["msg"]
    assert result["actions"][0]["action"] == "move"
