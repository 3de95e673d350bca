"""nsx_vmgroup_execution through ansible-playbook against the NSX emulator and vcsim launchers.

Own vcsim instances (module scope) because relocations change them:
* ``vc``: one vCenter, 3 hosts x 2 VMs with 2 NICs, 2 NSX DVPGs on a 7.0.0 VDS, 2 opaque networks;
* ``pair``: source (VDS 6.6.0, 3 hosts x 1 VM) and target (3 NSX DVPGs, 2 opaque networks, VDS 7.0.0).
The NSX emulator's inventory is loaded with the vcsim VMs' instance UUIDs and NIC keys.
"""

import json
import re

import pytest

from tests.vcsim_fixtures import running_pair, start_vcsim

MODULE = "hybridcloud.migration.nsx_vmgroup_execution"
MISSING_LS = "0000aaaa-0000-4000-8000-00000000dead"
SESSION_PATHS = [r"^/api/session/"]
RELOCATE_MS = 300
VC_PASSWORD = "Vc-Secret-2026"


@pytest.fixture(scope="module")
def vc(tmp_path_factory):
    inst = start_vcsim(tmp_path_factory.mktemp("nsx-vc"), name="nsx-vc", tls=True, host=3, vm=2, nics=2,
                       nsx_segments=2, opaque=2, vds_version="7.0.0", relocate_ms=RELOCATE_MS, password=VC_PASSWORD)
    yield inst
    inst.stop()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with running_pair(tmp_path_factory.mktemp("nsx-pair"), dict(host=3, vm=1, nics=2, relocate_ms=RELOCATE_MS, password=VC_PASSWORD),
                      dict(host=2, vm=1, nsx_segments=3, opaque=2, relocate_ms=RELOCATE_MS, password=VC_PASSWORD + "-target")) as both:
        yield both


def nsx_args(nsx, auth="basic"):
    return {"nsx_hostname": nsx.url, "nsx_username": nsx.info["username"], "nsx_password": nsx.info["password"],
            "nsx_ca_cert": nsx.ca_path, "nsx_auth": auth}


def vc_args(inst, prefix=""):
    return {prefix + "hostname": inst.host, prefix + "port": inst.port, prefix + "username": inst.username,
            prefix + "password": inst.password, prefix + "ca_cert": inst.cert_path}


def segments(inst):
    """(NSX DVPG logicalSwitchUuids, opaque network ids) of a launcher."""
    dvpg = sorted(inst.info["nsx_dvpgs"].values())
    opaque = sorted(n["id"] for n in inst.info["opaque_networks"])
    return dvpg, opaque


def load_inventory(nsx, mapping):
    """mapping: {vm instance uuid: {key: ls_id}} -> the emulator's inventory."""
    nsx.admin.action("inventory", {vm: [{"vnic": str(k), "ls_id": ls} for k, ls in nics.items()]
                                   for vm, nics in mapping.items()})


def nics_of(inst, vm_name, uuid=None):
    """({key: (backing kind, portgroup key or opaque id, externalId)}, host) read from vcsim with pyVmomi."""
    from pyVmomi import vim
    si = inst.connect()
    try:
        vm = si.content.searchIndex.FindByUuid(uuid=uuid or inst.vm(vm_name)["instance_uuid"], vmSearch=True, instanceUuid=True)
        if vm is None:
            return None
        out = {}
        for dev in vm.config.hardware.device:
            if isinstance(dev, vim.vm.device.VirtualEthernetCard):
                backing = dev.backing
                if isinstance(backing, vim.vm.device.VirtualEthernetCard.OpaqueNetworkBackingInfo):
                    out[str(dev.key)] = ("opaque", backing.opaqueNetworkId, dev.externalId)
                elif isinstance(backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo):
                    out[str(dev.key)] = ("dvpg", backing.port.portgroupKey, dev.externalId)
                else:
                    out[str(dev.key)] = (type(backing).__name__, None, dev.externalId)
        return out, vm.runtime.host._moId
    finally:
        si.content.sessionManager.Logout()


