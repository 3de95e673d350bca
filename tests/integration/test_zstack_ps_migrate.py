"""zstack_ps_migrate through ansible-playbook against the ZStack emulator."""

import pytest

from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import assert_no_secrets, logins, module_defaults, operations, prepare, vm

MODULE = "hybridcloud.migration.zstack_ps_migrate"
ACTIONS = "/zstack/v1/vm-instances/%s/actions"


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator)


def task(name, **args):
    return {"name": name, MODULE: args, "ignore_errors": True}


def play(ansible, zstack, *tasks, **kwargs):
    return ansible.play(list(tasks), module_defaults=module_defaults(zstack), **kwargs)


def test_check_mode_apply_and_idempotence(ansible, zstack):
    run = play(ansible, zstack, task("plan", vm="web-01", primary_storage="ps-ceph-01"), check=True, diff=True)
    planned = run.result("plan")
    assert planned["changed"] is True and planned["mode"] == "live"
    assert [v["type"] for v in planned["moved_volumes"]] == ["Root", "Data"]
    before, after = planned["diff"]["before"]["volumes"], planned["diff"]["after"]["volumes"]
    assert set(before.values()) == {emu.PS_NFS} and set(after.values()) == {emu.PS_CEPH}
    assert operations(zstack) == []

    run = play(ansible, zstack, task("migrate", vm="web-01", primary_storage="ps-ceph-01"), verbosity=4)
    result = run.result("migrate")
    assert result["changed"] is True and result["_status"] == "ok", result.get("msg")
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}
    assert result["vm"]["state"] == "Running" and len(result["job_uuid"]) == 32 and result["long_job_uuid"]
    assert operations(zstack) == [("PUT", ACTIONS % emu.VM_WEB)]
    assert_no_secrets(zstack, run.output)

    zstack.admin.clear_journal()
    run = play(ansible, zstack, task("again", vm=emu.VM_WEB, primary_storage=emu.PS_CEPH))
    assert run.result("again")["changed"] is False and run.result("again")["moved_volumes"] == []
    assert operations(zstack) == []


def test_bad_input_fails_clearly_before_any_mutating_call(ansible, zstack):
    run = play(ansible, zstack,
               task("unknown", vm="no-such-vm", primary_storage="ps-ceph-01"),
               task("ambiguous", vm="app-01", primary_storage="ps-ceph-01"),
               task("bad uuid", vm="0" * 32, primary_storage="ps-ceph-01"),
               task("bad ps", vm="web-01", primary_storage="ps-none"),
               task("wrong state", vm="batch-01", primary_storage="ps-ceph-01"),
               task("negative", vm="web-01", primary_storage="ps-ceph-01", bandwidth=-1))
    messages = {name: run.result(name)["msg"] for name in ("unknown", "ambiguous", "bad uuid", "bad ps", "wrong state",
                                                           "negative")}
    assert all(run.result(name)["_status"] == "failed" for name in messages)
    assert "parameter 'vm': no VM has the uuid or name 'no-such-vm'" in messages["unknown"]
    assert "'app-01' is ambiguous: 2 VMs" in messages["ambiguous"] and emu.VM_APP_RUNNING in messages["ambiguous"]
    assert "no VM has the uuid or name '%s'" % ("0" * 32) in messages["bad uuid"]
    assert "parameter 'primary_storage'" in messages["bad ps"]
    assert "state Starting" in messages["wrong state"] and "batch-01" in messages["wrong state"]
    assert "parameter 'bandwidth'" in messages["negative"]
    assert operations(zstack) == []


