"""ZStack storage migration and V2V, disturbed, then run again (issue 12).

Each test disturbs a run in one way (the whole process tree killed mid-job, a timeout, answers lost
after ZStack acted, a 5xx after ZStack acted), then runs the same task again and checks the end
state in the emulator, a truthful result, and that ZStack received the mutating call exactly once.
"""

import re

import pytest

from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import module_defaults, operations, prepare, vm

MIGRATE = "hybridcloud.migration.zstack_ps_migrate"
CONVERT = "hybridcloud.migration.zstack_v2v_convert"
ACTIONS = "/zstack/v1/vm-instances/%s/actions" % emu.VM_WEB
V2VS = "/zstack/v1/v2vs"
ONE_MIGRATION = [("PUT", ACTIONS)]
ONE_CONVERSION = [("POST", V2VS)]


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator)


def migrate_task(title, **args):
    return {"name": title, MIGRATE: dict(dict(vm="web-01", target_primary_storage="ps-ceph-01"), **args), "ignore_errors": True}


def convert_task(title, **args):
    params = dict(url=emu.V2V_URL, vm="imported-01", cpu_num=2, memory_size=4 * 1024 ** 3,
                  primary_storage=emu.PS_NFS, l3_networks=[emu.L3_PROD], cluster=emu.CLUSTER,
                  conversion_host=emu.CONVERSION_HOST, strategy="JustConvert")
    return {"name": title, CONVERT: dict(params, **args), "ignore_errors": True}


def play(ansible, zstack, *tasks, **kwargs):
    return ansible.play(list(tasks), module_defaults=module_defaults(zstack), **kwargs)


def start(ansible, zstack, *tasks):
    return ansible.start(list(tasks), module_defaults=module_defaults(zstack))


def on_ceph(zstack):
    return {v["primaryStorageUuid"] for v in vm(zstack, emu.VM_WEB)["allVolumes"]} == {emu.PS_CEPH}


def migration_jobs(zstack):
    return [j for j in zstack.admin.state()["longjobs"] if j["jobName"] == emu.MIGRATE_JOB]


def conversion(zstack):
    """(the conversion LongJobs, the VMs named imported-01) in the emulator."""
    state = zstack.admin.state()
    return ([j for j in state["longjobs"] if j["jobName"] == emu.V2V_JOB and '"imported-01"' in (j["jobData"] or "")],
            [v for v in state["vm-instances"] if v["name"] == "imported-01"])


def assert_migration_converged(ansible, zstack):
    """The same task again: no change, nothing sent, volumes on the destination, one migration in all."""
    rerun = play(ansible, zstack, migrate_task("rerun")).result("rerun")
    assert rerun["_status"] == "ok" and rerun["changed"] is False, rerun.get("msg")
    assert rerun["moved_volumes"] == [] and rerun["job_uuid"] is None
    assert on_ceph(zstack) and vm(zstack, emu.VM_WEB)["state"] == "Running"
    assert operations(zstack) == ONE_MIGRATION and len(migration_jobs(zstack)) == 1
    return rerun


def assert_conversion_converged(ansible, zstack):
    rerun = play(ansible, zstack, convert_task("rerun")).result("rerun")
    assert rerun["_status"] == "ok" and rerun["changed"] is False, rerun.get("msg")
    jobs, vms = conversion(zstack)
    assert len(jobs) == 1 and jobs[0]["state"] == "Succeeded" and len(vms) == 1
    assert rerun["vm_uuid"] == vms[0]["uuid"] and rerun["job_uuid"] == jobs[0]["uuid"]
    assert operations(zstack) == ONE_CONVERSION
    return rerun


# -- zstack_ps_migrate ------------------------------------------------------------------------------
def test_migrate_killed_mid_job_then_rerun_waits_for_the_same_migration(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 8})
    running = start(ansible, zstack, migrate_task("migrate"))
    killed = running.kill_when(lambda: vm(zstack, emu.VM_WEB)["state"] == "Migrating", timeout=120)
    assert killed.records == []  # the run died before it could say anything
    rerun = assert_migration_converged(ansible, zstack)
    assert rerun["long_job_uuid"] == migration_jobs(zstack)[0]["uuid"]  # the killed run's job, waited for


def test_migrate_killed_right_after_the_put_was_sent_then_rerun(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 1})
    running = start(ansible, zstack, migrate_task("migrate"))
    running.kill_when(lambda: operations(zstack) == ONE_MIGRATION, interval=0.005, timeout=120)
    assert_migration_converged(ansible, zstack)


def test_migrate_timeout_reports_the_job_going_on_then_rerun_waits(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 8})
    short = play(ansible, zstack, migrate_task("short", timeout=1)).result("short")
    assert short["_status"] == "failed" and "gave up waiting" in short["msg"] and "(timeout 1 s)" in short["msg"]
    assert not re.search(r"\d\.\d{3}", short["msg"])  # durations rounded
    assert short["long_job_uuid"] in short["msg"] and short["job_uuid"] in short["msg"]
    # truthful: the migration it started is under way, nothing has moved yet
    assert short["changed"] is True and short["moved_volumes"] == [] and "VM state Migrating" in short["msg"]
    rerun = assert_migration_converged(ansible, zstack)
    assert rerun["long_job_uuid"] == short["long_job_uuid"]