def launcher_tasks(inst):
    """Every RelocateVM_Task the launcher ran: [{"task", "vm", "vm_name", "state", "error"}] (tests/vcsim README)."""
    import json
    import urllib.request
    url = inst.url.replace("/sdk", "/_launcher/tasks")
    with urllib.request.urlopen(url, context=inst.ssl_context() if inst.cert_path else None) as answer:
        return json.loads(answer.read())


def relocations(inst):
    """Number of RelocateVM_Task tasks the vCenter has run (the launcher's task list)."""
    return len(launcher_tasks(inst))


def nsx_mutations(nsx):
    return nsx.admin.mutations(ignore=SESSION_PATHS)


def dvpg_key(inst, ls_id):
    return next(key for key, ls in inst.info["nsx_dvpgs"].items() if ls == ls_id)


def test_dvpg_changed_then_unchanged(ansible, nsx_emulator, vc):
    nsx = nsx_emulator
    ls_dvpg, dummy = segments(vc)
    vm0, vm1 = vc.vm("DC0_C0_H0_VM0"), vc.vm("DC0_C0_H0_VM1")
    load_inventory(nsx, {vm0["instance_uuid"]: {4000: ls_dvpg[0], 4001: ls_dvpg[1]},
                         vm1["instance_uuid"]: {4000: ls_dvpg[0]}})
    target_host = vc.info["hosts"][2]
    task = {"name": "migrate", MODULE: dict(nsx_args(nsx), **vc_args(vc), group_id="wave-dvpg", backing="dvpg",
                                            vms=["DC0_C0_H0_VM0", vm1["instance_uuid"]],
                                            target_host=target_host["name"], parallel=2)}
    run = ansible.play([task], diff=True)
    result = run.result("migrate")
    assert run.rc == 0, run.output
    assert result["changed"] is True and result["pre_migrate"] == "sent" and result["post_migrate"] == "sent"
    assert [v["outcome"] for v in result["vms"]] == ["relocated", "relocated"]
    assert result["failed_vm_instance_ids"] == []
    nics, host = nics_of(vc, "DC0_C0_H0_VM0")
    assert host == target_host["moref"]
    assert nics["4000"] == ("dvpg", dvpg_key(vc, ls_dvpg[0]), vm0["instance_uuid"] + ":4000")
    assert nics["4001"] == ("dvpg", dvpg_key(vc, ls_dvpg[1]), vm0["instance_uuid"] + ":4001")
    nics1, dummy = nics_of(vc, "DC0_C0_H0_VM1")
    assert nics1["4000"][0] == "dvpg" and nics1["4001"] == nics_of(vc, "DC0_C0_H1_VM0")[0]["4001"]  # unmapped: untouched
    group = nsx.admin.state()["groups"]["wave-dvpg"]
    assert group["state"] == "post_migrated" and group["failed_vm_instance_ids"] == []
    # The VM given by name went to NSX by its instance UUID (resolved in vCenter).
    assert group["vm_instance_ids"] == [vm0["instance_uuid"], vm1["instance_uuid"]]
    # Names beside ids: the VM, its hosts, the NSX port groups; only what changes (no null for "unchanged").
    label = "DC0_C0_H0_VM0 (%s)" % vm0["instance_uuid"]
    pg_name = next(pg["name"] for pg in vc.info["dvpgs"] if pg["key"] == dvpg_key(vc, ls_dvpg[0]))
    assert result["diff"]["after"][label]["nics"]["4000"]["backing"] == "dvpg %s (%s)" % (pg_name, dvpg_key(vc, ls_dvpg[0]))
    assert result["diff"]["after"][label]["placement"] == {"host": "%s (%s)" % (target_host["name"], target_host["moref"])}
    assert set(result["diff"]["before"][label]["placement"]) == {"host"}
    assert "null" not in json.dumps(result["diff"]) and "None" not in str(result["diff"])
    entry = result["vms"][0]
    assert entry["name"] == "DC0_C0_H0_VM0" and entry["placement"]["after"]["host"].startswith(target_host["name"] + " (")
    assert entry["nics"][0]["after"]["name"] == pg_name

    # Second identical run: nothing to do, no mutating call anywhere.
    nsx.admin.clear_journal()
    before = relocations(vc)
    again = ansible.play([task])
    assert again.rc == 0, again.output
    assert again.result("migrate")["changed"] is False
    assert again.result("migrate")["pre_migrate"] == "skipped"
    assert [v["outcome"] for v in again.result("migrate")["vms"]] == ["unchanged", "unchanged"]
    assert nsx_mutations(nsx) == []
    assert relocations(vc) == before


