"""zstack_ps_migrate in-process against the ZStack emulator (the integration tests run it through Ansible)."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import zstack_ps_migrate
from tests.emulators import zstack as emu
from tests.unit.plugins.modules.zstack_runner import operations, prepare, run

ACTIONS = "/zstack/v1/vm-instances/%s/actions"


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator, migrate_duration=0.3)


def migrate(zstack, **args):
    return run(zstack_ps_migrate.main, zstack, **args)


def test_offline_root_only_with_every_option_sent_inside_the_action(zstack):
    result, code = migrate(zstack, vm="db-01", primary_storage=emu.PS_CEPH, with_data_volumes=False,
                           with_snapshots=False, dst_host="host-kvm-02", bandwidth=50, down_time=300)
    assert code == 0 and result["changed"] and result["mode"] == "offline"
    assert [v["type"] for v in result["moved_volumes"]] == ["Root"] and result["vm"]["state"] == "Stopped"
    put = [e for e in zstack.admin.mutations() if e["path"] == ACTIONS % emu.VM_DB][0]
    assert put["body"] == {"primaryStorageMigrateVm": {
        "dstPrimaryStorageUuid": emu.PS_CEPH, "withDataVolumes": False, "withSnapshots": False,
        "dstHostUuid": emu.HOST_2, "downTime": 300, "bandwidth": 50}, "systemTags": [], "userTags": []}


def test_check_mode_on_a_paused_vm_plans_a_live_migration_without_calls(zstack):
    result, code = migrate(zstack, check_mode=True, diff=True, vm="cache-01", primary_storage="ps-nfs-01")
    assert code == 0 and result["changed"] and result["mode"] == "live" and result["job_uuid"] is None
    assert result["diff"]["after"]["volumes"] == {emu.stable_id(emu.VM_CACHE + "/root"): emu.PS_NFS}
    assert operations(zstack) == []


def test_a_migrating_vm_in_check_mode_is_reported_not_migrated(zstack):
    zstack.admin.action("migrate-duration", {"seconds": 5})
    first, code = migrate(zstack, vm="web-01", primary_storage="ps-ceph-01", wait=False)
    result, code = migrate(zstack, check_mode=True, vm="web-01", primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] is False and result["long_job_uuid"] == first["long_job_uuid"]
    assert "under way" in str(result.get("warnings"))


def test_wrong_password_fails_without_secrets(zstack):
    result, code = migrate(zstack, vm="web-01", primary_storage="ps-ceph-01", password="not-the-password")
    assert code == 1 and result["error_code"] == "ID.1000" and "LogInByAccount" in result["msg"]
    assert "not-the-password" not in str(result)


@pytest.mark.parametrize("status,body", [
    (503, {"error": {"code": "SYS.1001", "description": "A message or a operation timeout", "details": "api timeout"}}),
    (404, "the job has been expired")])
def test_lost_api_job_result_is_recovered_from_the_long_job_and_the_vm(zstack, status, body):
    # SYS.1001: the api-job timed out while the LongJob goes on; 404: the api-job result was purged.
    zstack.admin.fault(method="GET", path="/api-jobs/", status=status, body=body)
    result, code = migrate(zstack, vm="web-01", primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] and result["long_job_uuid"], result.get("msg")
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}


SYS_1001 = {"error": {"code": "SYS.1001", "description": "A message or a operation timeout", "details": "api timeout"}}


def test_sys_1001_from_the_emulator_while_the_long_job_goes_on(zstack):
    zstack.admin.action("config", {"api_job_timeout": 0.05})
    result, code = migrate(zstack, vm="db-01", primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] and result["long_job_uuid"], result.get("msg")
    assert result["vm"]["state"] == "Stopped"
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}


def test_sys_1001_finds_the_long_job_by_its_data_when_its_api_id_differs(zstack):
    # A LongJob's apiId need not be our X-Job-UUID: the running migration of the VM is found by jobData.
    zstack.admin.fault(method="GET", path="/longjobs", query="apiId", status=200, body={"inventories": []}, times=10)
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body=SYS_1001)
    result, code = migrate(zstack, vm="web-01", primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] and result["long_job_uuid"], result.get("msg")
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}


def test_sys_1001_without_any_long_job_waits_for_the_vm_state_then_checks_the_volumes(zstack):
    zstack.admin.fault(method="GET", path="/longjobs", status=200, body={"inventories": []}, times=50)
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body=SYS_1001)
    result, code = migrate(zstack, vm="web-01", primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"], result.get("msg")
    assert result["vm"]["state"] == "Running"
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}


def test_sys_1001_is_reported_when_nothing_moved_and_no_long_job_exists(zstack):
    # Ceph -> LocalStorage is refused at once (no LongJob); the api-job answer shows SYS.1001 instead.
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body=SYS_1001)
    result, code = migrate(zstack, vm="cache-01", primary_storage="ps-local-01", dst_host="host-kvm-02")
    assert code == 1 and result["error_code"] == "SYS.1001" and "api timeout" in result["msg"]
    assert "not on the destination" in result["msg"]
