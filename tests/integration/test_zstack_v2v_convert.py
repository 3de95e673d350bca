"""zstack_v2v_convert through ansible-playbook against the ZStack emulator."""

import pytest

from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import assert_no_secrets, logins, module_defaults, operations, prepare

MODULE = "hybridcloud.migration.zstack_v2v_convert"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAC2-very-secret-key\n-----END OPENSSH PRIVATE KEY-----"


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator)


def task(title, **args):
    params = dict(url=emu.V2V_URL, vm="imported-01", cpu_num=2, memory_size=4 * 1024 ** 3,
                  primary_storage=emu.PS_NFS, l3_networks=[emu.L3_PROD], cluster=emu.CLUSTER,
                  conversion_host=emu.CONVERSION_HOST, strategy="JustConvert")
    params.update(args)
    return {"name": title, MODULE: params, "ignore_errors": True}


def play(ansible, zstack, *tasks, **kwargs):
    return ansible.play(list(tasks), module_defaults=module_defaults(zstack), **kwargs)


def converted_vms(zstack, name="imported-01"):
    return [v for v in zstack.admin.state()["vm-instances"] if v["name"] == name]


def test_check_mode_convert_and_idempotence(ansible, zstack):
    run = play(ansible, zstack, task("plan"), check=True, diff=True)
    planned = run.result("plan")
    assert planned["changed"] is True and planned["diff"]["before"] == {}  # no job yet: nothing, not null
    assert planned["diff"]["after"] == {
        "long_job": "Succeeded", "primary_storage": "ps-nfs-01 (%s\u2026)" % emu.PS_NFS[:8],
        "l3_networks": ["l3-prod (%s\u2026)" % emu.L3_PROD[:8]], "cluster": "cluster-kvm-1 (%s\u2026)" % emu.CLUSTER[:8],
        "conversion_host": "v2v-ch-01 (%s\u2026)" % emu.CONVERSION_HOST[:8]}
    assert "would convert it" in planned["msg"] and planned["references"]["primary_storage"] == {
        "name": "ps-nfs-01", "uuid": emu.PS_NFS}
    assert operations(zstack) == []

    run = play(ansible, zstack, task("convert", ssh_priv_key=SSH_KEY), verbosity=4)
    result = run.result("convert")
    assert result["changed"] is True and result["_status"] == "ok", result.get("msg")
    vms = converted_vms(zstack)
    assert len(vms) == 1 and result["vm_uuid"] == vms[0]["uuid"] and result["vm"]["state"] == "Stopped"
    assert result["long_job"]["state"] == "Succeeded" and result["long_job"]["uuid"] == result["job_uuid"]
    assert operations(zstack) == [("POST", "/zstack/v1/v2vs")]
    assert_no_secrets(zstack, run.output, extra=["very-secret-key"])

    zstack.admin.clear_journal()
    run = play(ansible, zstack, task("again", ssh_priv_key=SSH_KEY))
    again = run.result("again")
    assert again["changed"] is False and again["vm_uuid"] == result["vm_uuid"] and again["job_uuid"] == result["job_uuid"]
    assert "Succeeded, VM imported-01 (%s\u2026)" % result["vm_uuid"][:8] in again["msg"]
    assert operations(zstack) == [] and len(converted_vms(zstack)) == 1


UNKNOWN = "0123456789ab4def8123456789abcdef"  # well formed, known to no one
BAD_INPUT = [  # (task, parameter named, the parameter's problem, module arguments)
    ("scheme", "url", "must start with vmware:// or kvm://", dict(url="https://vc.example.com/vm-42")),
    ("traversal", "url", "'..' path segments", dict(url="kvm://root@10.0.0.9/../../etc/shadow")),
    ("query in url", "url", "'?'", dict(url="vmware://155cb773?action=delete")),
    ("empty name", "vm", "non-empty", dict(vm="")),
    ("operator name", "vm", "reads as an operator", dict(vm="x~=%")),
    ("bidi name", "vm", "U+202E", dict(vm="imported\u202e-01")),
    ("operator ps", "primary_storage", "reads as an operator", dict(primary_storage="ps>=1")),
    ("unknown ps name", "primary_storage", "no primary storage has the uuid or name 'ps-none'",
     dict(primary_storage="ps-none")),
    ("unknown ps", "primary_storage", "no primary storage has the uuid or name '%s'" % UNKNOWN,
     dict(primary_storage=UNKNOWN)),
    ("bad l3", "l3_networks", "no L3 network has the uuid or name 'not-an-l3'", dict(l3_networks=["l3-prod", "not-an-l3"])),
    ("unknown l3", "l3_networks", "no L3 network has the uuid or name '%s'" % UNKNOWN, dict(l3_networks=[UNKNOWN])),
    ("unknown cluster", "cluster", "no cluster has", dict(cluster=UNKNOWN)),
    ("unknown host", "host", "no host has the uuid or name 'kvm-99'", dict(host="kvm-99")),
    ("unknown conversion host", "conversion_host", "no V2V conversion host has", dict(conversion_host=UNKNOWN)),
    ("default l3", "default_l3_network", "not one of l3_networks", dict(default_l3_network="l3-mgmt")),
    ("cpu", "cpu_num", "between 1 and 1024, got 0", dict(cpu_num=0)),
    ("memory", "memory_size", "at least 1, got -4", dict(memory_size=-4)),
    ("port", "port", "between 1 and 65535, got 70000", dict(port=70000)),
    ("two logins", "username|access_key_id", "mutually exclusive",
     dict(access_key_id="AKID", access_key_secret="ak-secret-98765")),
]


