"""vcenter_ovf_deploy and vcenter_ovf_capture in-process against the vCenter REST emulator (REST lookups)."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import vcenter_ovf_capture, vcenter_ovf_deploy
from tests.unit.module_runner import run_module


def connection(handle, **extra):
    info = handle.info
    return dict(extra, hostname="127.0.0.1", port=int(handle.url.rsplit(":", 1)[1]), username=info["username"],
                password=info["password"], ca_cert=handle.ca_path, inventory_lookup="rest")


@pytest.fixture(autouse=True)
def fast_deploys(vcenter_rest_emulator):
    vcenter_rest_emulator.admin.action("deploy-duration", {"seconds": 0.2})  # the contract's 2 s is too slow here


DEPLOY = dict(library="Migration Templates", item="ubuntu-22.04", vm="unit-vm", datacenter="DC-East",
              resource_pool="Migrations", accept_all_eula=True)


def ovf_mutations(handle):
    """Deploy and create calls: filter and find are POSTs that change nothing."""
    return [e for e in handle.admin.mutations() if "/ovf/" in e["path"] and "filter" not in e["query"]]


def test_check_mode_then_deploy_then_unchanged_with_diff(vcenter_rest_emulator):
    vc = vcenter_rest_emulator
    result, code = run_module(vcenter_ovf_deploy.main, connection(vc, **DEPLOY), check_mode=True, diff=True)
    assert code == 0 and result["changed"] is True and result["vm"]["moref"] is None
    # Names beside ids, only what the deploy sets (no nulls).
    assert result["diff"] == {"before": {}, "after": {
        "vm": "unit-vm", "library_item": "ubuntu-22.04 (%s)" % result["library_item"]["id"],
        "datacenter": "DC-East (datacenter-1)", "resource_pool": "Migrations (resgroup-22)", "folder": "vm (group-v3)"}}
    assert result["library_item"]["library_name"] == "Migration Templates"
    assert ovf_mutations(vc) == []
    result, code = run_module(vcenter_ovf_deploy.main, connection(vc, **DEPLOY))
    assert code == 0 and result["changed"] is True and result["vm"]["moref"].startswith("vm-")
    vc.admin.clear_journal()
    again = run_module(vcenter_ovf_deploy.main, connection(vc, **DEPLOY))[0]
    assert again["changed"] is False and again["vm"]["moref"] == result["vm"]["moref"] and ovf_mutations(vc) == []


@pytest.mark.parametrize("extra, message", [
    (dict(network_mappings={"VM Network": ""}), "parameter 'network_mappings' maps 'VM Network'"),
    (dict(ovf_properties={"hostname": {"a": 1}}), "parameter 'ovf_properties' sets 'hostname' to a dict"),
    (dict(timeout=0), "parameter 'timeout' must be at least 1, got 0"),
    (dict(vm=" "), "parameter 'vm' must be a non-empty VM name"),
    (dict(resource_pool="Nope"), "no resource pool 'Nope'"),
])
def test_bad_input_fails_before_any_change(vcenter_rest_emulator, extra, message):
    result, code = run_module(vcenter_ovf_deploy.main, connection(vcenter_rest_emulator, **dict(DEPLOY, **extra)))
    assert code == 1 and message in result["msg"], result
    assert ovf_mutations(vcenter_rest_emulator) == []


def test_missing_hostname_is_a_parameter_error(vcenter_rest_emulator, monkeypatch):
    monkeypatch.delenv("VMWARE_HOST", raising=False)
    args = connection(vcenter_rest_emulator, **DEPLOY)
    del args["hostname"]
    result, code = run_module(vcenter_ovf_deploy.main, args)
    assert code == 1 and "missing required arguments: hostname" in result["msg"]


def test_env_fallback_for_the_connection(vcenter_rest_emulator, monkeypatch):
    args = connection(vcenter_rest_emulator, **DEPLOY)
    monkeypatch.setenv("VMWARE_HOST", args.pop("hostname"))
    monkeypatch.setenv("VMWARE_PASSWORD", args.pop("password"))
    result, code = run_module(vcenter_ovf_deploy.main, args, check_mode=True)
    assert code == 0 and result["changed"] is True


def power_calls(handle):
    return [e for e in handle.admin.mutations() if "/power" in e["path"]]


@pytest.mark.parametrize("family, path", [("api", "/api/vcenter/vm/%s/power"),
                                          ("rest", "/rest/vcenter/vm/%s/power/start")])
def test_power_on_via_rest_then_rerun_leaves_it(vcenter_rest_emulator, family, path):
    vc = vcenter_rest_emulator
    args = connection(vc, power_on=True, api_family=family, **DEPLOY)
    result, code = run_module(vcenter_ovf_deploy.main, args)
    vm_id = result["vm"]["moref"]
    assert code == 0 and result["changed"] is True and result["powered_on"] is True, result
    assert [(e["path"], e["status"]) for e in power_calls(vc)] == [(path % vm_id, 204 if family == "api" else 200)]
    assert next(vm for vm in vc.admin.state()["vms"] if vm["id"] == vm_id)["power_state"] == "POWERED_ON"
    vc.admin.clear_journal()
    again, code = run_module(vcenter_ovf_deploy.main, args)
    assert code == 0 and again["changed"] is False and again["vm"]["moref"] == vm_id and power_calls(vc) == []


def test_capture_then_unchanged(vcenter_rest_emulator):
    vc = vcenter_rest_emulator
    args = connection(vc, vm="db01", library="Golden Images", item="db01-tpl")
    result, code = run_module(vcenter_ovf_capture.main, args, check_mode=True)
    assert code == 0 and result["changed"] is True and ovf_mutations(vc) == []
    result, code = run_module(vcenter_ovf_capture.main, args)
    assert code == 0 and result["changed"] is True and result["vm"] == {"name": "db01", "moref": "vm-102"} and result["library_item"]["id"]
    again = run_module(vcenter_ovf_capture.main, args)[0]
    assert again["changed"] is False and again["library_item"]["id"] == result["library_item"]["id"]
    bad, code = run_module(vcenter_ovf_capture.main, dict(args, timeout=-1))
    assert code == 1 and "parameter 'timeout'" in bad["msg"]


def test_default_inventory_lookup_needs_no_soap_on_the_api_family(vcenter_rest_emulator):
    """An /api server (an emulator of the document has no SOAP /sdk) resolves names over REST by default."""
    args = connection(vcenter_rest_emulator, **DEPLOY)
    del args["inventory_lookup"]
    result, code = run_module(vcenter_ovf_deploy.main, args, check_mode=True)
    assert code == 0 and result["changed"] is True and result["api_family"] == "api", result
    assert result["resolved"]["resource_pool"] == {"id": "resgroup-22", "name": "Migrations"}


def test_powering_on_an_adopted_vm_diffs_only_the_power_state(vcenter_rest_emulator):
    """db01 (vm-102) is in Migrated and off: adopting it with power_on changes only its power state."""
    vc = vcenter_rest_emulator
    args = connection(vc, **{**DEPLOY, "vm": "db01", "folder": "Migrated", "power_on": True})
    result, code = run_module(vcenter_ovf_deploy.main, args, check_mode=True, diff=True)
    assert code == 0 and result["changed"] is True and result["outcome"] == "adopted", result
    assert result["diff"] == {"before": {"power_state": "POWERED_OFF"}, "after": {"power_state": "POWERED_ON"},
                              "before_header": "VM db01 (vm-102) in folder Migrated (group-v40)",
                              "after_header": "VM db01 (vm-102) in folder Migrated (group-v40)"}
    assert power_calls(vc) == []
