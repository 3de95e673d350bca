"""No secret in any form at -vvvv, even where ZStack echoes it back (issue 12).

The password has characters that JSON and URL encoding change, the private key has newlines; the
emulator is made to echo both raw, JSON-escaped (as in ``"sshPrivKey": "-----BEGIN ...\\n..."``)
and URL-encoded, in an error body, in a LongJob's jobResult and in its jobData.
"""

import hashlib
import json
from urllib.parse import quote, quote_plus

import pytest

from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import SESSION_PATH, connection, operations, prepare, session_ids

PASSWORD = 'Zs"S3cret/pw+42 \\ very-distinctive'
SSH_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-distinctive-line-2\n"
           "AAAAC3NzaC1lZDI1NTE5AAAAIDx-distinctive-line-3\n-----END OPENSSH PRIVATE KEY-----\n")


def forms(secret):
    """Raw, JSON-escaped, URL-encoded (both ways): how a server may echo SECRET."""
    return [secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)]


def echo(secret_text):
    """A vendor error text that quotes what it was sent, in every form."""
    return ('invalid parameters {"sshPrivKey": "%s", "password": "%s"}; request was ?key=%s&password=%s&pw=%s'
            % (json.dumps(SSH_KEY)[1:-1], json.dumps(secret_text)[1:-1], quote(SSH_KEY, safe=""),
               quote_plus(secret_text), secret_text))


@pytest.fixture()
def zstack(zstack_emulator):
    prepare(zstack_emulator)
    state = zstack_emulator.admin.state()
    zstack_emulator.admin.reset({"config": state["config"],
                                 "accounts": [{"uuid": emu.ADMIN_ACCOUNT, "name": "admin", "password": PASSWORD}]})
    return zstack_emulator


def play(ansible, zstack, *tasks):
    defaults = {"group/hybridcloud.migration.zstack": dict(connection(zstack), password=PASSWORD)}
    return ansible.play(list(tasks), module_defaults=defaults, verbosity=4)


def assert_clean(zstack, output):
    sessions = {e["path"][len(SESSION_PATH):] for e in zstack.admin.journal() if e["path"].startswith(SESSION_PATH)}
    sessions |= session_ids(zstack)
    assert sessions, "no session was used: the check would prove nothing"
    secrets = forms(PASSWORD) + forms(SSH_KEY) + [hashlib.sha512(PASSWORD.encode()).hexdigest()] + sorted(sessions)
    secrets += ["distinctive-line-2", "distinctive-line-3", "very-distinctive"]
    for index, secret in enumerate(secrets):
        at = output.find(secret)
        assert at < 0, "secret #%d leaked: ...%s..." % (index, output[max(at - 300, 0):at])


def test_v2v_secrets_echoed_by_zstack_are_masked_at_vvvv(ansible, zstack):
    zstack.admin.action("v2v-failures", {"sources": {"broken-01": echo(PASSWORD)}})
    common = dict(url=emu.V2V_URL, cpu_num=2, memory_size=4 * 1024 ** 3, primary_storage=emu.PS_NFS,
                  l3_networks=[emu.L3_PROD], ssh_priv_key=SSH_KEY)
    zstack.admin.fault(method="POST", path="/v2vs", status=503, body={"error": {
        "code": "SYS.1007", "description": "One or more API argument is invalid", "details": echo(PASSWORD)}})
    run = play(ansible, zstack,
               {"name": "refused", "hybridcloud.migration.zstack_v2v_convert": dict(common, vm="refused-01"),
                "ignore_errors": True},
               {"name": "fails", "hybridcloud.migration.zstack_v2v_convert": dict(common, vm="broken-01"),
                "ignore_errors": True},
               {"name": "works", "hybridcloud.migration.zstack_v2v_convert": dict(common, vm="fine-01")},
               {"name": "jobs", "hybridcloud.migration.zstack_longjob_info": {"job_name": emu.V2V_JOB}})
    refused, fails = run.result("refused"), run.result("fails")
    assert refused["_status"] == "failed" and "invalid parameters" in refused["msg"] and "********" in refused["msg"]
    assert fails["_status"] == "failed" and "invalid parameters" in fails["msg"]
    assert "sshPrivKey" in fails["long_job"]["jobData"] and run.result("works")["_status"] == "ok"
    assert len(run.result("jobs")["long_jobs"]) >= 4
    assert operations(zstack) == [("POST", "/zstack/v1/v2vs")] * 2  # the refused one never reached ZStack's job queue
    assert_clean(zstack, run.output)


def test_migration_secrets_echoed_by_zstack_are_masked_at_vvvv(ansible, zstack):
    # the look for an earlier run's identical call (derived X-Job-UUID) finds none; then the poll fails
    zstack.admin.fault(method="GET", path="/api-jobs/", status=404, body="the job has been expired")
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body={"error": {
        "code": "SYS.1006", "description": "An operation failed", "details": echo(PASSWORD)}})
    run = play(ansible, zstack, {"name": "migrate", "ignore_errors": True,
                                 "hybridcloud.migration.zstack_ps_migrate": {"vm": "db-01", "target_primary_storage": "ps-ceph-01"}})
    result = run.result("migrate")
    assert result["_status"] == "failed" and result["error_code"] == "SYS.1006" and "invalid parameters" in result["msg"]
    assert_clean(zstack, run.output)
