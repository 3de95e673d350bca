"""vcenter_ovf_deploy through ansible-playbook: against the vCenter REST emulator (/api, REST lookups)
and against vcsim (/rest detected automatically, SOAP lookups through vsphere.py)."""

import json
import re
import tempfile

import pytest

from tests.integration.vcsim_library import make_library
from tests.vcsim_fixtures import start_vcsim

MODULE = "hybridcloud.migration.vcenter_ovf_deploy"
TEMPLATES = "Migration Templates"
UBUNTU = "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"
OVF_MUTATIONS = re.compile(r"/ovf/library-item")
VCSIM_PASSWORD = "Vcsim-Secret-2026"


def deploy_calls(admin):
    return [e for e in admin.mutations() if OVF_MUTATIONS.search(e["path"]) and "deploy" in e["query"]]


@pytest.fixture
def vc(vcenter_rest_emulator):
    """The emulator, recording every session id it hands out (to grep the output for them)."""
    vcenter_rest_emulator.admin.action("deploy-duration", {"seconds": 0.2})  # the contract's 2 s is too slow here
    emulator = vcenter_rest_emulator.emulator
    tokens = []
    original = emulator.login

    def login(request):
        token = original(request)
        tokens.append(token)
        return token

    emulator.login = login
    vcenter_rest_emulator.tokens = tokens
    yield vcenter_rest_emulator
    emulator.login = original


def emulator_defaults(vc, **extra):
    port = vc.url.rsplit(":", 1)[1]
    args = dict(hostname="127.0.0.1", port=int(port), username=vc.info["username"], password=vc.info["password"],
                ca_path=vc.ca_path, inventory_lookup="rest")
    args.update(extra)
    return {"group/hybridcloud.migration.vmware": args}


def merged(base, **changes):
    """BASE with CHANGES applied (a new dict)."""
    return dict(base, **changes)


def task(title, *bases, check=False, **args):
    """One task of the module with the options of BASES (dicts) and ARGS; None values are left out."""
    options = {}
    for part in bases + (args,):
        options.update(part)
    entry = {"name": title, MODULE: {k: v for k, v in options.items() if v is not None}, "ignore_errors": True}
    if check:
        entry["check_mode"] = True
    return entry


BASE = dict(library=TEMPLATES, item="ubuntu-22.04", name="mig-web01", datacenter="DC-East", cluster="Prod",
            folder="Migrated", accept_all_eula=True, network_mappings={"VM Network": "Backend"},
            storage_provisioning="thin", ovf_properties={"hostname": "web01"})


def failed(result):
    return result.get("failed") or result["_status"] == "failed"


def vms_named(vc, name):
    return [vm for vm in vc.admin.state()["vms"] if vm["name"] == name]


def power_calls(admin):
    return [e for e in admin.mutations() if e["path"].endswith("/power")]


def test_deploy_idempotent_check_mode_and_no_secrets(vc, ansible):
    args = merged(BASE, power_on=True)
    run = ansible.play([task("check", check=True, **args), task("deploy", **args), task("again", **args)],
                       module_defaults=emulator_defaults(vc), verbosity=4, diff=True)
    check, first, again = run.result("check"), run.result("deploy"), run.result("again")
    assert check["changed"] is True and check["vm"]["moref"] is None and check["powered_on"] is False, check
    assert check["resolved"] == {"datacenter": "datacenter-1", "cluster": "domain-c8", "resource_pool": "resgroup-9",
                                 "folder": "group-v40", "network_mappings": {"VM Network": "dvportgroup-20"}}
    assert first["changed"] is True and first["vm"]["moref"].startswith("vm-"), first
    assert first["api_family"] == "api" and first["library_item"]["id"] == UBUNTU
    assert again["changed"] is False and again["vm"]["moref"] == first["vm"]["moref"], again
    # One deploy and one power-on in all (check mode and the re-run sent none); the VM is where it should be.
    assert len(deploy_calls(vc.admin)) == 1
    assert first["powered_on"] is True and again["powered_on"] is False
    assert [(c["path"], c["query"], c["status"]) for c in power_calls(vc.admin)] == [
        ("/api/vcenter/vm/%s/power" % first["vm"]["moref"], "action=start", 204)]
    (vm,) = vms_named(vc, "mig-web01")
    assert vm["id"] == first["vm"]["moref"] and vm["folder"] == "group-v40" and vm["resource_pool"] == "resgroup-9"
    assert vm["power_state"] == "POWERED_ON"
    assert vm["network_mappings"] == {"VM Network": "dvportgroup-20", "Backend": "dvportgroup-20"}
    body = deploy_calls(vc.admin)[0]["body"]
    assert body["deployment_spec"]["network_mappings"] == {"VM Network": "dvportgroup-20"}  # /api: an object
    assert body["deployment_spec"]["accept_all_EULA"] is True
    assert body["deployment_spec"]["additional_parameters"][0]["properties"] == [{"id": "hostname", "value": "web01"}]
    # No password, no session id, at -vvvv; every session was logged out.
    assert vc.tokens and vc.info["password"] not in run.output
    assert not [t for t in vc.tokens if t in run.output]
    assert vc.admin.state()["sessions"] == 0
    assert "Traceback" not in run.output


