"""Tests for the vCenter simulator launcher (tests/vcsim) and its gap-closing behaviour."""

import time

import pytest
import requests
from pyVim.connect import Disconnect
from pyVmomi import vim, vmodl

from tests.vcsim_fixtures import start_vcsim

TERMINAL = ("success", "error")


@pytest.fixture(scope="module")
def si(vcsim):
    si = vcsim.connect()
    yield si
    Disconnect(si)


@pytest.fixture(scope="module")
def slow_vcsim(tmp_path_factory):
    """A private instance with a known, longer vMotion duration (timing tests)."""
    inst = start_vcsim(tmp_path_factory.mktemp("slow"), name="slow", tls=True, vm=2, relocate_ms=1500)
    yield inst
    inst.stop()


@pytest.fixture(scope="module")
def slow_si(slow_vcsim):
    si = slow_vcsim.connect()
    yield si
    Disconnect(si)


def get_vm(si, moref):
    return vim.VirtualMachine(moref, si._stub)


def nics(vm):
    return {d.key: d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)}


def wait_tasks(si, tasks, timeout=30):
    """Wait with one PropertyCollector filter and WaitForUpdatesEx (nsx.md 6.7).

    Returns ({task moref: final state}, {task moref: [states seen]})."""
    pc = si.content.propertyCollector.CreatePropertyCollector()
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=t) for t in tasks],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(
            type=vim.Task, pathSet=["info.state", "info.error"])])
    pf = pc.CreateFilter(spec, True)
    seen = {t._moId: [] for t in tasks}
    state = {}
    version = ""
    deadline = time.monotonic() + timeout
    try:
        while len(state) < len(tasks) and time.monotonic() < deadline:
            upd = pc.WaitForUpdatesEx(version, vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=5))
            if upd is None:
                continue
            version = upd.version
            for fs in upd.filterSet:
                for oc in fs.objectSet:
                    for ch in oc.changeSet:
                        if ch.name == "info.state":
                            seen[oc.obj._moId].append(ch.val)
                            if ch.val in TERMINAL:
                                state[oc.obj._moId] = ch.val
    finally:
        pf.DestroyPropertyFilter()
        pc.DestroyPropertyCollector()
    return state, seen


def dvpg_map(si):
    """{logicalSwitchUuid: (dvpg key, dvs uuid)} in one RetrievePropertiesEx round trip (nsx.md 6.5)."""
    content = si.content
    view = content.viewManager.CreateContainerView(
        content.rootFolder, [vim.dvs.DistributedVirtualPortgroup, vim.DistributedVirtualSwitch], True)
    PC = vmodl.query.PropertyCollector
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[
            PC.TraversalSpec(name="v", type=vim.view.ContainerView, path="view", skip=False)])],
        propSet=[
            PC.PropertySpec(type=vim.dvs.DistributedVirtualPortgroup, pathSet=[
                "key", "config.backingType", "config.logicalSwitchUuid", "config.distributedVirtualSwitch"]),
            PC.PropertySpec(type=vim.DistributedVirtualSwitch, pathSet=["uuid", "config.productInfo.version"]),
        ])
    objs = []
    res = content.propertyCollector.RetrievePropertiesEx([spec], PC.RetrieveOptions())
    while res:
        objs += res.objects
        res = content.propertyCollector.ContinueRetrievePropertiesEx(res.token) if res.token else None
    view.DestroyView()
    props = [(o.obj, {p.name: p.val for p in o.propSet}) for o in objs]
    switches = {o._moId: p for o, p in props if isinstance(o, vim.DistributedVirtualSwitch)}
    out = {}
    for o, p in props:
        if isinstance(o, vim.dvs.DistributedVirtualPortgroup) and p.get("config.backingType") == "nsx" \
                and p.get("config.logicalSwitchUuid"):
            out[p["config.logicalSwitchUuid"]] = (p["key"], switches[p["config.distributedVirtualSwitch"]._moId]["uuid"])
    return out, switches


def nic_edit(device, backing, external_id):
    device.backing = backing
    device.externalId = external_id
    return vim.vm.device.VirtualDeviceSpec(operation="edit", device=device)


def dvpg_backing(key, switch_uuid):
    return vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
        port=vim.dvs.PortConnection(portgroupKey=key, switchUuid=switch_uuid))


def opaque_backing(ls_id):
    return vim.vm.device.VirtualEthernetCard.OpaqueNetworkBackingInfo(
        opaqueNetworkId=ls_id, opaqueNetworkType="nsx.LogicalSwitch")


# --- inventory -------------------------------------------------------------------------

