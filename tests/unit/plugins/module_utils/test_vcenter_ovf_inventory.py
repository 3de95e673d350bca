"""RestInventory.start / power_state against the vCenter REST emulator: starts the VM, tolerates one already on,
reports a VM held by its deploy as busy."""

import time

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff, FakeClock
from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import (
    ALREADY, BUSY, STARTED, RestInventory, start_when_free)
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
    assert "vcenter.vm.power start on vm-999 failed" in str(caught.value) and "NOT_FOUND" in str(caught.value)


@pytest.mark.parametrize("fault", [dict(after=True, status=500, body="proxy error"), dict(after=True, drop=True)])
def test_start_whose_answer_was_lost_reads_the_power_state_back(inventory, vcenter_rest_emulator, fault):
    vcenter_rest_emulator.admin.fault(method="POST", path="/power", times=3, **fault)
    assert inventory.start(DB01_OFF) == STARTED
    assert power_state(vcenter_rest_emulator, DB01_OFF) == "POWERED_ON"
    starts = [e for e in vcenter_rest_emulator.admin.journal() if e["method"] == "POST" and "/power" in e["path"]]
    assert len(starts) == 1  # read back, never resent


def test_start_refused_with_503_before_acting_is_busy_not_failed(inventory, vcenter_rest_emulator):
    vcenter_rest_emulator.admin.fault(method="POST", path="/power", status=503,
                                      body={"error_type": "SERVICE_UNAVAILABLE", "messages": []})
    assert inventory.start(DB01_OFF) == BUSY
    assert power_state(vcenter_rest_emulator, DB01_OFF) == "POWERED_OFF"
    assert inventory.start(DB01_OFF) == STARTED


class ScriptedInventory:
    """start() answers from a script; each answer is consumed once."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.busy_reason = "Virtual machine 'vm-9' is being deployed"

    def start(self, vm_id, timeout=None):
        return self.answers.pop(0)


def test_start_when_free_waits_on_the_polling_schedule():
    clock = FakeClock()
    inventory = ScriptedInventory(BUSY, BUSY, BUSY, STARTED)
    assert start_when_free(inventory, "vm-9", 60, clock=clock) == (STARTED, 4)
    assert clock.sleeps == [0.5, 0.5, 0.5]  # PollBackoff: 0.5 s, then at most 10 % of the wait so far


def test_start_when_free_already_on_is_one_call():
    assert start_when_free(ScriptedInventory(ALREADY), "vm-9", 60, clock=FakeClock()) == (ALREADY, 1)


def test_start_when_free_gives_up_with_vcenters_reason():
    clock = FakeClock()
    with pytest.raises(_errors.WaitTimeoutError) as caught:
        start_when_free(ScriptedInventory(*[BUSY] * 100), "vm-9", 3, clock=clock)
    assert "being deployed" in caught.value.api_message and clock.current == pytest.approx(3)
    assert "after 3 s" in str(caught.value)


def test_start_when_free_timeout_zero_is_one_try():
    inventory = ScriptedInventory(BUSY, STARTED)
    with pytest.raises(_errors.WaitTimeoutError):
        start_when_free(inventory, "vm-9", 0, clock=FakeClock())
    assert inventory.answers == [STARTED]