def test_errors_are_clear(vc, ansible):
    vc.admin.action("deploy-duration", {"seconds": 0.05})
    tasks = [
        task("unknown item", merged(BASE, item="no-such-template")),
        task("ambiguous item", merged(BASE, library=None)),
        task("unknown cluster", merged(BASE, cluster="Nope")),
        task("folder of another datacenter", merged(BASE, folder="group-v41")),
        task("unknown network", merged(BASE, datacenter="datacenter-1", network_mappings={"VM Network": "network-99"})),
        task("unknown OVF network", merged(BASE, network_mappings={"Frontend": "Backend"})),
        task("eula not accepted", merged(BASE, accept_all_eula=False)),
        task("broken item", merged(BASE, item="legacy-appliance", name="mig-legacy", network_mappings={})),
        task("no placement", **{k: v for k, v in BASE.items() if k != "cluster"}),
    ]
    run = ansible.play(tasks, module_defaults=emulator_defaults(vc))
    results = {name: run.result(name) for name in (t["name"] for t in tasks)}
    assert all(failed(r) for r in results.values()), json.dumps({k: (v.get("failed"), v.get("msg")) for k, v in results.items()}, indent=1)
    msg = {name: r["msg"] for name, r in results.items()}
    assert "no library item named 'no-such-template'" in msg["unknown item"]
    assert "ambiguous" in msg["ambiguous item"] and "set 'library'" in msg["ambiguous item"]
    assert "no cluster 'Nope'" in msg["unknown cluster"]
    assert "no folder 'group-v41' in datacenter datacenter-1" in msg["folder of another datacenter"]
    assert "no network 'network-99'" in msg["unknown network"]
    assert "network_mappings" in msg["unknown OVF network"] and "Frontend" in msg["unknown OVF network"]
    assert "accept_all_eula" in msg["eula not accepted"]
    assert "file 'legacy-appliance-disk1.vmdk'" in msg["broken item"] and "deploy OVF" in msg["broken item"]
    assert "cluster, resource_pool, host" in msg["no placement"]
    assert "Traceback" not in run.output
    # Only the broken item reached deploy; everything else failed before any mutating call.
    assert [c["body"]["deployment_spec"]["name"] for c in deploy_calls(vc.admin)] == ["mig-legacy"]


def test_ambiguous_network_name_across_datacenters_needs_datacenter_scope(vc, ansible):
    """'VM Network' exists in both datacenters; scoped to DC-West it resolves, and /rest maps are lists."""
    args = merged(BASE, datacenter="DC-West", cluster="DR", folder="Migrated", name="mig-west",
                  network_mappings={"VM Network": "VM Network"}, ovf_properties=None)
    run = ansible.play([task("west", args)], module_defaults=emulator_defaults(vc, api_family="rest"))
    result = run.result("west")
    assert result["changed"] is True and result["api_family"] == "rest", result
    assert result["resolved"]["network_mappings"] == {"VM Network": "network-35"}
    (call,) = deploy_calls(vc.admin)
    assert call["path"].endswith("/id:" + UBUNTU)
    assert call["body"]["deployment_spec"]["network_mappings"] == [{"key": "VM Network", "value": "network-35"}]


def test_lost_answer_adopts_the_vm_instead_of_redeploying(vc, ansible):
    vc.admin.fault(method="POST", path="/ovf/library-item/", query="action=deploy", after=True, drop=True)
    run = ansible.play([task("deploy", **BASE)], module_defaults=emulator_defaults(vc))
    result = run.result("deploy")
    assert result["changed"] is True and result["vm"]["adopted"] is True, result
    assert len(deploy_calls(vc.admin)) == 1 and len(vms_named(vc, "mig-web01")) == 1


