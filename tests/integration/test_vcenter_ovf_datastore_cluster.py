"""vcenter_ovf_deploy with datastore_cluster: a member datastore is chosen by free space (vcsim, SOAP lookups);
the REST-only lookups refuse the option naming it (the REST API lists no datastore clusters)."""

import tempfile
import time

import pytest

from tests.integration.vcsim_library import make_library
from tests.vcsim_fixtures import start_vcsim

MODULE = "hybridcloud.migration.vcenter_ovf_deploy"


def task(title, check=False, **args):
    entry = {"name": title, MODULE: args, "ignore_errors": True}
    if check:
        entry["check_mode"] = True
    return entry


def failed(result):
    return result.get("failed") or result["_status"] == "failed"


@pytest.fixture(scope="module")
def sim():
    """vcsim with three datastores, two of them in the datastore cluster 'pod-east'."""
    instance = start_vcsim(tempfile.mkdtemp(prefix="vcsim-pod-"), name="vcsim-pod", tls=True, ds=3)
    try:
        instance.library = make_library(instance)
        si = instance.connect()
        try:
            from pyVmomi import vim
            dc = si.content.rootFolder.childEntity[0]
            stores = sorted(dc.datastore, key=lambda ds: ds.name)
            pod = dc.datastoreFolder.CreateStoragePod(name="pod-east")
            task_ = pod.MoveIntoFolder_Task(stores[1:])
            while task_.info.state not in (vim.TaskInfo.State.success, vim.TaskInfo.State.error):
                time.sleep(0.1)
            assert task_.info.state == vim.TaskInfo.State.success, task_.info.error
            instance.pod = pod._moId
            instance.members = {ds._moId: ds.name for ds in stores[1:]}
        finally:
            si.content.sessionManager.Logout()
        yield instance
    finally:
        instance.stop()


def defaults(sim):
    return {MODULE: dict(hostname=sim.host, port=sim.port, username=sim.username, password=sim.password,
                         ca_cert=sim.cert_path)}


def vms_named(sim, name):
    si = sim.connect()
    try:
        from pyVmomi import vim
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        return [(vm._moId, [ds._moId for ds in vm.datastore]) for vm in view.view if vm.name == name]
    finally:
        si.content.sessionManager.Logout()


def test_member_chosen_by_free_space_check_deploy_rerun(sim, ansible):
    lib = sim.library
    args = dict(library=lib.library_name, item=lib.item_name, vm="pod-vm1", datacenter=lib.datacenter,
                cluster=lib.cluster, datastore_cluster="pod-east", accept_all_eula=True)
    run = ansible.play([task("check", check=True, **args)], module_defaults=defaults(sim), diff=True)
    check = run.result("check")
    assert check["changed"] is True and vms_named(sim, "pod-vm1") == [], check  # check mode deployed nothing
    choice = check["datastore_choice"]
    assert choice["datastore_cluster"] == {"id": sim.pod, "name": "pod-east"}
    assert choice["datastore"]["id"] in sim.members and choice["datastore"]["name"] == sim.members[choice["datastore"]["id"]]
    assert "has the most free space" in choice["reason"] and "pod-east (%s)" % sim.pod in choice["reason"]
    assert check["diff"]["after"]["datastore_choice"] == choice["reason"]
    assert check["diff"]["after"]["datastore"] == "%s (%s)" % (choice["datastore"]["name"], choice["datastore"]["id"])
    run = ansible.play([task("deploy", **args), task("again", **args)], module_defaults=defaults(sim))
    first, again = run.result("deploy"), run.result("again")
    assert first["changed"] is True and first["outcome"] == "deployed", first
    assert first["datastore_choice"]["datastore"] == choice["datastore"]  # the same pick as in check mode
    assert again["changed"] is False and again["vm"]["moref"] == first["vm"]["moref"], again
    ((vm_id, stores),) = vms_named(sim, "pod-vm1")
    assert vm_id == first["vm"]["moref"] and stores == [choice["datastore"]["id"]]


def test_wrong_cluster_name_and_conflicts_fail_naming_the_parameter(sim, ansible):
    lib = sim.library
    base = dict(library=lib.library_name, item=lib.item_name, vm="pod-bad", datacenter=lib.datacenter,
                cluster=lib.cluster, accept_all_eula=True)
    run = ansible.play([
        task("unknown", **{**base, "datastore_cluster": "pod-west"}),
        task("both", **{**base, "datastore_cluster": "pod-east", "datastore": "LocalDS_0"}),
    ], module_defaults=defaults(sim))
    unknown, both = run.result("unknown"), run.result("both")
    assert failed(unknown) and "no datastore cluster 'pod-west'" in unknown["msg"], unknown
    assert "parameter 'datastore_cluster'" in unknown["msg"] and "pod-east" in unknown["msg"]
    assert failed(both) and "mutually exclusive: datastore|datastore_cluster" in both["msg"], both
    assert vms_named(sim, "pod-bad") == []


def test_rest_lookups_refuse_datastore_cluster_before_any_change(vcenter_rest_emulator, ansible):
    vc = vcenter_rest_emulator
    args = dict(library="Migration Templates", item="ubuntu-22.04", vm="pod-rest", datacenter="DC-East",
                cluster="Prod", datastore_cluster="east-pod", accept_all_eula=True)
    connection = dict(hostname="127.0.0.1", port=vc.running.port, username=vc.info["username"],
                      password=vc.info["password"], ca_cert=vc.ca_path, inventory_lookup="rest")
    result = ansible.play([task("rest", **args)], module_defaults={MODULE: connection}).result("rest")
    assert failed(result) and "parameter 'datastore_cluster' needs inventory_lookup=soap" in result["msg"], result
    assert [e for e in vc.admin.mutations(ignore=[r"/session"]) if "find" not in e["query"]] == []


def test_bulk_picks_a_member_per_vm_to_deploy_and_rerun_keeps_them(sim, ansible):
    lib = sim.library
    args = dict(library=lib.library_name, item=lib.item_name, datacenter=lib.datacenter, cluster=lib.cluster,
                datastore_cluster="pod-east", accept_all_eula=True, parallel=2,
                vms=[{"vm": "pod-bulk-1"}, {"vm": "pod-bulk-2"}, {"vm": "pod-bulk-3", "datastore": "LocalDS_0"}])
    run = ansible.play([task("check", check=True, **args), task("deploy", **args), task("again", **args)],
                       module_defaults=defaults(sim))
    check, first, again = run.result("check"), run.result("deploy"), run.result("again")
    assert check["changed"] is True and [row["outcome"] for row in check["vms"]] == ["would_deploy"] * 3, check
    assert all(row["datastore_choice"]["datastore"]["id"] in sim.members for row in check["vms"][:2]), check["vms"]
    assert "datastore_choice" not in check["vms"][2]  # its own datastore replaces the cluster default
    assert not failed(first) and [row["outcome"] for row in first["vms"]] == ["deployed"] * 3, first
    for row in first["vms"][:2]:
        ((vm_id, stores),) = vms_named(sim, row["name"])
        assert vm_id == row["moref"] and stores == [row["datastore_choice"]["datastore"]["id"]], row
    assert again["changed"] is False and [row["outcome"] for row in again["vms"]] == ["unchanged"] * 3, again
    assert all("datastore_choice" not in row for row in again["vms"])  # nothing to place on a re-run