def test_check_mode_then_opaque(ansible, nsx_emulator, vc):
    nsx = nsx_emulator
    dummy, ls_opaque = segments(vc)
    vm = vc.vm("DC0_C0_H1_VM0")
    load_inventory(nsx, {vm["instance_uuid"]: {4000: ls_opaque[0], 4001: ls_opaque[1]}})
    task = {"name": "migrate", MODULE: dict(nsx_args(nsx), **vc_args(vc), group_id="wave-opaque", backing="auto",
                                            vms=[vm["instance_uuid"]])}
    nsx.admin.clear_journal()
    nics_before = nics_of(vc, "DC0_C0_H1_VM0")
    tasks_before = relocations(vc)
    check = ansible.play([task], check=True, diff=True)
    result = check.result("migrate")
    assert check.rc == 0, check.output
    assert result["changed"] is True and result["pre_migrate"] == "would send"
    # The group does not exist yet: the VM will be relocated, its backings known once NSX created the group.
    assert result["vms"][0]["outcome"] == "would relocate" and result["vms"][0]["action"] == "relocate"
    assert "known once pre_migrate has created the group" in result["vms"][0]["note"]
    assert nsx_mutations(nsx) == [] and nics_of(vc, "DC0_C0_H1_VM0") == nics_before and relocations(vc) == tasks_before

    # With the group created, check mode shows the full plan and a per-vNIC diff, still without mutating.
    nsx.reset({"inventory": nsx.emulator.inventory, "groups": {"wave-opaque": {"vm_instance_ids": [vm["instance_uuid"]]}}})
    check = ansible.play([task], check=True, diff=True)
    result = check.result("migrate")
    assert result["changed"] is True and result["pre_migrate"] == "skipped" and result["post_migrate"] == "would send"
    entry = result["vms"][0]
    assert entry["outcome"] == "would relocate" and [n["after"]["type"] for n in entry["nics"]] == ["opaque", "opaque"]
    label = "DC0_C0_H1_VM0 (%s)" % vm["instance_uuid"]
    assert result["diff"]["before"][label]["nics"]["4000"]["backing"].startswith("dvpg ")
    opaque_name = next(n["name"] for n in vc.info["opaque_networks"] if n["id"] == ls_opaque[0])
    expected = {"backing": "opaque %s (%s)" % (opaque_name, ls_opaque[0]), "external_id": vm["instance_uuid"] + ":4000"}
    assert result["diff"]["after"][label]["nics"]["4000"] == expected
    assert expected["backing"] in check.output  # the diff is printed
    assert nsx_mutations(nsx) == [] and nics_of(vc, "DC0_C0_H1_VM0") == nics_before and relocations(vc) == tasks_before

    run = ansible.play([task])
    assert run.rc == 0, run.output
    # The check-mode plan and the real run agree on every VM.
    assert [v["action"] for v in run.result("migrate")["vms"]] == [v["action"] for v in result["vms"]] == ["relocate"]
    assert run.result("migrate")["vms"][0]["outcome"] == "relocated"
    nics, dummy = nics_of(vc, "DC0_C0_H1_VM0")
    assert nics == {"4000": ("opaque", ls_opaque[0], vm["instance_uuid"] + ":4000"),
                    "4001": ("opaque", ls_opaque[1], vm["instance_uuid"] + ":4001")}
    assert [(m["path"], m["query"]) for m in nsx_mutations(nsx)] == [("/api/v1/migration/vmgroup", "action=post_migrate")]


