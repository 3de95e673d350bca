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
    run = play(ansible, zstack, task("plan", vm="web-01", target_primary_storage="ps-ceph-01"), check=True, diff=True)
    planned = run.result("plan")
    assert planned["changed"] is True and planned["mode"] == "live"
    assert [v["type"] for v in planned["moved_volumes"]] == ["Root", "Data"]
    before, after = planned["diff"]["before"]["volumes"], planned["diff"]["after"]["volumes"]
    # only what moves, names beside the uuids: the web VM's two volumes, NFS -> Ceph
    assert len(before) == 2 and all(key.startswith(("ROOT-for-web-01 (", "web-01-data-1 (")) for key in before)
    assert set(before.values()) == {"ps-nfs-01 (%s\u2026)" % emu.PS_NFS[:8]}
    assert set(after.values()) == {"ps-ceph-01 (%s\u2026)" % emu.PS_CEPH[:8]} and after.keys() == before.keys()
    assert "would move 2 volume(s) live from ps-nfs-01" in planned["msg"]
    assert operations(zstack) == []

    run = play(ansible, zstack, task("migrate", vm="web-01", target_primary_storage="ps-ceph-01"), verbosity=4)
    result = run.result("migrate")
    assert result["changed"] is True and result["_status"] == "ok", result.get("msg")
    assert {v["primaryStorageUuid"] for v in result["vm"]["allVolumes"]} == {emu.PS_CEPH}
    assert result["vm"]["state"] == "Running" and len(result["job_uuid"]) == 32 and result["long_job_uuid"]
    assert operations(zstack) == [("PUT", ACTIONS % emu.VM_WEB)]
    assert_no_secrets(zstack, run.output)

    zstack.admin.clear_journal()
    run = play(ansible, zstack, task("again", vm=emu.VM_WEB, target_primary_storage=emu.PS_CEPH))
    assert run.result("again")["changed"] is False and run.result("again")["moved_volumes"] == []
    assert "every volume is already on ps-ceph-01" in run.result("again")["msg"]
    assert operations(zstack) == []


BAD_INPUT = [  # (task, parameter named, the parameter's problem, module arguments)
    ("unknown", "vm", "no VM has the uuid or name 'no-such-vm'", dict(vm="no-such-vm")),
    ("ambiguous", "vm", "'app-01' is ambiguous: 2 VMs", dict(vm="app-01")),
    ("bad uuid", "vm", "no VM has the uuid or name '%s'" % ("0" * 32), dict(vm="0" * 32)),
    ("empty", "vm", "must be a non-empty", dict(vm="")),
    ("operator", "vm", "reads as an operator", dict(vm="x~=%")),
    ("control", "vm", "control or formatting character U+0007", dict(vm="web\u0007")),
    ("bidi", "vm", "U+202E", dict(vm="\u202eweb-01")),
    ("bad ps", "target_primary_storage", "no primary storage", dict(target_primary_storage="ps-none")),
    ("local without host", "target_host", "LocalStorage", dict(target_primary_storage="ps-local-01")),
    ("unknown host", "target_host", "no host has", dict(target_primary_storage="ps-local-01", target_host="host-none")),
    ("negative", "bandwidth", "at least 0, got -1", dict(bandwidth=-1)),
    ("timeout", "timeout", "at least 1, got 0", dict(timeout=0)),
    ("port", "port", "between 1 and 65535, got 70000", dict(port=70000)),
    ("two logins", "username|access_key_id", "mutually exclusive",
     dict(access_key_id="AKID", access_key_secret="ak-secret-98765")),
]


def test_bad_input_fails_naming_the_parameter_before_any_mutating_call(ansible, zstack):
    run = play(ansible, zstack, *[task(name, **dict(dict(vm="web-01", target_primary_storage="ps-ceph-01"), **args))
                                  for name, dummy, dummy2, args in BAD_INPUT],
               task("wrong state", vm="batch-01", target_primary_storage="ps-ceph-01"))
    for name, parameter, problem, dummy in BAD_INPUT:
        result = run.result(name)
        assert result["_status"] == "failed" and result["changed"] is False, name
        named = parameter if "|" in parameter else "parameter '%s'" % parameter  # argspec rules name them a|b
        assert named in result["msg"] and problem in result["msg"], (name, result["msg"])
    assert "state Starting" in run.result("wrong state")["msg"] and "batch-01" in run.result("wrong state")["msg"]
    assert operations(zstack) == []


def test_lost_submit_answer_and_503_while_polling_and_session_expiry_mid_job(ansible, zstack):
    zstack.admin.fault(method="PUT", path="/vm-instances/.*/actions", drop=True, after=True)
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body="Service Unavailable", times=2)
    zstack.admin.fault(method="GET", path="/api-jobs/", expire_session=True)
    run = play(ansible, zstack, task("migrate", vm="db-01", target_primary_storage="ps-ceph-01", with_data_volumes=False))
    result = run.result("migrate")
    assert result["changed"] is True and result["_status"] == "ok", result.get("msg")
    assert result["mode"] == "offline" and [v["type"] for v in result["moved_volumes"]] == ["Root"]
    volumes = {v["type"]: v["primaryStorageUuid"] for v in vm(zstack, emu.VM_DB)["allVolumes"]}
    assert volumes["Root"] == emu.PS_CEPH and volumes["Data"] == emu.PS_NFS
    puts = [e for e in zstack.admin.journal() if e["path"] == ACTIONS % emu.VM_DB]
    assert [p["status"] for p in puts] == [202]  # ZStack was asked about the api-job instead of a resend
    assert len([j for j in zstack.admin.state()["longjobs"] if j["jobName"] == emu.MIGRATE_JOB]) == 1
    assert len(logins(zstack)) == 2  # the session expired mid-job: one re-login


def test_job_failure_names_the_zstack_error(ansible, zstack):
    run = play(ansible, zstack, task("fail", vm="cache-01", target_primary_storage="ps-local-01", target_host="host-kvm-02"))
    result = run.result("fail")
    assert result["_status"] == "failed" and result["error_code"] == "SYS.1006"
    assert result["msg"].startswith("PrimaryStorageMigrateVm on VM 'cache-01'")
    assert "not support to migrate volume" in result["msg"] and "Ceph" in result["msg"]


def test_wait_false_returns_the_job_at_once(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 10})
    run = play(ansible, zstack,
               dict(task("start", vm="web-01", target_primary_storage="ps-ceph-01", wait=False), register="start"),
               {"name": "jobs", "hybridcloud.migration.zstack_longjob_info": {"api_id": "{{ start.job_uuid }}"}},
               task("busy", vm="web-01", target_primary_storage="ps-ceph-01", wait=False))
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
    run = play(ansible, zstack, task("migrate", vm="web-01", target_primary_storage="ps-ceph-01"))
    result = run.result("migrate")
    assert result["changed"] is True and result["_status"] == "ok", result.get("msg")
    assert result["long_job_uuid"] and result["vm"]["state"] == "Running"
    assert {v["primaryStorageUuid"] for v in vm(zstack, emu.VM_WEB)["allVolumes"]} == {emu.PS_CEPH}
    assert operations(zstack) == [("PUT", ACTIONS % emu.VM_WEB)]
