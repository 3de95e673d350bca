"""RestInventory.start / power_state against the vCenter REST emulator: starts the VM, tolerates one already on,
reports a VM held by its deploy as busy."""

import time

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff
from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import (
    ALREADY, BUSY, STARTED, RestInventory)
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


def test_start_powers_on_a_powered_off_vm(inventory, vcenter_rest_emulator):
    assert inventory.power_state(DB01_OFF) == "POWERED_OFF"
    assert inventory.start(DB01_OFF) == STARTED
    assert power_state(vcenter_rest_emulator, DB01_OFF) == "POWERED_ON" == inventory.power_state(DB01_OFF)


def test_start_of_a_running_vm_is_already_on(inventory, vcenter_rest_emulator):
    assert inventory.start(WEB01_ON) == ALREADY  # the server answers 400 ALREADY_IN_DESIRED_STATE
    (call,) = [e for e in vcenter_rest_emulator.admin.mutations() if "/power" in e["path"]]
    assert call["status"] == 400 and power_state(vcenter_rest_emulator, WEB01_ON) == "POWERED_ON"


def test_start_of_a_vm_still_being_deployed_is_busy(inventory, vcenter_rest_emulator):
    emulator = vcenter_rest_emulator.emulator
    with emulator.lock:
        emulator.objects["vms"][DB01_OFF]["deploying_until"] = time.time() + 60
    assert inventory.start(DB01_OFF) == BUSY and "being deployed" in inventory.busy_reason
    assert power_state(vcenter_rest_emulator, DB01_OFF) == "POWERED_OFF"


def test_start_other_errors_still_raise(inventory):
    with pytest.raises(_errors.NotFoundError) as caught:
        inventory.start("vm-999")
    assert "power on VM on vm-999 failed" in str(caught.value) and "NOT_FOUND" in str(caught.value)