def test_read_timeout_adopts_the_vm(vc, ansible):
    vc.admin.action("deploy-duration", {"seconds": 4})
    run = ansible.play([task("deploy", timeout=1, **BASE)], module_defaults=emulator_defaults(vc))
    result = run.result("deploy")
    assert result["changed"] is True and result["vm"]["adopted"] is True, result
    # Not resubmitted: a second deploy would have failed on the duplicate name or made a second VM.
    assert len(vms_named(vc, "mig-web01")) == 1 and "Traceback" not in run.output
    # The journal has the abandoned deploy from its arrival (its status may still be pending), and a
    # reset drops it, so its late answer cannot land in a later test's journal.
    assert len(deploy_calls(vc.admin)) == 1


# -- vcsim: /rest only, SOAP lookups ------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim():
    instance = start_vcsim(tempfile.mkdtemp(prefix="vcsim-ovf-"), name="vcsim-ovf", tls=True, password=VCSIM_PASSWORD)
    try:
        instance.library = make_library(instance)
        yield instance
    finally:
        instance.stop()


def vcsim_defaults(sim, **extra):
    args = dict(hostname=sim.host, port=sim.port, username=sim.username, password=sim.password, ca_path=sim.cert_path)
    args.update(extra)
    return {MODULE: args}


def test_vcsim_deploy_rerun_check_mode_and_network_mapping(sim, ansible):
    lib = sim.library
    args = dict(library=lib.library_name, item=lib.item_name, name="ovf-vm1", datacenter=lib.datacenter,
                cluster=lib.cluster, datastore="LocalDS_0", network_mappings={"nic0": lib.network},
                accept_all_eula=True, power_on=True)
    run = ansible.play([task("check", check=True, **args), task("deploy", **args), task("again", **args)],
                       module_defaults=vcsim_defaults(sim), verbosity=4)
    check, first, again = run.result("check"), run.result("deploy"), run.result("again")
    assert check["changed"] is True and check["vm"]["moref"] is None, check
    assert first["changed"] is True and first["api_family"] == "rest", first
    assert first["resolved"]["resource_pool"] == lib.resource_pool and first["resolved"]["folder"] == lib.vm_folder
    assert first["resolved"]["network_mappings"] == {"nic0": "dvportgroup-13"} and first["powered_on"] is True
    assert again["changed"] is False and again["vm"]["moref"] == first["vm"]["moref"], again
    si = sim.connect()
    try:
        from pyVmomi import vim
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        vms = [vm for vm in view.view if vm.name == "ovf-vm1"]
        assert [vm._moId for vm in vms] == [first["vm"]["moref"]]  # one VM: check mode and re-run deployed none
        assert vms[0].runtime.powerState == "poweredOn" and vms[0].parent._moId == lib.vm_folder
    finally:
        si.content.sessionManager.Logout()
    assert VCSIM_PASSWORD not in run.output and "Traceback" not in run.output


def test_vcsim_quirks_fail_clearly(sim, ansible):
    lib = sim.library
    base = dict(library=lib.library_id, name="ovf-bad", datacenter=lib.datacenter, cluster=lib.cluster,
                accept_all_eula=True)
    run = ansible.play([
        task("item without ovf", item=lib.empty_item_id, **base),
        task("unknown item id", item="00000000-0000-4000-8000-000000000000", **base),
        task("unknown folder", **dict(base, item=lib.item_name, folder="no-such-folder")),
        task("bad password", **dict(base, item=lib.item_name, password="wrong-password")),
    ], module_defaults=vcsim_defaults(sim))
    empty = run.result("item without ovf")
    assert failed(empty) and "no such file or directory" in empty["msg"] and "deploy OVF" in empty["msg"], empty
    assert "no library item named '00000000-0000-4000-8000-000000000000'" in run.result("unknown item id")["msg"]
    assert "no folder 'no-such-folder'" in run.result("unknown folder")["msg"]
    # vcsim's REST login takes any password; its SOAP login (the lookups) does not.
    bad = run.result("bad password")
    assert failed(bad) and "login" in bad["msg"], bad
    assert "wrong-password" not in run.output and "Traceback" not in run.output