def test_bad_input_fails_naming_the_parameter_before_any_mutating_call(ansible, zstack):
    run = play(ansible, zstack, *[task(name, **args) for name, dummy, dummy2, args in BAD_INPUT],
               task("ambiguous", vm="app-01"),
               task("cancel failed job", state="canceled", resource_uuid=emu.JOB_FAILED_V2V, url=None, vm=None))
    for name, parameter, problem, dummy in BAD_INPUT:
        result = run.result(name)
        assert result["_status"] == "failed" and result["changed"] is False, name
        named = parameter if "|" in parameter else "parameter '%s'" % parameter  # argspec rules name them a|b
        assert named in result["msg"] and problem in result["msg"], (name, result["msg"])
    assert "2 VMs are already named 'app-01'" in run.result("ambiguous")["msg"]
    # a Failed job is not running: canceling it changes nothing
    assert run.result("cancel failed job")["_status"] == "ok" and run.result("cancel failed job")["changed"] is False
    assert operations(zstack) == []


def test_faults_lost_submit_answer_503_while_polling_and_session_expiry(ansible, zstack):
    zstack.admin.fault(method="POST", path="/v2vs", drop=True, after=True)
    zstack.admin.fault(method="GET", path="/longjobs/", status=503, body="Service Unavailable", times=1)
    zstack.admin.fault(method="GET", path="/longjobs/", expire_session=True)
    run = play(ansible, zstack, task("convert"))
    result = run.result("convert")
    assert result["changed"] is True and result["_status"] == "ok", result.get("msg")
    assert len(converted_vms(zstack)) == 1
    posts = [e for e in zstack.admin.journal() if e["path"] == "/zstack/v1/v2vs"]
    assert [p["status"] for p in posts] == [202]  # ZStack was asked about the api-job instead of a resend
    assert len(logins(zstack)) == 2


def test_job_failure_then_rerun(ansible, zstack):
    run = play(ansible, zstack, task("fail", url=emu.V2V_FAILING_URL, vm="broken-01"))
    result = run.result("fail")
    assert result["_status"] == "failed" and result["error_code"] == "SYS.1006"
    assert "ended Failed" in result["msg"] and "vCenter task timed out" in result["msg"]
    zstack.admin.action("v2v-failures", {"sources": {}})
    zstack.admin.clear_journal()
    run = play(ansible, zstack, task("rerun", url=emu.V2V_FAILING_URL, vm="broken-01"))
    assert run.result("rerun")["changed"] is True and run.result("rerun")["vm_uuid"]
    assert operations(zstack) == [("PUT", "/zstack/v1/longjobs/%s/actions" % result["job_uuid"])]


def test_wait_false_timeout_rerun_waits_and_cancel(ansible, zstack):
    zstack.admin.action("v2v-duration", {"seconds": 30})
    run = play(ansible, zstack, task("start", wait=False), task("short", timeout=1), task("cancel", state="canceled"),
               task("cancel again", state="canceled"))
    start = run.result("start")
    assert start["changed"] is True and start["long_job"]["state"] == "Running" and start["vm_uuid"] is None
    short = run.result("short")
    assert short["_status"] == "failed" and "gave up waiting" in short["msg"] and start["job_uuid"] in short["msg"]
    cancel = run.result("cancel")
    assert cancel["changed"] is True and cancel["long_job"]["state"] == "Canceled"
    assert run.result("cancel again")["changed"] is False
    assert operations(zstack) == [("POST", "/zstack/v1/v2vs"), ("PUT", "/zstack/v1/longjobs/%s/actions" % start["job_uuid"])]


def test_sys_1001_on_the_submit_api_job_is_settled_by_the_long_job(ansible, zstack):
    zstack.admin.action("config", {"api_job_timeout": 0.05, "v2v_start_delay": 0.5})
    run = play(ansible, zstack, task("convert"))
    result = run.result("convert")
    assert result["changed"] is True and result["_status"] == "ok", result.get("msg")
    assert result["long_job"]["state"] == "Succeeded" and result["vm_uuid"] == converted_vms(zstack)[0]["uuid"]
    assert operations(zstack) == [("POST", "/zstack/v1/v2vs")]
