"""zstack_ps_migrate in-process against the ZStack emulator (the integration tests run it through Ansible)."""

import threading
import time

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _zstack_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils.zstack import ZStackClient
from ansible_collections.hybridcloud.migration.plugins.modules import zstack_ps_migrate
from tests.emulators import zstack as emu
from tests.emulators._server import Fault
from tests.unit.plugins.modules.zstack_runner import connection, operations, prepare, run

ACTIONS = "/zstack/v1/vm-instances/%s/actions"


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator, migrate_duration=0.3)


def migrate(zstack, **args):
    return run(zstack_ps_migrate.main, zstack, **args)


def test_offline_root_only_with_every_option_sent_inside_the_action(zstack):
    result, code = migrate(zstack, vm="db-01", target_primary_storage=emu.PS_CEPH, with_data_volumes=False,
                           with_snapshots=False, target_host="host-kvm-02", bandwidth=50, down_time=300)
    assert code == 0 and result["changed"] and result["mode"] == "offline"
    assert [v["type"] for v in result["moved_volumes"]] == ["Root"] and result["vm"]["state"] == "Stopped"
    put = [e for e in zstack.admin.mutations() if e["path"] == ACTIONS % emu.VM_DB][0]
    assert put["body"] == {"primaryStorageMigrateVm": {
        "dstPrimaryStorageUuid": emu.PS_CEPH, "withDataVolumes": False, "withSnapshots": False,
        "dstHostUuid": emu.HOST_2, "downTime": 300, "bandwidth": 50}, "systemTags": [], "userTags": []}


def test_check_mode_on_a_paused_vm_plans_a_live_migration_without_calls(zstack):
    result, code = migrate(zstack, check_mode=True, diff=True, vm="cache-01", target_primary_storage="ps-nfs-01")
    assert code == 0 and result["changed"] and result["mode"] == "live" and result["job_uuid"] is None
    root = "ROOT-for-cache-01 (%s\u2026)" % emu.stable_id(emu.VM_CACHE + "/root")[:8]
    assert result["diff"]["before"]["volumes"] == {root: "ps-ceph-01 (%s\u2026)" % emu.PS_CEPH[:8]}
    assert result["diff"]["after"]["volumes"] == {root: "ps-nfs-01 (%s\u2026)" % emu.PS_NFS[:8]}
    assert result["diff"]["before_header"] == "VM cache-01 (%s\u2026)" % emu.VM_CACHE[:8]
    assert result["msg"] == "VM cache-01 (%s\u2026): would move 1 volume(s) live from ps-ceph-01 (%s\u2026) to ps-nfs-01 (%s\u2026)" % (
        emu.VM_CACHE[:8], emu.PS_CEPH[:8], emu.PS_NFS[:8])
    assert result["moved_volumes"][0]["from_name"] == "ps-ceph-01" and result["moved_volumes"][0]["to_name"] == "ps-nfs-01"
    assert result["target_primary_storage"] == {"name": "ps-nfs-01", "uuid": emu.PS_NFS} and result["target_host"] is None
    assert operations(zstack) == []


def test_a_migrating_vm_in_check_mode_is_reported_not_migrated(zstack):
    zstack.admin.action("migrate-duration", {"seconds": 5})
    first, code = migrate(zstack, vm="web-01", target_primary_storage="ps-ceph-01", wait=False)
    result, code = migrate(zstack, check_mode=True, vm="web-01", target_primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] is False and result["long_job_uuid"] == first["long_job_uuid"]
    assert "under way" in str(result.get("warnings"))


def test_wrong_password_fails_without_secrets(zstack):
    result, code = migrate(zstack, vm="web-01", target_primary_storage="ps-ceph-01", password="not-the-password")
    assert code == 1 and result["error_code"] == "ID.1000" and "LogInByAccount" in result["msg"]
    assert "not-the-password" not in str(result)


@pytest.mark.parametrize("status,body", [
    (503, {"error": {"code": "SYS.1001", "description": "A message or a operation timeout", "details": "api timeout"}}),
    (404, "the job has been expired")])
def test_lost_api_job_result_is_recovered_from_the_long_job_and_the_vm(zstack, status, body):
    # SYS.1001: the api-job timed out while the LongJob goes on; 404: the api-job result was purged.
    zstack.admin.fault(method="GET", path="/api-jobs/", status=status, body=body)
    result, code = migrate(zstack, vm="web-01", target_primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] and result["long_job_uuid"], result.get("msg")
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}


