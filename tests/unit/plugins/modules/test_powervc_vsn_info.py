"""powervc_vsn_info in-process against the PowerVC emulator."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import powervc_vsn_info
from tests.unit.module_runner import run_module


def args(handle, **extra):
    info = handle.info
    auth = dict(auth_url=info["auth_url"], username=info["username"], password=info["password"],
                project_name=info["project_name"])
    return dict(extra, auth=auth, ca_cert=handle.ca_path)


def test_everything(powervc_emulator):
    result, code = run_module(powervc_vsn_info.main, args(powervc_emulator))
    assert code == 0 and result["changed"] is False
    assert [r["virtual_serial_number"] for r in result["reserved_vsns"]] == ["ABCD001", "CDF0002", "CDF0003", "HMC0009"]
    assert {s["name"]: s["virtual_serial_number"] for s in result["servers"]} == {
        "ibmi-prod-01": "ABCD100", "ibmi-test-02": None, "ibmi-dev-03": "CDF0010", "ibmi-legacy-04": "HMC0001"}


def test_by_host_and_servers(powervc_emulator):
    server_id = powervc_emulator.info["servers"]["ibmi-dev-03"]
    result, code = run_module(powervc_vsn_info.main, args(powervc_emulator, host="900942A_78ABCDE"))
    assert code == 0 and [r["virtual_serial_number"] for r in result["reserved_vsns"]] == ["HMC0009"]
    assert [s["name"] for s in result["servers"]] == ["ibmi-legacy-04"]
    result, _code = run_module(powervc_vsn_info.main, args(powervc_emulator, vms=[server_id, "ibmi-test-02"]))
    assert [(s["name"], s["virtual_serial_number"]) for s in result["servers"]] == [
        ("ibmi-dev-03", "CDF0010"), ("ibmi-test-02", None)]


def test_unknown_server_or_host(powervc_emulator):
    result, code = run_module(powervc_vsn_info.main, args(powervc_emulator, vms=["ghost"]))
    assert code == 1 and "parameter 'vms': no server with id or name 'ghost'" in result["msg"]
    result, code = run_module(powervc_vsn_info.main, args(powervc_emulator, host="9999-ZZZ*0000000"))
    assert code == 1 and "parameter 'host': no PowerVC host '9999-ZZZ*0000000'" in result["msg"]


@pytest.mark.parametrize("extra, message", [
    (dict(vms=["ibmi-test-02", "ibmi\u202e-x"]), "parameter 'vms' contains the control or formatting character U+202E"),
    (dict(vms=[""]), "parameter 'vms' must be a non-empty"),
    (dict(host="prod-p10-a\x07"), "parameter 'host' contains the control or formatting character U+0007"),
    (dict(api_timeout=-5), "parameter 'api_timeout' must be at least 1, got -5"),
])
def test_bad_input_fails_before_the_login(powervc_emulator, extra, message):
    result, code = run_module(powervc_vsn_info.main, args(powervc_emulator, **extra))
    assert code == 1 and message in result["msg"], result
    assert powervc_emulator.admin.journal() == []
