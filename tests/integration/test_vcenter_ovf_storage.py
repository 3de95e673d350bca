"""vcenter_ovf_deploy's whole deployment_spec: storage_profile, storage_mappings, flags, locale and the default
datastore, through ansible-playbook against the vCenter REST emulator (the vcsim path is in test_vcenter_ovf_deploy)."""

import pytest

MODULE = "hybridcloud.migration.vcenter_ovf_deploy"
SQL = "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e"  # Migration Templates / sql-appliance: storage groups sql-data, sql-logs
VSAN = "aa6d5a82-1c88-45da-85d3-3d74b91a5bad"
GOLD = "c4f1e9a0-7b2d-4e8f-9a61-5d3c2b1a0f9e"
BASE = dict(library="Migration Templates", item="sql-appliance", vm="sql01", datacenter="DC-East", cluster="Prod",
            folder="Migrated", accept_all_eula=True)
STORAGE = dict(datastore="east-vsan", storage_profile="vSAN Default Storage Policy", flags=["LAX"], locale="de_DE",
               storage_mappings=[{"storage_group": "sql-data", "storage_profile": "Gold"},
                                 {"storage_group": "sql-logs", "datastore": "east-nfs01", "provisioning": "thin"}])


def merged(base, **changes):
    """BASE with CHANGES applied (a new dict)."""
    return {**base, **changes}


@pytest.fixture
def vc(vcenter_rest_emulator):
    vcenter_rest_emulator.admin.action("deploy-duration", {"seconds": 0.2})
    return vcenter_rest_emulator


def defaults(vc, **extra):
    return {"group/hybridcloud.migration.vmware": dict(
        hostname="127.0.0.1", port=vc.running.port, username=vc.info["username"], password=vc.info["password"],
        ca_cert=vc.ca_path, inventory_lookup="rest", **extra)}


def task(title, check=False, **args):
    entry = {"name": title, MODULE: {k: v for k, v in args.items() if v is not None}, "ignore_errors": True}
    if check:
        entry["check_mode"] = True
    return entry


def failed(result):
    return result.get("failed") or result["_status"] == "failed"


def changes(vc):
    """Calls that change something: find and filter are POSTs that do not; sessions are not the inventory's."""
    return [e for e in vc.admin.mutations(ignore=[r"/session"]) if not any(a in e["query"] for a in ("find", "filter"))]


def deploys(vc):
    return [e for e in vc.admin.mutations() if "/ovf/library-item" in e["path"] and "deploy" in e["query"]]


def vm_named(vc, name):
    (vm,) = [vm for vm in vc.admin.state()["vms"] if vm["name"] == name]
    return vm


@pytest.mark.parametrize("family", ["api", "rest"])
def test_whole_deployment_spec_check_deploy_rerun(vc, ansible, family):
    args = merged(BASE, **STORAGE)
    run = ansible.play([task("check", check=True, **args)], module_defaults=defaults(vc, api_family=family), diff=True)
    check = run.result("check")
    assert check["changed"] is True and changes(vc) == [], check
    # Names beside ids, in the result and in the diff; the diff shows only what the deploy sets.
    assert check["resolved"]["storage_profile"] == {"id": VSAN, "name": "vSAN Default Storage Policy"}
    assert check["resolved"]["storage_mappings"] == {
        "sql-data": {"type": "STORAGE_PROFILE", "storage_profile": {"id": GOLD, "name": "Gold"}},
        "sql-logs": {"type": "DATASTORE", "datastore": {"id": "datastore-15", "name": "east-nfs01"},
                     "provisioning": "thin"}}
    after = check["diff"]["after"]
    assert after["storage_mappings"] == {"sql-data": "storage policy Gold (%s)" % GOLD,
                                         "sql-logs": "datastore east-nfs01 (datastore-15), thin"}
    assert after["datastore"] == "east-vsan (datastore-14)" and after["flags"] == ["LAX"] and after["locale"] == "de_DE"
    run = ansible.play([task("deploy", **args), task("again", **args)], module_defaults=defaults(vc, api_family=family))
    first, again = run.result("deploy"), run.result("again")
    assert first["changed"] is True and first["outcome"] == "deployed" and first["api_family"] == family, first
    assert again["changed"] is False and again["outcome"] == "adopted", again
    assert len(deploys(vc)) == 1
    vm = vm_named(vc, "sql01")
    assert vm["storage_profile"] == VSAN and vm["default_datastore"] == "datastore-14"
    assert vm["storage_mappings"] == {
        "sql-data": {"type": "STORAGE_PROFILE", "storage_profile_id": GOLD},
        "sql-logs": {"type": "DATASTORE", "datastore_id": "datastore-15", "provisioning": "thin"}}
    assert vm["flags"] == ["LAX"] and vm["locale"] == "de_DE"
    body = deploys(vc)[0]["body"]["deployment_spec"]
    if family == "rest":  # /rest maps are key/value lists
        assert body["storage_mappings"][0]["key"] == "sql-data"
    else:
        assert set(body["storage_mappings"]) == {"sql-data", "sql-logs"}


