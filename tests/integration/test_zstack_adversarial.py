"""ZStack: disturbances beyond the interruption suite (adversarial review), each cheap."""

import time

import pytest

from tests.emulators import zstack as emu
from tests.integration.test_zstack_interruptions import (
    ONE_MIGRATION, assert_migration_converged, conversion, convert_task, migrate_task, migration_jobs, on_ceph, play,
    start)
from tests.integration.zstack_helpers import operations, prepare, vm


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator)


def test_migrate_wait_false_then_wait_true(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 3})
    run = play(ansible, zstack, migrate_task("start", wait=False), migrate_task("wait"))
    first, second = run.result("start"), run.result("wait")
    assert first["changed"] is True and first["long_job_uuid"], first
    assert second["_status"] == "ok" and second["changed"] is False, second
    assert second["long_job_uuid"] == first["long_job_uuid"]
    assert operations(zstack) == ONE_MIGRATION and on_ceph(zstack)


def test_check_mode_after_a_kill_mid_migration(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 6})
    running = start(ansible, zstack, migrate_task("migrate"))
    running.kill_when(lambda: vm(zstack, emu.VM_WEB)["state"] == "Migrating", timeout=120)
    zstack.admin.clear_journal()
    check = play(ansible, zstack, migrate_task("check"), check=True).result("check")
    assert check["_status"] == "ok" and check["changed"] is False, check
    assert check["long_job_uuid"] == migration_jobs(zstack)[0]["uuid"]
    assert operations(zstack) == []
    assert_migration_converged_after_clear(ansible, zstack)


def assert_migration_converged_after_clear(ansible, zstack):
    rerun = play(ansible, zstack, migrate_task("rerun")).result("rerun")
    assert rerun["_status"] == "ok" and rerun["changed"] is False, rerun.get("msg")
    assert on_ceph(zstack) and operations(zstack) == [] and len(migration_jobs(zstack)) == 1


def test_rerun_long_after_the_api_job_expired(ansible, zstack):
    zstack.admin.action("job-retention", {"seconds": 0.5})
    zstack.admin.action("migrate-duration", {"seconds": 1})
    first = play(ansible, zstack, migrate_task("start", wait=False)).result("start")
    assert first["changed"] is True
    time.sleep(3)
    assert_migration_converged(ansible, zstack)


def test_api_job_expires_while_being_polled(ansible, zstack):
    # ZStack purged the result before the module's next poll: 404 on the api-job; the LongJob tells.
    zstack.admin.action("job-retention", {"seconds": 0.05})
    result = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    assert result["_status"] == "ok" and result["changed"] is True, result.get("msg")
    assert operations(zstack) == ONE_MIGRATION and on_ceph(zstack)


def test_session_expires_during_a_long_poll_and_at_logout(ansible, zstack):
    zstack.admin.action("session-timeout", {"seconds": 0.3})
    zstack.admin.action("migrate-duration", {"seconds": 2})
    result = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    assert result["_status"] == "ok" and result["changed"] is True, result.get("msg")
    assert operations(zstack) == ONE_MIGRATION and on_ceph(zstack)


@pytest.mark.parametrize("body", ["Service Unavailable", None])
def test_proxy_503_on_the_submit_before_zstack_acted(ansible, zstack, body):
    zstack.admin.fault(method="PUT", path="/vm-instances/", status=503, body=body or "", times=1)
    result = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    assert result["_status"] == "ok" and result["changed"] is True, result.get("msg")
    assert operations(zstack) == ONE_MIGRATION and on_ceph(zstack)


def test_zstack_503_on_a_poll_is_the_jobs_failure_and_rerun_converges(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 2})
    # the look for an earlier run's identical call finds none; then the poll fails
    zstack.admin.fault(method="GET", path="/api-jobs/", status=404, body="the job has been expired")
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503,
                       body={"error": {"code": "SYS.1006", "description": "An operation failed", "details": "x"}})
    result = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    # ZStack's word on the api-job is final; the result still tells the migration goes on
    assert result["_status"] == "failed" and result["error_code"] == "SYS.1006", result
    assert result["changed"] is True and result["long_job_uuid"] in result["msg"] and result["moved_volumes"] == []
    assert_migration_converged(ansible, zstack)


