"""zstack_v2v_convert in-process against the ZStack emulator."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import derive_v2v_job_uuid
from ansible_collections.hybridcloud.migration.plugins.modules import zstack_v2v_convert
from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import PASSWORD
from tests.unit.plugins.modules.zstack_runner import operations, prepare, run

BASE = dict(url=emu.V2V_URL, vm="imported-02", cpu_num=2, memory_size=2 * 1024 ** 3, primary_storage=emu.PS_NFS,
            l3_networks=[emu.L3_PROD])


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator)


def convert(zstack, **args):
    return run(zstack_v2v_convert.main, zstack, **dict(BASE, **args))


def test_given_resource_uuid_is_the_long_job_and_every_parameter_reaches_zstack(zstack):
    job_uuid = "0123456789ab4def8123456789abcdef"
    result, code = convert(zstack, resource_uuid=job_uuid, description="from vCenter", zone=emu.ZONE,
                           cluster=emu.CLUSTER, host=emu.HOST_1, conversion_host=emu.CONVERSION_HOST,
                           default_l3_network=emu.L3_PROD, platform="Linux", vm_type="UserVm",
                           strategy="InstantStart", convert_strategy="EfficiencyFirst", pause_vm=True,
                           long_job_name="v2v-imported-02", long_job_description="d", system_tags=["a::b"])
    assert code == 0 and result["job_uuid"] == job_uuid == result["long_job"]["uuid"]
    assert result["vm"]["state"] == "Running" and result["vm"]["hostUuid"] == emu.HOST_1
    body = [e for e in zstack.admin.mutations() if e["path"] == "/zstack/v1/v2vs"][0]["body"]
    assert body["params"]["convertStrategy"] == "EfficiencyFirst" and body["params"]["pauseVm"] is True
    assert body["params"]["type"] == "UserVm" and body["params"]["resourceUuid"] == job_uuid
    assert body["systemTags"] == ["a::b"] and body["userTags"] == []


def test_derived_job_uuid_and_adoption_of_an_existing_vm_without_job(zstack):
    result, code = convert(zstack, vm="web-01")  # a VM named web-01 exists, no job: adopt it
    assert code == 0 and result["changed"] is False and result["vm_uuid"] == emu.VM_WEB
    assert result["job_uuid"] == derive_v2v_job_uuid(emu.V2V_URL, "web-01")
    assert "taken as its result" in str(result["warnings"]) and operations(zstack) == []


def test_cancel_needs_a_job_identity_and_a_succeeded_job_cannot_be_canceled(zstack):
    result, code = run(zstack_v2v_convert.main, zstack, state="canceled")
    assert code == 1 and "resource_uuid" in result["msg"]
    done, code = convert(zstack)
    result, code = convert(zstack, state="canceled")
    assert code == 1 and "already Succeeded" in result["msg"] and done["job_uuid"] in result["msg"]


def test_missing_required_parameters_for_present(zstack):
    result, code = run(zstack_v2v_convert.main, zstack, url=emu.V2V_URL, vm="x")
    assert code == 1 and "cpu_num" in result["msg"]


SYS_1001 = {"error": {"code": "SYS.1001", "description": "A message or a operation timeout", "details": "api timeout"}}


@pytest.mark.parametrize("fault", [None, {"status": 503, "body": SYS_1001}, {"status": 404, "body": "the job has been expired"}])
def test_a_lost_submit_answer_is_settled_by_the_long_job(zstack, fault):
    # SYS.1001 (the api-job timed out while the LongJob goes on) or 404: the LongJob <resourceUuid> tells.
    if fault is None:
        zstack.admin.action("config", {"api_job_timeout": 0.02, "v2v_start_delay": 0.2})
    else:
        zstack.admin.fault(method="GET", path="/api-jobs/", **fault)
    result, code = convert(zstack)
    assert code == 0 and result["changed"] and result["long_job"]["state"] == "Succeeded", result.get("msg")
    assert result["vm_uuid"] and result["vm"]["name"] == "imported-02"


def test_sys_1001_on_the_cancel_is_settled_by_the_long_job_state(zstack):
    zstack.admin.action("v2v-duration", {"seconds": 30})
    started, code = convert(zstack, wait=False)
    assert code == 0 and started["long_job"]["state"] == "Running"
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body=SYS_1001)
    result, code = convert(zstack, state="canceled")
    assert code == 0 and result["changed"] and result["long_job"]["state"] == "Canceled", result.get("msg")


def test_a_failed_submit_without_a_long_job_is_reported(zstack):
    zstack.admin.fault(method="GET", path="/api-jobs/", status=404, body="the job has been expired")  # the look for an earlier run's call
    zstack.admin.fault(method="GET", path="/api-jobs/", status=503, body=SYS_1001)  # the poll
    zstack.admin.fault(method="GET", path="/longjobs/", status=200, body={"inventories": []}, times=10)
    result, code = convert(zstack)
    assert code == 1 and result["error_code"] == "SYS.1001" and "api timeout" in result["msg"]


def test_plain_string_job_result_without_target_finds_the_vm_by_its_unique_name(zstack):
    done, code = convert(zstack)
    assert code == 0 and done["vm_uuid"]
    with zstack.emulator.lock:
        zstack.emulator.tables["longjobs"][done["job_uuid"]].update(jobResult="Succeeded", targetResourceUuid=None)
    result, code = convert(zstack)
    assert code == 0 and result["changed"] is False and result["vm_uuid"] == done["vm_uuid"]


def test_json_job_result_wins_over_target_resource_uuid(zstack):
    done, code = convert(zstack)
    with zstack.emulator.lock:  # a wrong hint: inventory.uuid in jobResult comes first
        zstack.emulator.tables["longjobs"][done["job_uuid"]]["targetResourceUuid"] = emu.VM_DB
    result, code = convert(zstack)
    assert code == 0 and result["vm_uuid"] == done["vm_uuid"]


def test_a_resource_uuid_zstack_would_reject_fails_before_any_call(zstack):
    result, code = convert(zstack, resource_uuid="0" * 32)
    assert code == 1 and "parameter 'resource_uuid'" in result["msg"] and "version 1-5" in result["msg"]
    assert operations(zstack) == []


def test_target_resource_uuid_is_tried_when_the_job_result_names_no_existing_vm(zstack):
    done, code = convert(zstack)
    with zstack.emulator.lock:  # jobResult names a VM that is gone; the VM itself was renamed since
        job = zstack.emulator.tables["longjobs"][done["job_uuid"]]
        job["jobResult"] = job["jobResult"].replace(done["vm_uuid"], "f" * 32)
        zstack.emulator.tables["vm-instances"][done["vm_uuid"]]["name"] = "renamed-02"
    result, code = convert(zstack)
    assert code == 0 and result["vm_uuid"] == done["vm_uuid"] and result["vm"]["name"] == "renamed-02"


# -- bad input: each parameter class fails naming the parameter, with zero mutating calls ----------
UNKNOWN = "0123456789ab4def8123456789abcdef"  # well formed, known to no one
BAD_INPUT = [
    ("url", dict(url="https://vc.example.com/vm-42")), ("url", dict(url="vmware://a/../b")),
    ("url", dict(url="kvm://root@h/%2e%2e/etc/shadow")), ("url", dict(url="vmware://a b")),
    ("url", dict(url="vmware://x?action=delete")), ("url", dict(url="vmware://x\u202e")),
    ("vm", dict(vm="")), ("vm", dict(vm="x~=%")), ("vm", dict(vm="=web")), ("vm", dict(vm="a\tb")),
    ("vm", dict(vm="n" * 256)),
    ("cpu_num", dict(cpu_num=0)), ("cpu_num", dict(cpu_num=2000)), ("memory_size", dict(memory_size=0)),
    ("timeout", dict(timeout=-1)),
    ("primary_storage", dict(primary_storage="ps-none")), ("primary_storage", dict(primary_storage=UNKNOWN)),
    ("primary_storage", dict(primary_storage="ps>=1")), ("l3_networks", dict(l3_networks=["l3-prod", "x?=y"])),
    ("l3_networks", dict(l3_networks=[])), ("l3_networks", dict(l3_networks=[emu.L3_PROD, UNKNOWN])),
    ("default_l3_network", dict(default_l3_network=emu.L3_MGMT)),
    ("cluster", dict(cluster=UNKNOWN)), ("host", dict(host=UNKNOWN)), ("zone", dict(zone=UNKNOWN)),
    ("conversion_host", dict(conversion_host=UNKNOWN)), ("resource_uuid", dict(resource_uuid="0" * 32)),
    ("port", dict(port=70000)), ("access_key_secret", dict(access_key_id=None, access_key_secret="ak-secret-123456")),
    ("platform", dict(platform="BeOS")),
]


@pytest.mark.parametrize("parameter,args", BAD_INPUT, ids=["%s-%d" % (p, i) for i, (p, a) in enumerate(BAD_INPUT)])
def test_bad_input_fails_naming_the_parameter_before_any_mutating_call(zstack, parameter, args):
    result, code = convert(zstack, **args)
    assert code == 1 and result.get("changed", False) is False
    assert parameter in result["msg"], result["msg"]
    assert operations(zstack) == []


def test_unknown_references_fail_in_check_mode_too(zstack):
    args = dict(BASE)
    args["primary_storage"] = UNKNOWN
    result, code = run(zstack_v2v_convert.main, zstack, check_mode=True, **args)
    assert code == 1 and "parameter 'primary_storage': no primary storage has the uuid or name" in result["msg"]


def test_names_are_resolved_to_uuids_before_the_submit(zstack):
    dup = dict(emu.DEFAULT_SEED["l3-networks"][1], uuid="5" * 32, name="l3-prod")  # a second 'l3-prod'
    start = len(zstack.emulator.request_log)
    result, code = convert(zstack, primary_storage="ps-nfs-01", l3_networks=["l3-mgmt", emu.L3_PROD],
                           default_l3_network="l3-mgmt", cluster="cluster-kvm-1", host="host-kvm-01",
                           zone="zone-1", conversion_host="v2v-ch-01")
    assert code == 0 and result["changed"], result.get("msg")
    body = [e for e in zstack.admin.mutations() if e["path"] == "/zstack/v1/v2vs"][0]["body"]["params"]
    assert (body["primaryStorageUuid"], body["l3NetworkUuids"], body["defaultL3NetworkUuid"]) == (
        emu.PS_NFS, [emu.L3_MGMT, emu.L3_PROD], emu.L3_MGMT)
    assert (body["clusterUuid"], body["hostUuid"], body["zoneUuid"], body["conversionHostUuid"]) == (
        emu.CLUSTER, emu.HOST_1, emu.ZONE, emu.CONVERSION_HOST)
    # one query per name (and one for the uuid L3_PROD), all before the one mutating call
    log = list(zstack.emulator.request_log)[start:]
    submit = next(i for i, (dummy, method, path) in enumerate(log) if method == "POST" and path == "/zstack/v1/v2vs")
    lookups = sorted(path.rsplit("/", 1)[1] for dummy, method, path in log[:submit] if method == "GET"
                     and path.rsplit("/", 1)[1] in ("primary-storage", "l3-networks", "zones", "clusters", "hosts",
                                                    "v2v-conversion-hosts"))
    assert lookups == sorted(["primary-storage", "l3-networks", "l3-networks", "l3-networks", "zones", "clusters",
                              "hosts", "v2v-conversion-hosts"])
    assert result["references"]["host"] == {"name": "host-kvm-01", "uuid": emu.HOST_1}
    assert "LongJob" in result["msg"] and "VM imported-02 (" in result["msg"]
    zstack.reset({"accounts": [{"uuid": emu.ADMIN_ACCOUNT, "name": "admin", "password": PASSWORD}],
                  "l3-networks": emu.DEFAULT_SEED["l3-networks"] + [dup]})
    result, code = convert(zstack, l3_networks=["l3-prod"])
    assert code == 1 and "parameter 'l3_networks'" in result["msg"] and "ambiguous" in result["msg"]
    assert operations(zstack) == []


def fast_http_retries(monkeypatch):
    from ansible_collections.hybridcloud.migration.plugins.module_utils import _http
    from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff

    monkeypatch.setattr(_http, "Backoff", lambda **kwargs: Backoff(initial=0.01, factor=1.5, maximum=0.05, jitter=0))


def test_many_lost_answers_after_zstack_acted_report_the_real_outcome(zstack, monkeypatch):
    fast_http_retries(monkeypatch)
    zstack.admin.fault(method="POST", path="/v2vs", drop=True, after=True)
    zstack.admin.fault(method="GET", path="/api-jobs/", drop=True, times=8)
    result, code = convert(zstack)
    assert code == 0 and result["changed"] and result["long_job"]["state"] == "Succeeded", result.get("msg")
    assert result["vm"]["name"] == "imported-02" and operations(zstack) == [("POST", "/zstack/v1/v2vs")]


def test_answers_lost_every_time_fail_naming_the_job_and_change_nothing(zstack, monkeypatch):
    fast_http_retries(monkeypatch)
    zstack.admin.fault(method="POST", path="/v2vs", drop=True, times=50)
    result, code = convert(zstack)
    assert code == 1 and result["changed"] is False and "nothing was started" in result["msg"]
    assert result["job_uuid"] and operations(zstack) == []


def test_a_5xx_after_zstack_acted_is_not_resent(zstack):
    zstack.admin.fault(method="POST", path="/v2vs", status=500, body="java.lang.NullPointerException", after=True)
    result, code = convert(zstack)
    assert code == 0 and result["changed"] and result["long_job"]["state"] == "Succeeded", result.get("msg")
    assert operations(zstack) == [("POST", "/zstack/v1/v2vs")]


def test_a_job_that_failed_after_this_run_created_it_says_changed(zstack):
    result, code = convert(zstack, url=emu.V2V_FAILING_URL)
    assert code == 1 and result["changed"] is True and result["long_job"]["state"] == "Failed"


def test_a_submit_zstack_refused_says_nothing_changed(zstack):
    zstack.admin.fault(method="POST", path="/v2vs", status=503,
                       body={"error": {"code": "SYS.1006", "description": "An operation failed", "details": "no"}})
    result, code = run(zstack_v2v_convert.main, zstack, diff=True, **BASE)
    assert code == 1 and result["changed"] is False and result["error_code"] == "SYS.1006"
    assert result["diff"]["before"] == {} and result["diff"]["after"] == {}  # no job before, none after
