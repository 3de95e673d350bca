"""nsx_vmgroup_execution in-process: input validation and the finalize-only path (NSX emulator)."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import nsx_vmgroup_execution
from tests.unit.module_runner import run_module


def args(nsx, **extra):
    base = {"nsx_host": nsx.url, "nsx_username": nsx.info["username"], "nsx_password": nsx.info["password"],
            "nsx_ca_path": nsx.ca_path, "vcenter_hostname": "127.0.0.1", "vcenter_username": "user-1", "vcenter_password": "vc-password-1"}
    base.update(extra)
    return base


@pytest.mark.parametrize("extra,message", [
    ({"group_id": "g", "parallel": 0}, "parameter 'parallel' must be at least 1"),
    ({"group_id": "g", "timeout": 0}, "parameter 'timeout' must be a positive number"),
    ({}, "parameter 'group_id' is required"),
    ({"group_id": "g", "pre_migrate": {"vm_instance_ids": []}}, "parameter 'pre_migrate.vm_instance_ids' must list"),
    ({"group_id": "g", "target_vcenter_hostname": "h", "target_datastore": "d"}, "parameter 'target_host' (or target_cluster)"),
    ({"group_id": "g", "target_vcenter_hostname": "h", "target_host": "x"}, "parameter 'target_datastore' is required"),
])
def test_bad_input_fails_before_any_call(nsx_emulator, extra, message):
    result, code = run_module(nsx_vmgroup_execution.main, args(nsx_emulator, **extra))
    assert code == 1 and message in result["msg"], result
    assert nsx_emulator.admin.journal() == []


def test_missing_credentials_name_the_option(nsx_emulator, monkeypatch):
    monkeypatch.delenv("NSX_PASSWORD", raising=False)
    values = args(nsx_emulator, group_id="g")
    del values["nsx_password"]
    result, code = run_module(nsx_vmgroup_execution.main, values)
    assert code == 1 and "parameter 'nsx_password' is required" in result["msg"]


def test_finalize_only(nsx_emulator):
    result, code = run_module(nsx_vmgroup_execution.main, args(nsx_emulator, finalize_infra=True), check_mode=True)
    assert code == 0 and result["changed"] is True and result["finalize_infra"] == "would send"
    assert nsx_emulator.admin.mutations() == []
    result, code = run_module(nsx_vmgroup_execution.main, args(nsx_emulator, finalize_infra=True, nsx_auth="session"))
    assert code == 0 and result["finalize_infra"] == "sent"
    state = nsx_emulator.admin.state()
    assert state["finalize_count"] == 1 and state["sessions"] == []


def test_unknown_group_without_pre_migrate(nsx_emulator):
    result, code = run_module(nsx_vmgroup_execution.main, args(nsx_emulator, group_id="nope"))
    assert code == 1 and "'nope', which NSX does not know: give pre_migrate" in result["msg"]