def test_partial_failure(ansible, nsx_emulator, vc):
    nsx = nsx_emulator
    ls_dvpg, dummy = segments(vc)
    good, bad = vc.vm("DC0_C0_H1_VM1"), vc.vm("DC0_C0_H2_VM0")
    load_inventory(nsx, {good["instance_uuid"]: {4000: ls_dvpg[1]},
                         bad["instance_uuid"]: {4000: ls_dvpg[0], 4001: MISSING_LS}})
    bad_nics = nics_of(vc, "DC0_C0_H2_VM0")
    ids = [good["instance_uuid"], bad["instance_uuid"]]
    run = ansible.play([{"name": "migrate", MODULE: dict(nsx_args(nsx), **vc_args(vc), group_id="wave-partial",
                                                         backing="dvpg", vms=ids)}])
    result = run.result("migrate")
    assert run.rc != 0 and result["_status"] == "failed"
    outcomes = dict((v["instance_uuid"], v) for v in result["vms"])
    assert outcomes[good["instance_uuid"]]["outcome"] == "relocated"
    assert outcomes[bad["instance_uuid"]]["outcome"] == "failed"
    assert MISSING_LS in outcomes[bad["instance_uuid"]]["error"]
    assert "1 of 2 VMs not migrated" in result["msg"] and "DC0_C0_H2_VM0 (%s)" % bad["instance_uuid"] in result["msg"]
    assert result["failed_vms"] == ["DC0_C0_H2_VM0 (%s)" % bad["instance_uuid"]]
    assert nsx.admin.state()["groups"]["wave-partial"]["failed_vm_instance_ids"] == [bad["instance_uuid"]]
    assert nics_of(vc, "DC0_C0_H2_VM0") == bad_nics  # not relocated
    assert nics_of(vc, "DC0_C0_H1_VM1")[0]["4000"][1] == dvpg_key(vc, ls_dvpg[1])


def test_nsx_faults_session_and_secrets(ansible, nsx_emulator, vc):
    nsx = nsx_emulator
    ls_dvpg, dummy = segments(vc)
    vm = vc.vm("DC0_C0_H2_VM1")
    load_inventory(nsx, {vm["instance_uuid"]: {4000: ls_dvpg[0], 4001: ls_dvpg[1]}})
    nsx.admin.action("nsx-fault", {"kind": "busy", "call": "pre_migrate", "string_code": True})
    nsx.admin.action("nsx-fault", {"kind": "unavailable", "call": "get_vm_group_execution_details"})
    nsx.admin.action("nsx-fault", {"kind": "aborted", "call": "post_migrate"})
    # The session dies while the relocation runs: post_migrate gets 403/98, logs in again, succeeds.
    nsx.admin.action("settings", {"session_timeout": RELOCATE_MS / 1000.0 * 0.5})
    run = ansible.play([{"name": "migrate", MODULE: dict(nsx_args(nsx, auth="session"), **vc_args(vc), group_id="wave-faults",
                                                         vms=[vm["instance_uuid"]])}],
                       verbosity=4)
    assert run.rc == 0, run.output
    assert run.result("migrate")["vms"][0]["outcome"] == "relocated"
    calls = [(e["path"], e["query"], e["status"]) for e in nsx.admin.journal()]
    # Injected faults were retried (the journal lists mutating calls only) ...
    assert ("/api/v1/migration/vmgroup", "action=pre_migrate", 400) in calls
    assert ("/api/v1/migration/vmgroup", "action=post_migrate", 500) in calls
    # ... and every call refused for an expired session (403) was followed by one new login.
    assert ("/api/v1/migration/vmgroup", "action=post_migrate", 403) in calls
    for index, call in enumerate(calls):
        if call[2] == 403:
            assert calls[index + 1] == ("/api/session/create", "", 200), calls
    assert calls[-1] == ("/api/session/destroy", "", 200)
    assert nsx.admin.state()["groups"]["wave-faults"]["state"] == "post_migrated"
    for secret in (nsx.info["password"], VC_PASSWORD):
        assert secret not in run.output
    assert not re.search(r"JSESSIONID=(?!\*)", run.output)
    assert not re.search(r"\b[0-9A-F]{32}\b", run.output)  # emulator session ids


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