SYS_1001 = {"error": {"code": "SYS.1001", "description": "A message or a operation timeout", "details": "api timeout"}}


def test_sys_1001_from_the_emulator_while_the_long_job_goes_on(zstack):
    zstack.admin.action("config", {"api_job_timeout": 0.05})
    result, code = migrate(zstack, vm="db-01", target_primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] and result["long_job_uuid"], result.get("msg")
    assert result["vm"]["state"] == "Stopped"
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}


def test_sys_1001_finds_the_long_job_by_its_data_when_its_api_id_differs(zstack):
    # A LongJob's apiId need not be our X-Job-UUID: the running migration of the VM is found by jobData.
    zstack.admin.fault(method="GET", path="/longjobs", query="apiId", status=200, body={"inventories": []}, times=10)
    zstack.admin.fault(method="GET", path="/api-jobs/", status=404, body="the job has been expired")  # the look for an earlier run's call
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body=SYS_1001)  # the poll
    result, code = migrate(zstack, vm="web-01", target_primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] and result["long_job_uuid"], result.get("msg")
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}


def test_sys_1001_without_any_long_job_waits_for_the_vm_state_then_checks_the_volumes(zstack):
    zstack.admin.fault(method="GET", path="/longjobs", status=200, body={"inventories": []}, times=50)
    zstack.admin.fault(method="GET", path="/api-jobs/", status=404, body="the job has been expired")  # the look for an earlier run's call
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body=SYS_1001)  # the poll
    result, code = migrate(zstack, vm="web-01", target_primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"], result.get("msg")
    assert result["vm"]["state"] == "Running"
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}


def test_sys_1001_is_reported_when_nothing_moved_and_no_long_job_exists(zstack):
    # Ceph -> LocalStorage is refused at once (no LongJob); the api-job answer shows SYS.1001 instead.
    zstack.admin.fault(method="GET", path="/api-jobs/", status=404, body="the job has been expired")  # the look for an earlier run's call
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body=SYS_1001)  # the poll
    result, code = migrate(zstack, vm="cache-01", target_primary_storage="ps-local-01", target_host="host-kvm-02")
    assert code == 1 and result["error_code"] == "SYS.1001" and "api timeout" in result["msg"]
    assert "not on the destination" in result["msg"]


# -- bad input: each parameter class fails naming the parameter, with zero mutating calls ----------
BAD_INPUT = [
    ("vm", dict(vm="")), ("vm", dict(vm="x~=%")), ("vm", dict(vm="=web-01")), ("vm", dict(vm="web\x07-01")),
    ("vm", dict(vm="\u202eweb-01")), ("vm", dict(vm="no-such-vm")), ("vm", dict(vm="app-01")),
    ("target_primary_storage", dict(target_primary_storage="")), ("target_primary_storage", dict(target_primary_storage="ps>=1")),
    ("target_primary_storage", dict(target_primary_storage="f" * 32)),
    ("target_host", dict(target_primary_storage="ps-local-01")),  # LocalStorage needs the host
    ("target_host", dict(target_primary_storage="ps-local-01", target_host="h?=1")),
    ("target_host", dict(target_primary_storage="ps-local-01", target_host="no-such-host")),
    ("bandwidth", dict(bandwidth=-1)), ("down_time", dict(down_time=-5)), ("timeout", dict(timeout=0)),
    ("port", dict(port=70000)), ("port", dict(port=0)),
    ("access_key_id", dict(access_key_id="AKID-1", access_key_secret="ak-secret-123456")),
    ("password", dict(password=None)), ("username", dict(username=None, password=None)),
    ("hostname", dict(hostname="127.0.0.1/zstack?x=")), ("strategy", dict(strategy="fast")),
]


@pytest.mark.parametrize("parameter,args", BAD_INPUT, ids=["%s-%d" % (p, i) for i, (p, a) in enumerate(BAD_INPUT)])
def test_bad_input_fails_naming_the_parameter_before_any_mutating_call(zstack, parameter, args):
    result, code = migrate(zstack, **dict(dict(vm="web-01", target_primary_storage="ps-ceph-01"), **args))
    assert code == 1 and result.get("changed", False) is False
    assert parameter in result["msg"], result["msg"]
    assert operations(zstack) == []