def test_about_reports_configured_identity(vcsim, si):
    about = si.content.about
    assert about.instanceUuid == vcsim.instance_uuid
    assert about.apiVersion == vcsim.info["api_version"] == "7.0.3.0"
    assert vcsim.url.startswith("https://127.0.0.1:") and vcsim.url.endswith("/sdk")
    assert len(vcsim.thumbprint.split(":")) == 20


def test_find_by_uuid_honours_instance_uuid_keyword(vcsim, si):
    vm = vcsim.info["vms"][0]
    assert vm["bios_uuid"] != vm["instance_uuid"]
    idx = si.content.searchIndex
    found = idx.FindByUuid(datacenter=None, uuid=vm["instance_uuid"], vmSearch=True, instanceUuid=True)
    assert found._moId == vm["moref"]
    # Without the keyword vCenter searches BIOS UUIDs: the instance UUID is not found ...
    assert idx.FindByUuid(datacenter=None, uuid=vm["instance_uuid"], vmSearch=True) is None
    # ... and the BIOS UUID is.
    assert idx.FindByUuid(datacenter=None, uuid=vm["bios_uuid"], vmSearch=True)._moId == vm["moref"]
    assert found.config.instanceUuid == vm["instance_uuid"] and found.config.uuid == vm["bios_uuid"]


def test_info_lists_inventory(vcsim):
    info = vcsim.info
    assert len(info["vms"]) == 6  # 1 DC x 1 cluster x 3 hosts x 2 VMs
    assert all(len(v["nics"]) == 2 and [n["key"] for n in v["nics"]] == [4000, 4001] for v in info["vms"])
    assert len({v["instance_uuid"] for v in info["vms"]}) == 6
    assert len(info["nsx_dvpgs"]) == 2 and len(info["opaque_networks"]) == 2
    assert info["vm_folder"] and info["resource_pools"] and info["datastores"] and info["hosts"]


def test_nsx_dvpgs_have_backing_type_and_logical_switch(vcsim, si):
    mapping, switches = dvpg_map(si)
    assert {k: v[0] for k, v in mapping.items()} == {ls: key for key, ls in vcsim.info["nsx_dvpgs"].items()}
    assert {v[1] for v in mapping.values()} == {vcsim.info["dvs"][0]["uuid"]}
    assert [s["config.productInfo.version"] for s in switches.values()] == ["7.0.0"]
    pg = vim.dvs.DistributedVirtualPortgroup(next(iter(vcsim.info["nsx_dvpgs"])), si._stub)
    assert pg.config.backingType == "nsx" and pg.config.logicalSwitchUuid


def test_opaque_networks(vcsim, si):
    for net in vcsim.info["opaque_networks"]:
        obj = vim.OpaqueNetwork(net["moref"], si._stub)
        assert obj.summary.opaqueNetworkId == net["id"]
        assert obj.summary.opaqueNetworkType == "nsx.LogicalSwitch"


def test_rest_session_login(vcsim):
    r = requests.post(vcsim.rest_url + "/com/vmware/cis/session",
                      auth=(vcsim.username, vcsim.password), verify=vcsim.cert_path, timeout=10)
    assert r.status_code == 200
    assert isinstance(r.json()["value"], str) and r.json()["value"]


# --- relocation --------------------------------------------------------------------------

def test_relocate_applies_device_change(vcsim, si):
    info = vcsim.info
    v = info["vms"][0]
    vm = get_vm(si, v["moref"])
    key, ls_dvpg = next(iter(info["nsx_dvpgs"].items()))
    ls_opaque = info["opaque_networks"][0]["id"]
    dvs_uuid = info["dvs"][0]["uuid"]
    devs = nics(vm)
    vif0, vif1 = f"{v['instance_uuid']}:4000", f"{v['instance_uuid']}:4001"
    spec = vim.vm.RelocateSpec(deviceChange=[
        nic_edit(devs[4000], dvpg_backing(key, dvs_uuid), vif0),
        nic_edit(devs[4001], opaque_backing(ls_opaque), vif1),
    ])
    task = vm.RelocateVM_Task(spec=spec, priority="highPriority")
    state = wait_tasks(si, [task])[0]
    assert state == {task._moId: "success"}
    after = nics(vm)
    b0, b1 = after[4000].backing, after[4001].backing
    assert isinstance(b0, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo)
    assert (b0.port.portgroupKey, b0.port.switchUuid) == (key, dvs_uuid)
    assert isinstance(b1, vim.vm.device.VirtualEthernetCard.OpaqueNetworkBackingInfo)
    assert b1.opaqueNetworkId == ls_opaque
    assert (after[4000].externalId, after[4001].externalId) == (vif0, vif1)
    nets = {n._moId for n in vm.network}
    assert key in nets and info["opaque_networks"][0]["moref"] in nets