WRONG_THUMBPRINT = ":".join(["AB"] * 20)


def bad_input_table(nsx, source, target):
    """(parameter named in the message, argument overrides) for every placement and connection option."""
    vm = source.vm("DC0_C0_H2_VM0")
    closed = free_port()
    return [
        ("target_host", {"target_cluster": None, "target_host": "no-such-host"}),
        ("target_cluster", {"target_cluster": "no-such-cluster"}),
        ("target_datastore", {"target_datastore": "no-such-datastore"}),
        ("target_datacenter", {"target_datacenter": "no-such-dc"}),
        ("target_resource_pool", {"target_resource_pool": "no-such-pool"}),
        ("target_folder", {"target_folder": "no-such-folder"}),
        ("target_vcenter_thumbprint", {"target_vcenter_thumbprint": "not-a-thumbprint"}),
        ("target_vcenter_thumbprint", {"target_vcenter_thumbprint": WRONG_THUMBPRINT}),
        ("hostname", {"port": closed}),
        ("password", {"password": "Wrong-Vc-Password-0001"}),
        ("ca_cert", {"ca_cert": nsx.ca_path}),
        ("port", {"port": 70000}),
        ("target_vcenter_hostname", {"target_vcenter_port": closed}),
        ("target_vcenter_password", {"target_vcenter_password": "Wrong-Vc-Password-0002"}),
        ("target_vcenter_ca_cert", {"target_vcenter_ca_cert": nsx.ca_path}),
        ("nsx_password", {"nsx_password": "Wrong-Nsx-Password-0003"}),
        ("nsx_port", {"nsx_port": 0}),
        ("nsx_ca_cert", {"nsx_ca_cert": source.cert_path}),
        ("nsx_hostname", {"nsx_hostname": "https://127.0.0.1:%d" % closed}),
        ("vms", {"vms": [vm["bios_uuid"]]}),
        ("vms", {"vms": ["50000000-0000-4000-8000-00000000beef"]}),
        ("vms", {"vms": ["no-such-vm"]}),
        ("vms", {"vms": [vm["name"]], "pre_migrate": False, "group_id": "wave-00"}),
        ("group_id", {"pre_migrate": False}),
        ("allow_override", {"vms": [vm["name"], "DC0_C0_H0_VM0"], "group_id": "wave-00"}),
        ("parallel", {"parallel": 0}),
        ("timeout", {"timeout": 0}),
        ("group_id", {"group_id": "bad\u202egroup"}),
    ]