def test_local_storage_destination_with_its_host_migrates(zstack):
    result, code = migrate(zstack, vm="db-01", target_primary_storage="ps-local-01", target_host="host-kvm-01")
    assert code == 0 and result["changed"] and len(result["moved_volumes"]) == 3, result.get("msg")
    assert operations(zstack) == [("PUT", ACTIONS % emu.VM_DB)]


def test_a_job_failing_on_zstack_side_reports_nothing_changed_and_nothing_moved(zstack):
    # Ceph -> LocalStorage is refused by ZStack after the 202: the failed result must say so truthfully.
    result, code = migrate(zstack, diff=True, vm="cache-01", target_primary_storage="ps-local-01", target_host="host-kvm-02")
    assert code == 1 and result["error_code"] == "SYS.1006" and result["changed"] is False
    assert result["moved_volumes"] == [] and result["job_uuid"] and "0 of 1 volume(s)" in result["msg"]
    assert result["diff"]["before"] == result["diff"]["after"]  # the diff shows what is, not the plan


def test_answers_lost_every_time_fail_naming_the_job_and_nothing_started(zstack, monkeypatch):
    fast_http_retries(monkeypatch)
    zstack.admin.fault(method="PUT", path="/vm-instances/", drop=True, times=50)
    result, code = migrate(zstack, vm="web-01", target_primary_storage="ps-ceph-01")
    assert code == 1 and result["changed"] is False and result["job_uuid"] is None and result["moved_volumes"] == []
    assert "no answer after 6 attempts" in result["msg"] and "nothing was started" in result["msg"]
    assert "Connection aborted" in result["msg"] and operations(zstack) == []


def test_many_lost_answers_after_zstack_acted_still_report_the_real_outcome(zstack, monkeypatch):
    # The migration was accepted, every answer about it lost for a while: the LongJob and VM decide.
    fast_http_retries(monkeypatch)
    zstack.admin.fault(method="PUT", path="/vm-instances/", drop=True, after=True)
    zstack.admin.fault(method="GET", path="/api-jobs/", drop=True, times=8)
    result, code = migrate(zstack, vm="web-01", target_primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] and len(result["job_uuid"]) == 32 and result["long_job_uuid"], result.get("msg")
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}
    assert operations(zstack) == [("PUT", ACTIONS % emu.VM_WEB)]


def test_zstack_gone_mid_job_fails_naming_the_job_and_saying_the_state_is_unknown(zstack, monkeypatch):
    fast_http_retries(monkeypatch)
    zstack.admin.action("migrate-duration", {"seconds": 30})
    gone = Fault({"path": "/zstack/v1/", "drop": True, "times": 1000})
    when_journal_shows(zstack, "PUT", ACTIONS % emu.VM_WEB, lambda: zstack.emulator.faults.append(gone))
    result, code = migrate(zstack, vm="web-01", target_primary_storage="ps-ceph-01")
    assert code == 1 and result["job_uuid"] and result["job_uuid"] in result["msg"], result.get("msg")
    assert "could not be read" in result["msg"] and "does not start another" in result["msg"]
    assert result["changed"] is True and result["moved_volumes"] == []  # accepted: a migration is under way
    zstack.admin.clear_faults()
    assert operations(zstack) == [("PUT", ACTIONS % emu.VM_WEB)]


def when_journal_shows(zstack, method, path, action):
    """Run ACTION (in a thread) as soon as the emulator has received METHOD PATH."""
    def watch():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with zstack.emulator.lock:
                if any(e["method"] == method and e["path"] == path for e in zstack.emulator.journal):
                    action()
                    return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()


def fast_http_retries(monkeypatch):
    """The HTTP layer's retry pauses (1, 2, 4 ... s) shortened: these tests lose many answers."""
    from ansible_collections.hybridcloud.migration.plugins.module_utils import _http
    from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff

    monkeypatch.setattr(_http, "Backoff", lambda **kwargs: Backoff(initial=0.01, factor=1.5, maximum=0.05, jitter=0))


def test_api_job_polls_failing_for_good_are_settled_by_the_long_job(zstack, monkeypatch):
    monkeypatch.setattr("ansible_collections.hybridcloud.migration.plugins.module_utils.zstack.UNANSWERED_POLLS", 2)
    zstack.admin.fault(method="GET", path="/api-jobs/", status=500, body="java.lang.OutOfMemoryError", times=1000)
    result, code = migrate(zstack, vm="web-01", target_primary_storage="ps-ceph-01")
    assert code == 0 and result["changed"] and result["long_job_uuid"], result.get("msg")
    assert on_destination(zstack) and operations(zstack) == [("PUT", ACTIONS % emu.VM_WEB)]