def test_relocate_honours_host_and_rejects_unknown(vcsim, si):
    v = vcsim.info["vms"][1]
    vm = get_vm(si, v["moref"])
    other = next(h["moref"] for h in vcsim.info["hosts"] if h["moref"] != v["host"])
    pool = vim.ResourcePool(v["resource_pool"], si._stub)
    task = vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=vim.HostSystem(other, si._stub), pool=pool))
    assert wait_tasks(si, [task])[0] == {task._moId: "success"}
    assert vm.runtime.host._moId == other
    assert vm in vim.HostSystem(other, si._stub).vm
    assert vm not in vim.HostSystem(v["host"], si._stub).vm

    bad = vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=vim.HostSystem("host-999", si._stub)))
    assert wait_tasks(si, [bad])[0] == {bad._moId: "error"}
    assert isinstance(bad.info.error, vmodl.fault.ManagedObjectNotFound)

    bad_pg = vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(deviceChange=[
        nic_edit(nics(vm)[4000], dvpg_backing("dvportgroup-999", vcsim.info["dvs"][0]["uuid"]), "x")]))
    assert wait_tasks(si, [bad_pg])[0] == {bad_pg._moId: "error"}
    assert nics(vm)[4000].backing.port.portgroupKey != "dvportgroup-999"


def test_relocate_task_runs_for_configured_duration(slow_vcsim, slow_si):
    vm = get_vm(slow_si, slow_vcsim.info["vms"][0]["moref"])
    t0 = time.monotonic()
    task = vm.RelocateVM_Task(spec=vim.vm.RelocateSpec())
    time.sleep(0.3)
    assert task.info.state == "running"
    state, seen = wait_tasks(slow_si, [task])
    elapsed = time.monotonic() - t0
    assert state == {task._moId: "success"}
    assert seen[task._moId][0] == "running" and seen[task._moId][-1] == "success"
    assert 1.4 <= elapsed < 2.5, elapsed


def launcher(inst, path, body=None):
    url = inst.url.replace("/sdk", path)
    if body is None:
        return requests.get(url, verify=inst.cert_path, timeout=10).json()
    return requests.post(url, json=body, verify=inst.cert_path, timeout=10)


def test_relocation_is_listed_on_the_vm_and_in_the_task_list(slow_vcsim, slow_si):
    """vSphere's task name/descriptionId; the VM's recentTask lists it while it runs; /_launcher/tasks lists all."""
    moref = slow_vcsim.info["vms"][1]["moref"]
    vm = get_vm(slow_si, moref)
    before = len(launcher(slow_vcsim, "/_launcher/tasks"))
    task = vm.RelocateVM_Task(spec=vim.vm.RelocateSpec())
    assert task.info.descriptionId == "VirtualMachine.relocate"
    assert [t._moId for t in vm.recentTask] == [task._moId]
    listed = launcher(slow_vcsim, "/_launcher/tasks")
    assert len(listed) == before + 1
    assert listed[-1]["task"] == task._moId and listed[-1]["vm"] == moref and listed[-1]["state"] == "running"
    assert listed[-1]["name"] == "RelocateVM_Task" and listed[-1]["vm_name"] == slow_vcsim.info["vms"][1]["name"]
    wait_tasks(slow_si, [task])
    assert vm.recentTask == [] and launcher(slow_vcsim, "/_launcher/tasks")[-1]["state"] == "success"


def test_dropped_answer_leaves_the_relocation_running(slow_vcsim):
    """The fault drops the HTTP answer after the task started: the client sees a lost connection,
    and another session (a re-run) finds the task running on the VM."""
    import http.client
    moref = slow_vcsim.info["vms"][0]["moref"]
    assert launcher(slow_vcsim, "/_launcher/fault", {"drop_relocate_answers": 1}).status_code == 204
    first = slow_vcsim.connect()
    try:
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            get_vm(first, moref).RelocateVM_Task(spec=vim.vm.RelocateSpec())
    finally:
        Disconnect(first)
    other = slow_vcsim.connect()
    try:
        (task,) = get_vm(other, moref).recentTask
        assert task.info.state == "running" and task.info.entity._moId == moref
        assert launcher(slow_vcsim, "/_launcher/tasks")[-1]["task"] == task._moId
        assert wait_tasks(other, [task])[0] == {task._moId: "success"}
        # Only one answer was dropped.
        task2 = get_vm(other, moref).RelocateVM_Task(spec=vim.vm.RelocateSpec())
        assert task2.info.state == "running"
        wait_tasks(other, [task2])
    finally:
        Disconnect(other)


