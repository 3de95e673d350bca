"""zstack_longjob_info through ansible-playbook against the ZStack emulator."""

import json

import pytest

from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import assert_no_secrets, logins, module_defaults, operations, prepare

MODULE = "hybridcloud.migration.zstack_longjob_info"


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator)


def task(title, **args):
    return {"name": title, MODULE: args, "ignore_errors": True}


def play(ansible, zstack, *tasks, **kwargs):
    return ansible.play(list(tasks), module_defaults=module_defaults(zstack), **kwargs)


def uuids(result):
    return sorted(j["uuid"] for j in result["long_jobs"])


def test_filters_check_mode_and_no_secrets(ansible, zstack):
    # A V2V job whose jobData holds an SSH key: the key must not come back.
    zstack.admin.action("v2v-duration", {"seconds": 30})
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nlongjob-info-secret-key\n-----END OPENSSH PRIVATE KEY-----"
    ansible.play([{"name": "start", "hybridcloud.migration.zstack_v2v_convert": {
        "url": "kvm://root@192.168.20.31/9b2a0a1c", "vm": "kvm-01", "cpu_num": 1, "memory_size": 1024 ** 3,
        "primary_storage": emu.PS_NFS, "l3_networks": [emu.L3_PROD], "ssh_priv_key": key, "wait": False}}],
        module_defaults=module_defaults(zstack))
    zstack.admin.clear_journal()
    run = play(ansible, zstack,
               task("all"),
               task("by uuid", uuid=emu.JOB_FAILED_V2V),
               task("by name", name="v2v-report-01"),
               task("by state", states=["Failed", "Suspended"]),
               task("running v2v", job_name=emu.V2V_JOB, states=["Running"]),
               task("unknown", uuid="e" * 32),
               check=True, verbosity=4)
    assert all(r["_status"] == "ok" and r["changed"] is False for r in run.results)
    assert len(run.result("all")["long_jobs"]) == 3
    assert uuids(run.result("by uuid")) == [emu.JOB_FAILED_V2V]
    assert uuids(run.result("by name")) == [emu.JOB_SUSPENDED_V2V]
    assert uuids(run.result("by state")) == sorted([emu.JOB_FAILED_V2V, emu.JOB_SUSPENDED_V2V])
    running = run.result("running v2v")["long_jobs"]
    assert len(running) == 1 and json.loads(running[0]["jobData"])["sshPrivKey"] == "********"
    assert run.result("unknown")["long_jobs"] == []
    assert operations(zstack) == []
    assert_no_secrets(zstack, run.output, extra=["longjob-info-secret-key"])


def test_target_resource_and_api_id_of_a_migration(ansible, zstack):
    zstack.admin.action("migrate-duration", {"seconds": 10})
    run = play(ansible, zstack,
               {"name": "start", "register": "start", "hybridcloud.migration.zstack_ps_migrate": {
                   "vm": "web-01", "target_primary_storage": "ps-ceph-01", "wait": False}},
               task("by target", target_resource_uuid=emu.VM_WEB),
               task("by api id", api_id="{{ start.job_uuid }}"))
    start = run.result("start")
    assert uuids(run.result("by target")) == [start["long_job_uuid"]] == uuids(run.result("by api id"))
    assert run.result("by target")["long_jobs"][0]["state"] == "Running"


def test_bad_input_and_faults(ansible, zstack):
    zstack.admin.fault(method="GET", path="/longjobs", status=503, body="Service Unavailable", times=1)
    zstack.admin.fault(method="GET", path="/longjobs", expire_session=True)
    run = play(ansible, zstack,
               task("bad uuid", uuid="not-a-uuid"),
               task("bad state", states=["Done"]),
               task("after faults", states=["Failed"]))
    assert run.result("bad uuid")["_status"] == "failed"
    assert "parameter 'uuid' must be a ZStack uuid" in run.result("bad uuid")["msg"]
    assert run.result("bad state")["_status"] == "failed" and "Done" in run.result("bad state")["msg"]
    after = run.result("after faults")
    assert after["_status"] == "ok" and uuids(after) == [emu.JOB_FAILED_V2V]
    assert len(logins(zstack)) == 2  # the session expired before the query: one re-login
