"""RestInventory.power_on against the vCenter REST emulator: starts the VM, tolerates one already on."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff
from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import RestInventory
from ansible_collections.hybridcloud.migration.plugins.module_utils.vcenter_rest import VcenterRestClient

WEB01_ON, DB01_OFF = "vm-101", "vm-102"  # power states of the emulator's default seed


@pytest.fixture(params=["api", "rest"])
def inventory(request, vcenter_rest_emulator):
    vc = vcenter_rest_emulator
    client = VcenterRestClient("127.0.0.1", vc.info["username"], vc.info["password"], port=int(vc.url.rsplit(":", 1)[1]),
                               api_family=request.param, ca_path=vc.ca_path,
                               backoff=Backoff(initial=0.01, factor=2, maximum=0.05, jitter=0))
    try:
        client.login()
        yield RestInventory(client)
    finally:
        client.close()


def power_state(vc, vm_id):
    return next(vm for vm in vc.admin.state()["vms"] if vm["id"] == vm_id)["power_state"]


def test_power_on_starts_a_powered_off_vm(inventory, vcenter_rest_emulator):
    inventory.power_on(DB01_OFF)
    assert power_state(vcenter_rest_emulator, DB01_OFF) == "POWERED_ON"


def test_power_on_of_a_running_vm_is_success(inventory, vcenter_rest_emulator):
    inventory.power_on(WEB01_ON)  # the server answers 400 ALREADY_IN_DESIRED_STATE
    (call,) = [e for e in vcenter_rest_emulator.admin.mutations() if "/power" in e["path"]]
    assert call["status"] == 400 and power_state(vcenter_rest_emulator, WEB01_ON) == "POWERED_ON"


def test_power_on_other_errors_still_raise(inventory):
    with pytest.raises(_errors.NotFoundError) as caught:
        inventory.power_on("vm-999")
    assert "power on VM on vm-999 failed" in str(caught.value) and "NOT_FOUND" in str(caught.value)