def test_bad_input_table(ansible, nsx_emulator, pair):
    """Every placement and connection option wrong in turn: the failure names it, nothing is sent."""
    nsx = nsx_emulator
    source, target = pair
    ls_dvpg, dummy = segments(target)
    vm = source.vm("DC0_C0_H2_VM0")
    load_inventory(nsx, {vm["instance_uuid"]: {4000: ls_dvpg[0], 4001: ls_dvpg[1]}})
    base = dict(nsx_args(nsx), **vc_args(source), **vc_args(target, "target_vcenter_"), group_id="wave-bad",
                target_cluster="DC0_C0", target_datastore="LocalDS_0", vms=[vm["instance_uuid"]])
    table = bad_input_table(nsx, source, target)
    tasks = []
    for index, (dummy, overrides) in enumerate(table):
        args = dict(base, **overrides)
        tasks.append({"name": "bad-%d" % index, MODULE: dict((k, v) for k, v in args.items() if v is not None),
                      "ignore_errors": True})
    nsx.admin.clear_journal()
    run = ansible.play(tasks)
    for index, (parameter, overrides) in enumerate(table):
        result = run.result("bad-%d" % index)
        assert result["_status"] == "failed", (parameter, result)
        assert "parameter '%s'" % parameter in result["msg"], (parameter, overrides, result["msg"])
    assert "BIOS UUID" in run.result("bad-%d" % [i for i, row in enumerate(table) if "vms" in row[1]][0])["msg"]
    unknown = [i for i, row in enumerate(table) if row[1].get("vms") == ["no-such-vm"]][0]
    assert "'no-such-vm', which is the name or instance UUID of no VM" in run.result("bad-%d" % unknown)["msg"]
    assert nsx_mutations(nsx) == []
    assert relocations(source) == 0 and relocations(target) == 0
    assert "Wrong-Vc-Password" not in run.output and "Wrong-Nsx-Password" not in run.output
    assert nsx.admin.state()["groups"].get("wave-bad") is None


def test_unknown_group(ansible, nsx_emulator, vc):
    run = ansible.play([{"name": "unknown", MODULE: dict(nsx_args(nsx_emulator), **vc_args(vc), group_id="nope")}])
    assert "'nope', which NSX does not know" in run.result("unknown")["msg"]
    assert nsx_mutations(nsx_emulator) == []


def test_cross_vcenter(ansible, nsx_emulator, pair):
    nsx = nsx_emulator
    source, target = pair
    ls_dvpg, ls_opaque = segments(target)
    vms = [source.vm("DC0_C0_H0_VM0"), source.vm("DC0_C0_H1_VM0")]
    load_inventory(nsx, {vms[0]["instance_uuid"]: {4000: ls_dvpg[0], 4001: ls_dvpg[2]},
                         vms[1]["instance_uuid"]: {4000: ls_opaque[0], 4001: ls_dvpg[1]}})
    task = {"name": "xvc", MODULE: dict(nsx_args(nsx), **vc_args(source), **vc_args(target, "target_vcenter_"),
                                        group_id="wave-xvc", target_cluster="DC0_C0", target_datastore="LocalDS_0",
                                        vms=[v["instance_uuid"] for v in vms])}
    check = ansible.play([task], check=True)
    assert check.rc == 0, check.output
    assert [v["outcome"] for v in check.result("xvc")["vms"]] == ["would relocate", "would relocate"]
    assert nsx_mutations(nsx) == [] and relocations(source) == 0
    run = ansible.play([task])
    assert run.rc == 0, run.output
    assert [v["outcome"] for v in run.result("xvc")["vms"]] == ["relocated", "relocated"]
    assert [v["action"] for v in run.result("xvc")["vms"]] == [v["action"] for v in check.result("xvc")["vms"]]
    assert nics_of(source, "DC0_C0_H0_VM0") is None  # gone from the source
    nics, host = nics_of(target, None, vms[0]["instance_uuid"])
    assert nics["4000"] == ("dvpg", dvpg_key(target, ls_dvpg[0]), vms[0]["instance_uuid"] + ":4000")
    assert nics["4001"] == ("dvpg", dvpg_key(target, ls_dvpg[2]), vms[0]["instance_uuid"] + ":4001")
    assert host in [h["moref"] for h in target.info["hosts"]]
    nics, dummy = nics_of(target, None, vms[1]["instance_uuid"])
    assert nics["4000"] == ("opaque", ls_opaque[0], vms[1]["instance_uuid"] + ":4000")
    assert nics["4001"] == ("dvpg", dvpg_key(target, ls_dvpg[1]), vms[1]["instance_uuid"] + ":4001")

    nsx.admin.clear_journal()
    again = ansible.play([task])
    assert again.rc == 0, again.output
    assert again.result("xvc")["changed"] is False and nsx_mutations(nsx) == []