def test_migrate_answers_lost_after_zstack_acted(ansible, zstack):
    zstack.admin.fault(method="PUT", path="/vm-instances/", drop=True, after=True)
    zstack.admin.fault(method="GET", path="/api-jobs/", drop=True, times=2)
    result = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    assert result["_status"] == "ok" and result["changed"] is True, result.get("msg")
    assert len(result["moved_volumes"]) == 2 and len(result["job_uuid"]) == 32 and result["long_job_uuid"]
    assert operations(zstack) == ONE_MIGRATION  # asked about the api-job instead of sending again
    assert_migration_converged(ansible, zstack)


def test_migrate_every_answer_lost_for_a_while_still_reports_the_migration_it_started(ansible, zstack):
    # The case: the PUT acted, then the answer and every look at its api-job were lost
    # (6 in a row: the HTTP layer's retries run out). The LongJob and the VM give the real outcome.
    zstack.admin.fault(method="PUT", path="/vm-instances/", drop=True, after=True)
    zstack.admin.fault(method="GET", path="/api-jobs/", drop=True, times=6)
    result = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    assert result["_status"] == "ok" and result["changed"] is True, result.get("msg")
    assert len(result["job_uuid"]) == 32 and result["long_job_uuid"] == migration_jobs(zstack)[0]["uuid"]
    assert on_ceph(zstack) and operations(zstack) == ONE_MIGRATION
    assert_migration_converged(ansible, zstack)


@pytest.mark.parametrize("status", [500, 502])
def test_migrate_5xx_after_zstack_acted(ansible, zstack, status):
    zstack.admin.fault(method="PUT", path="/vm-instances/", status=status, body="upstream trouble", after=True)
    result = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    assert result["_status"] == "ok" and result["changed"] is True, result.get("msg")
    assert on_ceph(zstack) and operations(zstack) == ONE_MIGRATION
    assert_migration_converged(ansible, zstack)


def test_migrate_5xx_before_zstack_acted_is_reported_as_nothing_done(ansible, zstack):
    zstack.admin.fault(method="PUT", path="/vm-instances/", status=500, body="java.lang.IllegalStateException: busy")
    result = play(ansible, zstack, migrate_task("migrate")).result("migrate")
    assert result["_status"] == "failed" and result["changed"] is False and result["moved_volumes"] == []
    assert result["job_uuid"] is None and "IllegalStateException" in result["msg"] and result["status"] == 500
    assert operations(zstack) == []
    result = play(ansible, zstack, migrate_task("again")).result("again")
    assert result["_status"] == "ok" and result["changed"] is True and on_ceph(zstack)
    assert operations(zstack) == ONE_MIGRATION


# -- zstack_v2v_convert -----------------------------------------------------------------------------
def test_convert_killed_mid_job_then_rerun_waits_for_the_same_job(ansible, zstack):
    zstack.admin.action("v2v-duration", {"seconds": 8})
    running = start(ansible, zstack, convert_task("convert"))
    running.kill_when(lambda: any(j["state"] == "Running" for j in conversion(zstack)[0]), timeout=120)
    assert conversion(zstack)[1] == []  # killed before the VM existed
    assert_conversion_converged(ansible, zstack)


def test_convert_killed_right_after_the_post_was_sent_then_rerun(ansible, zstack):
    running = start(ansible, zstack, convert_task("convert"))
    running.kill_when(lambda: operations(zstack) == ONE_CONVERSION, interval=0.005, timeout=120)
    assert_conversion_converged(ansible, zstack)


def test_convert_timeout_reports_the_job_going_on_then_rerun_waits(ansible, zstack):
    zstack.admin.action("v2v-duration", {"seconds": 8})
    short = play(ansible, zstack, convert_task("short", timeout=1)).result("short")
    assert short["_status"] == "failed" and "gave up waiting" in short["msg"] and short["job_uuid"] in short["msg"]
    assert "(timeout 1 s)" in short["msg"] and not re.search(r"\d\.\d{3}", short["msg"])
    assert "Running when last read" in short["msg"] and short["changed"] is True  # it started the job
    assert short["long_job"]["state"] == "Running" and short["vm_uuid"] is None
    assert_conversion_converged(ansible, zstack)


def test_convert_answers_lost_after_zstack_acted(ansible, zstack):
    zstack.admin.fault(method="POST", path="/v2vs", drop=True, after=True)
    zstack.admin.fault(method="GET", path="/api-jobs/", drop=True, times=2)
    zstack.admin.fault(method="GET", path="/longjobs/", drop=True, times=1)
    result = play(ansible, zstack, convert_task("convert")).result("convert")
    assert result["_status"] == "ok" and result["changed"] is True and result["vm_uuid"], result.get("msg")
    assert operations(zstack) == ONE_CONVERSION
    assert_conversion_converged(ansible, zstack)


@pytest.mark.parametrize("status", [500, 503])
def test_convert_5xx_after_zstack_acted(ansible, zstack, status):
    zstack.admin.fault(method="POST", path="/v2vs", status=status, body="upstream trouble", after=True)
    result = play(ansible, zstack, convert_task("convert")).result("convert")
    assert result["_status"] == "ok" and result["changed"] is True and result["vm_uuid"], result.get("msg")
    assert operations(zstack) == ONE_CONVERSION
    assert_conversion_converged(ansible, zstack)