def test_convert_canceled_by_someone_then_rerun(ansible, zstack):
    zstack.admin.action("v2v-duration", {"seconds": 30})
    run = play(ansible, zstack, convert_task("start", wait=False), convert_task("cancel", state="canceled"))
    assert run.result("cancel")["changed"] is True
    zstack.admin.action("v2v-duration", {"seconds": 0.5})
    zstack.admin.clear_journal()
    rerun = play(ansible, zstack, convert_task("rerun")).result("rerun")
    assert rerun["_status"] == "ok" and rerun["changed"] is True and rerun["vm_uuid"], rerun
    jobs, vms = conversion(zstack)
    assert len(jobs) == 1 and len(vms) == 1
    assert operations(zstack) == [("PUT", "/zstack/v1/longjobs/%s/actions" % jobs[0]["uuid"])]
    again = play(ansible, zstack, convert_task("again")).result("again")
    assert again["changed"] is False and again["vm_uuid"] == vms[0]["uuid"]


def test_convert_wait_false_then_wait_true_and_check_mode(ansible, zstack):
    zstack.admin.action("v2v-duration", {"seconds": 2})
    run = play(ansible, zstack, convert_task("start", wait=False), convert_task("check"), convert_task("wait"))
    assert run.result("start")["changed"] is True
    wait = run.result("wait")
    assert wait["_status"] == "ok" and wait["changed"] is False and wait["vm_uuid"], wait
    assert operations(zstack) == [("POST", "/zstack/v1/v2vs")]


def test_convert_rerun_after_success_changes_nothing(ansible, zstack):
    first = play(ansible, zstack, convert_task("convert")).result("convert")
    assert first["changed"] is True and first["vm_uuid"]
    zstack.admin.clear_journal()
    rerun = play(ansible, zstack, convert_task("rerun")).result("rerun")
    assert rerun["changed"] is False and rerun["vm_uuid"] == first["vm_uuid"]
    assert operations(zstack) == []


# ZStack checks and starts an accepted call only after its 202 (api/zstack.md section 5): a run killed
# right after the 202 leaves an api-job that is known but shows nowhere else yet.
def test_migrate_killed_after_the_202_before_zstack_processed_it(ansible, zstack):
    zstack.admin.action("accept-delay", {"seconds": 6})
    running = start(ansible, zstack, migrate_task("migrate"))
    running.kill_when(lambda: operations(zstack) == ONE_MIGRATION, interval=0.005, timeout=120)
    assert vm(zstack, emu.VM_WEB)["state"] == "Running" and migration_jobs(zstack) == []
    rerun = play(ansible, zstack, migrate_task("rerun")).result("rerun")
    assert rerun["_status"] == "ok", rerun.get("msg")
    assert operations(zstack) == ONE_MIGRATION and on_ceph(zstack) and len(migration_jobs(zstack)) == 1
    zstack.admin.action("accept-delay", {"seconds": 0})
    assert_migration_converged(ansible, zstack)


def test_convert_killed_after_the_202_before_zstack_processed_it(ansible, zstack):
    zstack.admin.action("accept-delay", {"seconds": 6})
    running = start(ansible, zstack, convert_task("convert"))
    running.kill_when(lambda: operations(zstack) == [("POST", "/zstack/v1/v2vs")], interval=0.005, timeout=120)
    assert conversion(zstack) == ([], [])
    rerun = play(ansible, zstack, convert_task("rerun")).result("rerun")
    assert rerun["_status"] == "ok" and rerun["vm_uuid"], rerun.get("msg")
    assert operations(zstack) == [("POST", "/zstack/v1/v2vs")]
    jobs, vms = conversion(zstack)
    assert len(jobs) == 1 and len(vms) == 1


def test_cancel_killed_after_the_202_before_zstack_processed_it(ansible, zstack):
    zstack.admin.action("v2v-duration", {"seconds": 60})
    started = play(ansible, zstack, convert_task("start", wait=False)).result("start")
    assert started["changed"] is True
    zstack.admin.action("accept-delay", {"seconds": 6})
    zstack.admin.clear_journal()
    running = start(ansible, zstack, convert_task("cancel", state="canceled"))
    actions = [("PUT", "/zstack/v1/longjobs/%s/actions" % started["job_uuid"])]
    running.kill_when(lambda: operations(zstack) == actions, interval=0.005, timeout=120)
    rerun = play(ansible, zstack, convert_task("again", state="canceled")).result("again")
    assert rerun["_status"] == "ok" and rerun["long_job"]["state"] == "Canceled", rerun.get("msg")
    assert operations(zstack) == actions


