"""zstack_v2v_convert in-process against the ZStack emulator."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import derive_v2v_job_uuid
from ansible_collections.hybridcloud.migration.plugins.modules import zstack_v2v_convert
from tests.emulators import zstack as emu
from tests.unit.plugins.modules.zstack_runner import operations, prepare, run

BASE = dict(url=emu.V2V_URL, name="imported-02", cpu_num=2, memory_size=2 * 1024 ** 3, primary_storage_uuid=emu.PS_NFS,
            l3_network_uuids=[emu.L3_PROD])


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator)


def convert(zstack, **args):
    return run(zstack_v2v_convert.main, zstack, **dict(BASE, **args))


def test_given_resource_uuid_is_the_long_job_and_every_parameter_reaches_zstack(zstack):
    job_uuid = "0123456789ab4def8123456789abcdef"
    result, code = convert(zstack, resource_uuid=job_uuid, description="from vCenter", zone_uuid=emu.ZONE,
                           cluster_uuid=emu.CLUSTER, host_uuid=emu.HOST_1, conversion_host_uuid=emu.CONVERSION_HOST,
                           default_l3_network_uuid=emu.L3_PROD, platform="Linux", vm_type="UserVm",
                           strategy="InstantStart", convert_strategy="EfficiencyFirst", pause_vm=True,
                           long_job_name="v2v-imported-02", long_job_description="d", system_tags=["a::b"])
    assert code == 0 and result["job_uuid"] == job_uuid == result["long_job"]["uuid"]
    assert result["vm"]["state"] == "Running" and result["vm"]["hostUuid"] == emu.HOST_1
    body = [e for e in zstack.admin.mutations() if e["path"] == "/zstack/v1/v2vs"][0]["body"]
    assert body["params"]["convertStrategy"] == "EfficiencyFirst" and body["params"]["pauseVm"] is True
    assert body["params"]["type"] == "UserVm" and body["params"]["resourceUuid"] == job_uuid
    assert body["systemTags"] == ["a::b"] and body["userTags"] == []


def test_derived_job_uuid_and_adoption_of_an_existing_vm_without_job(zstack):
    result, code = convert(zstack, name="web-01")  # a VM named web-01 exists, no job: adopt it
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
    result, code = run(zstack_v2v_convert.main, zstack, url=emu.V2V_URL, name="x")
    assert code == 1 and "cpu_num" in result["msg"]