def test_lost_submit_answer_and_503_while_polling_and_session_expiry_mid_job(ansible, zstack):
    zstack.admin.fault(method="PUT", path="/vm-instances/.*/actions", drop=True, after=True)
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body="Service Unavailable", times=2)
    zstack.admin.fault(method="GET", path="/api-jobs/", expire_session=True)
    run = play(ansible, zstack, task("migrate", vm="db-01", primary_storage="ps-ceph-01", with_data_volumes=False))
    result = run.result("migrate")
    assert result["changed"] is True and result["_status"] == "ok", result.get("msg")
    assert result["mode"] == "offline" and [v["type"] for v in result["moved_volumes"]] == ["Root"]
    volumes = {v["type"]: v["primaryStorageUuid"] for v in vm(zstack, emu.VM_DB)["allVolumes"]}
    assert volumes["Root"] == emu.PS_CEPH and volumes["Data"] == emu.PS_NFS
    puts = [e for e in zstack.admin.journal() if e["path"] == ACTIONS % emu.VM_DB]
    assert [p["status"] for p in puts] == [202, 400]  # the resend met "Duplicate job uuid": one migration only
    assert len([j for j in zstack.admin.state()["longjobs"] if j["jobName"] == emu.MIGRATE_JOB]) == 1
    assert len(logins(zstack)) == 2  # the session expired mid-job: one re-login


def test_job_failure_names_the_zstack_error(ansible, zstack):
    run = play(ansible, zstack, task("fail", vm="cache-01", primary_storage="ps-local-01", dst_host="host-kvm-02"))
    result = run.result("fail")
    assert result["_status"] == "failed" and result["error_code"] == "SYS.1006"
    assert result["msg"].startswith("PrimaryStorageMigrateVm on VM 'cache-01'")
    assert "not support to migrate volume" in result["msg"] and "Ceph" in result["msg"]


def test_timeout_then_a_rerun_waits_for_the_running_migration(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 10})  # long enough to outlast a busy playbook start
    run = play(ansible, zstack, task("short", vm="web-01", primary_storage="ps-ceph-01", timeout=1))
    result = run.result("short")
    assert result["_status"] == "failed" and "gave up waiting" in result["msg"] and result["long_job_uuid"] in result["msg"]
    assert vm(zstack, emu.VM_WEB)["state"] == "Migrating"
    zstack.admin.clear_journal()
    run = play(ansible, zstack, task("rerun", vm="web-01", primary_storage="ps-ceph-01"))
    rerun = run.result("rerun")
    assert rerun["changed"] is False and rerun["_status"] == "ok" and rerun["long_job_uuid"] == result["long_job_uuid"]
    assert operations(zstack) == []  # waited for the running migration instead of starting another
    assert {v["primaryStorageUuid"] for v in vm(zstack, emu.VM_WEB)["allVolumes"]} == {emu.PS_CEPH}


def test_wait_false_returns_the_job_at_once(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 10})
    run = play(ansible, zstack,
               dict(task("start", vm="web-01", primary_storage="ps-ceph-01", wait=False), register="start"),
               {"name": "jobs", "hybridcloud.migration.zstack_longjob_info": {"api_id": "{{ start.job_uuid }}"}},
               task("busy", vm="web-01", primary_storage="ps-ceph-01", wait=False))
    start = run.result("start")
    assert start["changed"] is True and len(start["job_uuid"]) == 32 and start["long_job_uuid"]
    jobs = run.result("jobs")["long_jobs"]
    assert [j["uuid"] for j in jobs] == [start["long_job_uuid"]] and jobs[0]["state"] == "Running"
    busy = run.result("busy")
    assert busy["changed"] is False and busy["long_job_uuid"] == start["long_job_uuid"]
    assert operations(zstack) == [("PUT", ACTIONS % emu.VM_WEB)]


def test_sys_1001_on_the_api_job_while_the_migration_goes_on(ansible, zstack):
    # api/zstack.md section 12: on SYS.1001 the LongJob and the VM decide, not the api-job.
    zstack.admin.action("config", {"api_job_timeout": 0.2, "migrate_duration": 1.0})
    run = play(ansible, zstack, task("migrate", vm="web-01", primary_storage="ps-ceph-01"))
    result = run.result("migrate")
    assert result["changed"] is True and result["_status"] == "ok", result.get("msg")
    assert result["long_job_uuid"] and result["vm"]["state"] == "Running"
    assert {v["primaryStorageUuid"] for v in vm(zstack, emu.VM_WEB)["allVolumes"]} == {emu.PS_CEPH}
    assert operations(zstack) == [("PUT", ACTIONS % emu.VM_WEB)]