def test_migrate_wait_false_returns_the_long_job_even_when_zstack_starts_it_later(ansible, zstack):
    # The documented follow-up (zstack_longjob_info on long_job_uuid) needs the LongJob, which
    # ZStack creates only when it processes the call, after the 202.
    zstack.admin.action("config", {"accept_delay": 1.5, "migrate_duration": 3})
    started = play(ansible, zstack, migrate_task("start", wait=False)).result("start")
    assert started["_status"] == "ok" and started["changed"] is True, started.get("msg")
    assert started["long_job_uuid"] == migration_jobs(zstack)[0]["uuid"]
    assert operations(zstack) == ONE_MIGRATION


def test_migrate_wait_false_reports_a_call_zstack_refused_after_the_202(ansible, zstack):
    # Ceph -> LocalStorage is refused by ZStack when it processes the call: nothing started.
    zstack.admin.action("accept-delay", {"seconds": 1})
    result = play(ansible, zstack, {"name": "start", "ignore_errors": True, "hybridcloud.migration.zstack_ps_migrate": {
        "vm": "cache-01", "target_primary_storage": "ps-local-01", "target_host": "host-kvm-02", "wait": False}}).result("start")
    assert result["_status"] == "failed" and result["error_code"] == "SYS.1006", result
    assert result["changed"] is False and result["moved_volumes"] == [] and result["long_job_uuid"] is None


def test_two_runs_of_the_same_migration_at_once_start_one(ansible, zstack):
    # Another client doing the same work concurrently (e.g. two job templates): both derive the
    # same X-Job-UUID, so the later one adopts (or meets "Duplicate job uuid"), never a second migration.
    zstack.admin.action("config", {"accept_delay": 1.5, "migrate_duration": 2})
    runs = [start(ansible, zstack, migrate_task("migrate")) for dummy in range(2)]
    results = [run.wait().result("migrate") for run in runs]
    assert all(r["_status"] == "ok" for r in results), [r.get("msg") for r in results]
    accepted = [e for e in zstack.admin.mutations() if e["path"] == ONE_MIGRATION[0][1] and e["status"] == 202]
    assert len(accepted) == 1 and len(migration_jobs(zstack)) == 1 and on_ceph(zstack)


def test_migration_failing_after_the_root_volume_moved_then_rerun(ansible, zstack):
    zstack.admin.action("config", {"migrate_failures": {emu.VM_WEB: "disk copy of the data volume failed"}})
    failed = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    assert failed["_status"] == "failed" and failed["error_code"] == "SYS.1006" and "disk copy" in failed["msg"]
    # truthful: the root volume did move, the data volume did not
    assert failed["changed"] is True and [m["type"] for m in failed["moved_volumes"]] == ["Root"]
    assert "1 of 2 volume(s) on the destination" in failed["msg"]
    zstack.admin.action("config", {"migrate_failures": {}})
    rerun = play(ansible, zstack, migrate_task("rerun")).result("rerun")
    assert rerun["_status"] == "ok" and rerun["changed"] is True, rerun.get("msg")
    assert [m["type"] for m in rerun["moved_volumes"]] == ["Data"] and on_ceph(zstack)
    assert operations(zstack) == ONE_MIGRATION * 2


def test_two_runs_of_the_same_conversion_at_once_start_one(ansible, zstack):
    zstack.admin.action("config", {"accept_delay": 1.5, "v2v_duration": 1})
    runs = [start(ansible, zstack, convert_task("convert")) for dummy in range(2)]
    results = [run.wait().result("convert") for run in runs]
    assert all(r["_status"] == "ok" for r in results), [r.get("msg") for r in results]
    accepted = [e for e in zstack.admin.mutations() if e["path"] == "/zstack/v1/v2vs" and e["status"] == 202]
    jobs, vms = conversion(zstack)
    assert len(accepted) == 1 and len(jobs) == 1 and len(vms) == 1
    assert {r["vm_uuid"] for r in results} == {vms[0]["uuid"]}


def test_429_on_polls_is_waited_out(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 1})
    zstack.admin.fault(method="GET", path="/api-jobs/", status=429, body="Too Many Requests", times=4)
    result = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    assert result["_status"] == "ok" and result["changed"] is True, result.get("msg")
    assert operations(zstack) == ONE_MIGRATION and on_ceph(zstack)