def test_launcher_control_rejects_a_bad_fault(slow_vcsim):
    assert launcher(slow_vcsim, "/_launcher/fault", {"drop_relocate_answers": "x"}).status_code == 400
    assert launcher(slow_vcsim, "/_launcher/fault", {"call": {"method": "SetField"}}).status_code == 400  # no count


def test_call_fault_drops_answers_before_or_after_the_call_ran(vcsim, si):
    """{"call": {...}}: the next COUNT calls of METHOD (after SKIP) lose their answer; with "after" the
    simulator ran them first (the server acted), without it they never ran."""
    import http.client
    vm = get_vm(si, vcsim.info["vms"][0]["moref"])
    manager = si.content.customFieldsManager
    key = manager.AddCustomFieldDef(name="launcher-fault-test", moType=vim.VirtualMachine).key
    for after, value in ((False, "before"), (True, "after")):
        body = {"call": {"method": "SetField", "count": 1, "drop": True, "after": after}}
        assert launcher(vcsim, "/_launcher/fault", body).status_code == 204
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            manager.SetField(entity=vm, key=key, value=value)
        values = [v.value for v in vm.customValue if v.key == key]
        assert (value in values) is after, values
    manager.SetField(entity=vm, key=key, value="again")  # one answer each: this one comes back
    assert [v.value for v in vm.customValue if v.key == key][-1] == "again"


def test_parallel_relocations_take_one_duration(slow_vcsim, slow_si):
    vms = [get_vm(slow_si, v["moref"]) for v in slow_vcsim.info["vms"][:4]]
    t0 = time.monotonic()
    tasks = [vm.RelocateVM_Task(spec=vim.vm.RelocateSpec()) for vm in vms]
    submitted = time.monotonic() - t0
    states = [t.info.state for t in tasks]
    state = wait_tasks(slow_si, tasks)[0]
    elapsed = time.monotonic() - t0
    assert submitted < 1.0 and states == ["running"] * 4
    assert set(state.values()) == {"success"} and len(state) == 4
    assert elapsed < 1.5 + 1.2, elapsed  # four sequential runs would need 6 s


def test_wait_for_updates_ex_times_out_with_none(si):
    pc = si.content.propertyCollector.CreatePropertyCollector()
    try:
        PC = vmodl.query.PropertyCollector
        pc.CreateFilter(PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=si.content.rootFolder)],
            propSet=[PC.PropertySpec(type=vim.Folder, pathSet=["name"])]), True)
        first = pc.WaitForUpdatesEx("", PC.WaitOptions(maxWaitSeconds=1))
        assert first is not None
        t0 = time.monotonic()
        assert pc.WaitForUpdatesEx(first.version, PC.WaitOptions(maxWaitSeconds=1)) is None
        assert 0.8 < time.monotonic() - t0 < 3
    finally:
        pc.DestroyPropertyCollector()


# --- two vCenters --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pair_si(vcsim_pair):
    src, dst = vcsim_pair.source.connect(), vcsim_pair.target.connect()
    yield src, dst
    Disconnect(src)
    Disconnect(dst)


def test_two_instances_have_distinct_identities(vcsim_pair, pair_si):
    src, dst = pair_si
    assert src.content.about.instanceUuid == vcsim_pair.source.instance_uuid
    assert dst.content.about.instanceUuid == vcsim_pair.target.instance_uuid
    assert vcsim_pair.source.instance_uuid != vcsim_pair.target.instance_uuid
    assert vcsim_pair.source.thumbprint != vcsim_pair.target.thumbprint
    v = vcsim_pair.source.info["vms"][0]
    idx = src.content.searchIndex
    assert idx.FindByUuid(datacenter=None, uuid=v["instance_uuid"], vmSearch=True, instanceUuid=True)._moId == v["moref"]
    assert dst.content.searchIndex.FindByUuid(
        datacenter=None, uuid=v["instance_uuid"], vmSearch=True, instanceUuid=True) is None
    assert vcsim_pair.target.info["dvs"][0]["version"] == "7.0.0"
    assert len(vcsim_pair.target.info["nsx_dvpgs"]) == 3 and len(vcsim_pair.target.info["opaque_networks"]) == 2
    assert vcsim_pair.source.info["dvs"][0]["uuid"] != vcsim_pair.target.info["dvs"][0]["uuid"]


