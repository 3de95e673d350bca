"""nsx_vmgroup_execution in-process: input validation, the finalize-only path (NSX emulator), SOAP calls per VM (vcsim)."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import nsx_vmgroup_execution
from tests.unit.module_runner import run_module


def args(nsx, **extra):
    base = {"nsx_hostname": nsx.url, "nsx_username": nsx.info["username"], "nsx_password": nsx.info["password"],
            "nsx_ca_cert": nsx.ca_path, "hostname": "127.0.0.1", "username": "user-1", "password": "vc-password-1"}
    base.update(extra)
    return base


@pytest.mark.parametrize("extra,message", [
    ({"group_id": "g", "parallel": 0}, "parameter 'parallel' must be between 1 and 64"),
    ({"group_id": "g", "timeout": 0}, "parameter 'timeout' must be at least 1"),
    ({"group_id": "g", "target_vcenter_thumbprint": "AB:CD"}, "parameter 'target_vcenter_thumbprint' must be the SHA-1"),
    ({"group_id": "bad\u202egroup"}, "parameter 'group_id' contains the control or formatting character U+202E"),
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
    assert code == 1 and result["msg"] == "missing required arguments: nsx_password", result
    assert nsx_emulator.admin.journal() == []


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


def test_existing_group_with_other_vms_needs_allow_override(nsx_emulator):
    """NSX refuses a second pre_migrate without allow_override: the module says so before any call."""
    vm = nsx_emulator.info["vm_instance_ids"][0]
    values = args(nsx_emulator, group_id="wave-00", pre_migrate={"vm_instance_ids": [vm]})
    result, code = run_module(nsx_vmgroup_execution.main, values)
    assert code == 1 and "parameter 'pre_migrate.allow_override' is false" in result["msg"] and vm in result["msg"]
    assert nsx_emulator.admin.mutations(ignore=[r"^/api/session/"]) == []


def test_soap_calls_per_vm_at_parallel_1(nsx_emulator, tmp_path, monkeypatch):
    """At most 3 SOAP calls per VM (start, "running", "done") plus a constant, even one VM at a time."""
    from ansible_collections.hybridcloud.migration.plugins.module_utils import vsphere
    from tests.vcsim_fixtures import start_vcsim

    clients = []

    class Recorded(vsphere.VSphere):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            clients.append(self)
    monkeypatch.setattr(vsphere, "VSphere", Recorded)
    with start_vcsim(tmp_path, name="calls", tls=True, host=2, vm=2, nics=2, nsx_segments=2, vds_version="7.0.0",
                     relocate_ms=600) as vc:  # longer than vcsim's 250 ms update tick: "running" and "done" are two waits
        ls_ids = sorted(vc.info["nsx_dvpgs"].values())
        vms = [v["instance_uuid"] for v in vc.info["vms"]]
        nsx_emulator.admin.action("inventory", dict((vm, [{"vnic": "4000", "ls_id": ls_ids[0]}, {"vnic": "4001", "ls_id": ls_ids[1]}])
                                                    for vm in vms))
        result, code = run_module(nsx_vmgroup_execution.main, args(
            nsx_emulator, hostname=vc.host, port=vc.port, username=vc.username,
            password=vc.password, ca_cert=vc.cert_path, group_id="calls", backing="dvpg", parallel=1,
            pre_migrate={"vm_instance_ids": vms}))
    assert code == 0 and [v["outcome"] for v in result["vms"]] == ["relocated"] * len(vms), result
    (client,) = clients
    calls = client.calls_by_method
    assert calls["RelocateVM_Task"] == len(vms) and "ModifyListView" not in calls, calls
    # Each task: its start, the wait that sees it running, the wait that sees it end. One more wait
    # is the watcher's initial read; one spare absorbs a wake-up by the launcher's own internal tasks.
    assert len(vms) + 1 < calls["WaitForUpdatesEx"] <= 2 * len(vms) + 2, calls
    # The post_migrate marker: one SetField per migrated VM (and one field definition per vCenter).
    assert calls["SetField"] == len(vms) and calls["AddCustomFieldDef"] == 1, calls
    constant = client.calls - calls["RelocateVM_Task"] - calls["WaitForUpdatesEx"] - calls["SetField"]
    assert constant <= 24, calls  # login, bulk reads (before and after), watcher set-up and tear-down, logout: not per VM