def on_destination(zstack):
    web = next(vm for vm in zstack.admin.state()["vm-instances"] if vm["uuid"] == emu.VM_WEB)
    return {volume["primaryStorageUuid"] for volume in web["allVolumes"]} == {emu.PS_CEPH}


def test_bulk_a_call_that_ended_after_the_plan_was_read_is_adopted_not_sent_again(zstack):
    # web-01 waits in the queue (parallel 1, behind db-01's migration under way). An earlier run's call for
    # it was accepted but not processed when the bulk run read its plan, and has succeeded by the time its
    # turn comes: asking ZStack about its X-Job-UUID finds it done; it is adopted and the VM read again,
    # instead of a second PrimaryStorageMigrateVm.
    c = ZStackClient(zstack.url, ca_path=zstack.ca_path, **{k: v for k, v in connection(zstack).items()
                                                            if k in ("username", "password")})
    zstack.admin.action("migrate-duration", {"seconds": 4})
    c.submit("PUT", ACTIONS % emu.VM_DB, plan.ps_migration_body(emu.PS_CEPH, True, True), "PrimaryStorageMigrateVm")
    web = c.get_inventory("vm-instances", emu.VM_WEB)
    body = plan.ps_migration_body(emu.PS_CEPH, True, True)
    moves = plan.plan_ps_migration(web, web["allVolumes"], emu.PS_CEPH, True)["volumes"]
    derived = plan.call_job_uuid(zstack_ps_migrate.OPERATION, emu.VM_WEB, body, [[m["uuid"], m["from"]] for m in moves])
    zstack.admin.action("config", {"migrate_duration": 0.3, "accept_delay": 2.0})
    c.submit("PUT", ACTIONS % emu.VM_WEB, body, "PrimaryStorageMigrateVm", None, derived)
    zstack.admin.action("accept-delay", {"seconds": 0})
    result, code = migrate(zstack, vms=["db-01", "web-01"], parallel=1, target_primary_storage=emu.PS_CEPH)
    assert code == 0, result
    db, web = result["vms"]
    assert db["outcome"] == "adopted" and len(db["jobs"]) == 1  # under way when the plan was read
    assert web["outcome"] == "adopted" and web["jobs"][0] == derived, web  # through its api-job, not re-sent
    assert [e["path"] for e in zstack.admin.mutations()].count(ACTIONS % emu.VM_WEB) == 1
    assert [e["path"] for e in zstack.admin.mutations()].count(ACTIONS % emu.VM_DB) == 1
    assert result["changed"] is False  # adopted: this run neither moved nor started anything
    c.close()


def test_bulk_the_same_move_made_again_takes_the_next_uuid_of_its_chain_with_one_put(zstack):
    # web-01 moved to Ceph (with the derived uuid) and back: moving it to Ceph again is the same call. Its
    # api-job says "succeeded"; adopted, the VM read again still needs the move: one PUT, the next uuid.
    c = ZStackClient(zstack.url, ca_path=zstack.ca_path, **{k: v for k, v in connection(zstack).items()
                                                            if k in ("username", "password")})
    web = c.get_inventory("vm-instances", emu.VM_WEB)
    body = plan.ps_migration_body(emu.PS_CEPH, True, True)
    moves = plan.plan_ps_migration(web, web["allVolumes"], emu.PS_CEPH, True)["volumes"]
    derived = plan.call_job_uuid(zstack_ps_migrate.OPERATION, emu.VM_WEB, body, [[m["uuid"], m["from"]] for m in moves])
    c.call_async("PUT", ACTIONS % emu.VM_WEB, body, "PrimaryStorageMigrateVm", None, 30, derived)
    c.call_async("PUT", ACTIONS % emu.VM_WEB, plan.ps_migration_body(emu.PS_NFS, True, True), "PrimaryStorageMigrateVm",
                 None, 30)
    c.close()
    zstack.admin.clear_journal()
    result, code = migrate(zstack, vms=["web-01"], target_primary_storage=emu.PS_CEPH)
    assert code == 0 and result["changed"] is True, result
    entry = result["vms"][0]
    assert entry["outcome"] == "migrated" and plan.next_call_uuid(derived) in entry["jobs"], entry
    assert operations(zstack) == [("PUT", ACTIONS % emu.VM_WEB)]