def cross_spec(pair, dst_si, thumbprint, devices):
    t = pair.target.info
    cluster = t["clusters"][0]
    return vim.vm.RelocateSpec(
        host=vim.HostSystem(cluster["hosts"][0], dst_si._stub),
        pool=vim.ResourcePool(cluster["resource_pool"], dst_si._stub),
        datastore=vim.Datastore(t["datastores"][0]["moref"], dst_si._stub),
        folder=vim.Folder(t["vm_folder"], dst_si._stub),
        deviceChange=devices,
        service=vim.ServiceLocator(
            instanceUuid=pair.target.instance_uuid, url=pair.target.url, sslThumbprint=thumbprint,
            credential=vim.ServiceLocator.NamePassword(username=pair.target.username, password=pair.target.password)))


def test_cross_vcenter_relocation_moves_vm_to_target(vcsim_pair, pair_si):
    src, dst = pair_si
    v = vcsim_pair.source.info["vms"][2]
    vm = get_vm(src, v["moref"])
    mapping = dvpg_map(dst)[0]
    ls, (key, dvs_uuid) = sorted(mapping.items())[0]
    opaque = vcsim_pair.target.info["opaque_networks"][0]["id"]
    devs = nics(vm)
    devices = [nic_edit(devs[4000], dvpg_backing(key, dvs_uuid), f"{v['instance_uuid']}:4000"),
               nic_edit(devs[4001], opaque_backing(opaque), f"{v['instance_uuid']}:4001")]

    # A wrong thumbprint fails with SSLVerifyFault carrying the real one; the VM stays.
    bad = vm.RelocateVM_Task(spec=cross_spec(vcsim_pair, dst, "00:" * 19 + "00", devices))
    assert wait_tasks(src, [bad])[0] == {bad._moId: "error"}
    assert isinstance(bad.info.error, vim.fault.SSLVerifyFault)
    assert bad.info.error.thumbprint == vcsim_pair.target.thumbprint

    # Lower-case thumbprint (community.vmware style) is accepted.
    task = vm.RelocateVM_Task(spec=cross_spec(vcsim_pair, dst, vcsim_pair.target.thumbprint.lower(), devices),
                              priority="highPriority")
    assert task.info.state == "running"
    assert wait_tasks(src, [task])[0] == {task._moId: "success"}

    idx = dst.content.searchIndex
    moved = idx.FindByUuid(datacenter=None, uuid=v["instance_uuid"], vmSearch=True, instanceUuid=True)
    assert moved is not None and moved.name == v["name"] and moved.config.uuid == v["bios_uuid"]
    after = nics(moved)
    assert after[4000].backing.port.portgroupKey == key and after[4000].externalId == f"{v['instance_uuid']}:4000"
    assert after[4001].backing.opaqueNetworkId == opaque
    assert moved.runtime.powerState == "poweredOn"
    assert moved.runtime.host._moId == vcsim_pair.target.info["clusters"][0]["hosts"][0]
    assert src.content.searchIndex.FindByUuid(
        datacenter=None, uuid=v["instance_uuid"], vmSearch=True, instanceUuid=True) is None


def test_cross_vcenter_keep_source_marks_vm(tmp_path):
    source = start_vcsim(tmp_path, wait=False, name="src", tls=True, host=1, vm=1, relocate_ms=200,
                         xvc_keep_source=True)
    target = start_vcsim(tmp_path, wait=False, name="dst", tls=True, host=1, vm=0, nsx_segments=1)
    with source.wait_ready(), target.wait_ready():
        src, dst = source.connect(), target.connect()
        try:
            v = source.info["vms"][0]
            vm = get_vm(src, v["moref"])
            key = next(iter(target.info["nsx_dvpgs"]))
            pair = type("P", (), {"source": source, "target": target})
            devices = [nic_edit(nics(vm)[4000], dvpg_backing(key, target.info["dvs"][0]["uuid"]), "vif")]
            task = vm.RelocateVM_Task(spec=cross_spec(pair, dst, target.thumbprint, devices))
            assert wait_tasks(src, [task])[0] == {task._moId: "success"}
            assert vm.config.annotation == f"relocated-to={target.instance_uuid}"
            moved = dst.content.searchIndex.FindByUuid(
                datacenter=None, uuid=v["instance_uuid"], vmSearch=True, instanceUuid=True)
            extra = {o.key: o.value for o in moved.config.extraConfig}
            assert extra["vcsim.relocatedFrom"] == source.instance_uuid
        finally:
            Disconnect(src)
            Disconnect(dst)