def test_ids_work_as_well_as_names(vc, ansible):
    args = merged(BASE, storage_profile=VSAN, vm="sql02",
                  storage_mappings=[{"storage_group": "sql-data", "datastore": "datastore-15"},
                                    {"storage_group": "sql-logs", "storage_profile": GOLD}])
    run = ansible.play([task("deploy", **args)], module_defaults=defaults(vc))
    result = run.result("deploy")
    assert result["changed"] is True, result
    assert result["resolved"]["storage_mappings"]["sql-data"]["datastore"] == {"id": "datastore-15", "name": "east-nfs01"}
    assert vm_named(vc, "sql02")["storage_profile"] == VSAN


def test_a_storage_group_left_unmapped_goes_to_the_default_datastore(vc, ansible):
    args = merged(BASE, vm="sql03", datastore="east-vsan",
                  storage_mappings=[{"storage_group": "sql-data", "datastore": "east-nfs01"}])
    result = ansible.play([task("deploy", **args)], module_defaults=defaults(vc)).result("deploy")
    assert result["changed"] is True, result
    assert set(vm_named(vc, "sql03")["storage_mappings"]) == {"sql-data"}


@pytest.mark.parametrize("title, extra, message", [
    ("unknown policy", dict(storage_profile="Platinum"), "no storage policy 'Platinum'"),
    ("unknown mapped policy", dict(storage_mappings=[{"storage_group": "sql-data", "storage_profile": "Platinum"},
                                                     {"storage_group": "sql-logs", "datastore": "east-nfs01"}]),
     "parameter 'storage_mappings'"),
    ("unknown mapped datastore", dict(storage_mappings=[{"storage_group": "sql-data", "datastore": "no-such-ds"},
                                                        {"storage_group": "sql-logs", "datastore": "east-nfs01"}]),
     "no datastore 'no-such-ds'"),
    ("datastore of another datacenter", dict(storage_mappings=[
        {"storage_group": "sql-data", "datastore": "west-vmfs01"}, {"storage_group": "sql-logs", "datastore": "east-nfs01"}]),
     "parameter 'storage_mappings'"),
    ("unknown storage group", dict(storage_mappings=[{"storage_group": "sql-temp", "datastore": "east-nfs01"}]),
     "parameter 'storage_mappings' names OVF storage groups the item does not have: sql-temp"),
    ("group without a mapping", dict(storage_mappings=[{"storage_group": "sql-data", "datastore": "east-nfs01"}]),
     "parameter 'storage_mappings' leaves the item's storage groups sql-logs without a mapping"),
    ("item without groups", dict(item="ubuntu-22.04", network_mappings={"VM Network": "Backend"},
                                 storage_mappings=[{"storage_group": "sql-data", "datastore": "east-nfs01"}]),
     "parameter 'storage_mappings' maps storage groups, but the item has none"),
    ("both targets", dict(storage_mappings=[{"storage_group": "sql-data", "datastore": "east-nfs01",
                                             "storage_profile": "Gold"}]),
     "mutually exclusive: datastore|storage_profile"),
    ("no target", dict(storage_mappings=[{"storage_group": "sql-data"}]), "one of the following is required"),
    ("same group twice", dict(storage_mappings=[{"storage_group": "sql-data", "datastore": "east-nfs01"},
                                                {"storage_group": "sql-data", "datastore": "east-vsan"}]),
     "parameter 'storage_mappings' maps storage group 'sql-data' twice"),
    ("bad provisioning", dict(storage_mappings=[{"storage_group": "sql-data", "datastore": "east-nfs01",
                                                 "provisioning": "fat"}]), "provisioning"),
])
def test_bad_storage_input_fails_naming_the_parameter_before_any_call(vc, ansible, title, extra, message):
    result = ansible.play([task(title, **merged(BASE, vm="sql-bad", **extra))], module_defaults=defaults(vc)).result(title)
    assert failed(result) and message in result["msg"], result
    assert "storage_mappings" in result["msg"] or "storage_profile" in result["msg"], result
    assert changes(vc) == []


def test_unknown_policy_names_the_parameter(vc, ansible):
    result = ansible.play([task("t", **merged(BASE, vm="sql-bad", storage_profile="Platinum"))],
                          module_defaults=defaults(vc)).result("t")
    assert failed(result) and "parameter 'storage_profile'" in result["msg"] and "Gold" in result["msg"], result
    assert changes(vc) == []
