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
                ca_cert=vc.ca_path, inventory_lookup="rest")
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


BASE = dict(library=TEMPLATES, item="ubuntu-22.04", vm="mig-web01", datacenter="DC-East", cluster="Prod",
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
    assert check["resolved"] == {
        "datacenter": {"id": "datacenter-1", "name": "DC-East"}, "cluster": {"id": "domain-c8", "name": "Prod"},
        "resource_pool": {"id": "resgroup-9", "name": "Resources"}, "folder": {"id": "group-v40", "name": "Migrated"},
        "network_mappings": {"VM Network": {"id": "dvportgroup-20", "name": "Backend"}}}
    # The diff names every object beside its id and lists only what the deploy sets (never a null).
    assert check["diff"]["after"]["folder"] == "Migrated (group-v40)", check["diff"]
    assert check["diff"]["after"]["network_mappings"] == {"VM Network": "Backend (dvportgroup-20)"}
    assert check["diff"]["before"] == {} and None not in check["diff"]["after"].values()
    assert check["diff"]["after"]["power_state"] == "POWERED_ON"
    assert first["changed"] is True and first["vm"]["moref"].startswith("vm-"), first
    # One diff per run: the deploy's, ending in the power state (the power-on does not replace it).
    assert first["diff"]["before"] == {} and first["diff"]["after"]["power_state"] == "POWERED_ON", first["diff"]
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
        task("broken item", merged(BASE, item="legacy-appliance", vm="mig-legacy", network_mappings={})),
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
    assert "file 'legacy-appliance-disk1.vmdk'" in msg["broken item"] and "vcenter.ovf.library_item deploy" in msg["broken item"]
    assert "cluster, resource_pool, host" in msg["no placement"]
    assert "Traceback" not in run.output
    # Only the broken item reached deploy; everything else failed before any mutating call.
    assert [c["body"]["deployment_spec"]["name"] for c in deploy_calls(vc.admin)] == ["mig-legacy"]


def test_ambiguous_network_name_across_datacenters_needs_datacenter_scope(vc, ansible):
    """'VM Network' exists in both datacenters; scoped to DC-West it resolves, and /rest maps are lists."""
    args = merged(BASE, datacenter="DC-West", cluster="DR", folder="Migrated", vm="mig-west",
                  network_mappings={"VM Network": "VM Network"}, ovf_properties=None)
    run = ansible.play([task("west", args)], module_defaults=emulator_defaults(vc, api_family="rest"))
    result = run.result("west")
    assert result["changed"] is True and result["api_family"] == "rest", result
    assert result["resolved"]["network_mappings"] == {"VM Network": {"id": "network-35", "name": "VM Network"}}
    (call,) = deploy_calls(vc.admin)
    assert call["path"].endswith("/id:" + UBUNTU)
    assert call["body"]["deployment_spec"]["network_mappings"] == [{"key": "VM Network", "value": "network-35"}]


def test_lost_answer_is_this_runs_deploy_found_by_name(vc, ansible):
    vc.admin.fault(method="POST", path="/ovf/library-item/", query="action=deploy", after=True, drop=True)
    run = ansible.play([task("deploy", **BASE)], module_defaults=emulator_defaults(vc))
    result = run.result("deploy")
    assert result["changed"] is True and result["outcome"] == "deployed", result
    assert result["vm"]["answer_lost"] is True and result["vm"]["adopted"] is False
    assert len(deploy_calls(vc.admin)) == 1 and len(vms_named(vc, "mig-web01")) == 1


# -- bad input: every parameter class fails naming the parameter, nothing is deployed or powered -----
BAD_INPUT = [
    ("port too big", dict(port=70000), "parameter 'port' must be between 1 and 65535, got 70000"),
    ("port zero", dict(port=0), "parameter 'port' must be between 1 and 65535, got 0"),
    ("port not a number", dict(port="https"), "port"),
    ("timeout zero", dict(timeout=0), "parameter 'timeout' must be at least 1, got 0"),
    ("timeout negative", dict(timeout=-5), "parameter 'timeout' must be at least 1, got -5"),
    ("unknown family", dict(api_family="soap"), "api_family"),
    ("unknown option", dict(bogus_option=1), "bogus_option"),
    ("bad provisioning", dict(storage_provisioning="sparse"), "storage_provisioning"),
    ("empty name", dict(vm=""), "parameter 'vm' must be a non-empty VM name"),
    ("name with slash", dict(vm="web/01"), "parameter 'vm' must not contain '/'"),
    ("name with percent", dict(vm="100%"), "parameter 'vm' must not contain '%'"),
    ("name too long", dict(vm="v" * 81), "parameter 'vm' must be at most 80 characters"),
    ("name with bidi", dict(vm="web\u202e10"), "parameter 'vm' contains the control or formatting character U+202E"),
    ("name with control", dict(vm="web\u000701"), "parameter 'vm' contains the control or formatting character U+0007"),
    ("item dots", dict(item=".."), "parameter 'item' must not consist of dots only"),
    ("item with newline", dict(item="ubuntu\n22.04"), "parameter 'item' contains the control"),
    ("library with bidi", dict(library="Migration\u200fTemplates"), "parameter 'library' contains"),
    ("empty datacenter", dict(datacenter=""), "parameter 'datacenter' must be a non-empty name"),
    ("folder dots", dict(folder="."), "parameter 'folder' must not consist of dots only"),
    ("network with bidi", dict(network_mappings={"VM Network": "Back\u202eend"}), "parameter 'network_mappings'"),
    ("unknown library", dict(library="No Such Library"), "(parameter 'library')"),
    ("unknown item", dict(item="no-such-template"), "(parameter 'item')"),
    ("unknown cluster", dict(cluster="Nope"), "(parameter 'cluster')"),
    ("unknown folder", dict(folder="Nope"), "(parameter 'folder')"),
    ("unknown datastore", dict(datastore="Nope"), "(parameter 'datastore')"),
    ("unknown network", dict(network_mappings={"VM Network": "Nope"}), "(parameter 'network_mappings')"),
    ("unknown OVF network", dict(network_mappings={"Frontend": "Backend"}), "parameter 'network_mappings'"),
    ("unknown property", dict(ovf_properties={"no_such": "x"}), "parameter 'ovf_properties'"),
    ("eula refused", dict(accept_all_eula=False), "parameter 'accept_all_eula'"),
    ("ambiguous item", dict(library=None), "(parameter 'item')"),
]


def test_bad_input_table(vc, ansible):
    tasks = []
    for title, change, dummy in BAD_INPUT:
        args = dict(BASE, power_on=True, **{k: v for k, v in change.items() if k not in ("port",)})
        entry = task(title, args)
        if "port" in change:
            entry["module_defaults"] = emulator_defaults(vc, port=change["port"])
        tasks.append(entry)
    run = ansible.play(tasks, module_defaults=emulator_defaults(vc))
    problems = []
    for title, dummy, expected in BAD_INPUT:
        result = run.result(title)
        if not failed(result) or expected not in result.get("msg", "") or result.get("changed"):
            problems.append((title, result.get("failed"), result.get("changed"), result.get("msg")))
    assert not problems, json.dumps(problems, indent=1)
    # Nothing was deployed or powered on; no VM appeared.
    assert deploy_calls(vc.admin) == [] and power_calls(vc.admin) == []
    assert [vm["id"] for vm in vc.admin.state()["vms"]] == ["vm-101", "vm-102"]
    assert "Traceback" not in run.output


# -- secrets: masked in every echoed form, also inside vendor error bodies, at -vvvv ----------------
SECRET = 'Ovf-Secret "quoted" back\\slash & /path?x=1 pässwörd-2026'


def secret_forms(secret):
    import base64
    from urllib.parse import quote, quote_plus
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], quote(secret, safe=""),
             quote_plus(secret), json.dumps(json.dumps(secret)[1:-1])[1:-1]}
    forms.add(base64.b64encode(("administrator@vsphere.local:" + secret).encode()).decode())
    return forms


def echo_body(secret):
    """A vendor error body that quotes the password back in every form a server might."""
    text = ("login failed for password=%s raw <%s> json <%s> json-utf8 <%s> url <%s> plus <%s>"
            % (secret, secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
               quote_all(secret), quote_plus_all(secret)))
    return {"error_type": "ERROR", "messages": [{"id": "vapi.echo", "default_message": text, "args": [secret]}],
            "data": {"password": secret, "request": json.dumps({"password": secret})}}


def quote_all(value):
    from urllib.parse import quote
    return quote(value, safe="")


def quote_plus_all(value):
    from urllib.parse import quote_plus
    return quote_plus(value)


def test_secrets_never_printed_even_when_the_vendor_echoes_them(vcenter_rest_emulator, ansible):
    from tests.emulators.vcenter_rest import DEFAULT_SEED
    vc = vcenter_rest_emulator
    seed = dict(DEFAULT_SEED, users=[{"username": "administrator@vsphere.local", "password": SECRET}])
    vc.reset(seed)
    vc.admin.action("deploy-duration", {"seconds": 0.2})
    info = vc.info  # the handle is shared by the whole session: restored below
    vc.info = dict(info, username="administrator@vsphere.local", password=SECRET)
    tokens = []
    original = vc.emulator.login

    def login(request):
        tokens.append(original(request))
        return tokens[-1]
    vc.emulator.login = login
    try:
        vc.admin.fault(method="POST", path="/ovf/library-item/", query="action=filter", status=500, body=echo_body(SECRET))
        vc.admin.fault(method="POST", path="/ovf/library-item/", query="action=deploy", status=400,
                       body=echo_body(SECRET), times=1)
        vc.admin.fault(method="POST", path="/ovf/library-item$", status=400, body=echo_body(SECRET))
        capture = {"name": "capture echo", "hybridcloud.migration.vcenter_ovf_capture": dict(
            vm="web01", datacenter="DC-East", library="Golden Images", item="echo-capture"), "ignore_errors": True}
        run = ansible.play([task("filter echo", BASE), task("deploy echo", BASE), capture,
                            task("ok", dict(BASE, power_on=True))],
                           module_defaults=emulator_defaults(vc), verbosity=4)
    finally:
        vc.emulator.login = original
        vc.info = info
        vc.reset()
    echoed = run.result("filter echo")["msg"]
    assert failed(run.result("filter echo")) and "login failed for password=********" in echoed, echoed
    assert echoed.count("********") >= 6, echoed  # every echoed form was there, and masked
    assert failed(run.result("deploy echo")) and failed(run.result("capture echo"))
    assert run.result("ok")["outcome"] == "deployed", run.result("ok")
    leaked = [form for form in secret_forms(SECRET) if form in run.output]
    assert not leaked, leaked
    assert tokens and not [t for t in tokens if t in run.output]
    assert "Traceback" not in run.output


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
    args = dict(hostname=sim.host, port=sim.port, username=sim.username, password=sim.password, ca_cert=sim.cert_path)
    args.update(extra)
    return {MODULE: args}


def test_vcsim_deploy_rerun_check_mode_and_network_mapping(sim, ansible):
    lib = sim.library
    args = dict(library=lib.library_name, item=lib.item_name, vm="ovf-vm1", datacenter=lib.datacenter,
                cluster=lib.cluster, datastore="LocalDS_0", network_mappings={"nic0": lib.network},
                accept_all_eula=True, power_on=True)
    run = ansible.play([task("check", check=True, **args), task("deploy", **args), task("again", **args)],
                       module_defaults=vcsim_defaults(sim), verbosity=4)
    check, first, again = run.result("check"), run.result("deploy"), run.result("again")
    assert check["changed"] is True and check["vm"]["moref"] is None, check
    assert first["changed"] is True and first["api_family"] == "rest", first
    assert first["resolved"]["resource_pool"]["id"] == lib.resource_pool
    assert first["resolved"]["folder"] == {"id": lib.vm_folder, "name": "vm"}  # names read over SOAP too
    assert first["resolved"]["network_mappings"]["nic0"]["id"] == "dvportgroup-13" and first["powered_on"] is True
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
    base = dict(library=lib.library_id, vm="ovf-bad", datacenter=lib.datacenter, cluster=lib.cluster,
                accept_all_eula=True)
    run = ansible.play([
        task("item without ovf", item=lib.empty_item_id, **base),
        task("unknown item id", item="00000000-0000-4000-8000-000000000000", **base),
        task("unknown folder", **dict(base, item=lib.item_name, folder="no-such-folder")),
        task("bad password", **dict(base, item=lib.item_name, password="wrong-password")),
    ], module_defaults=vcsim_defaults(sim))
    empty = run.result("item without ovf")
    assert failed(empty) and "no such file or directory" in empty["msg"] and "vcenter.ovf.library_item deploy" in empty["msg"], empty
    assert "no library item named '00000000-0000-4000-8000-000000000000'" in run.result("unknown item id")["msg"]
    assert "no folder 'no-such-folder'" in run.result("unknown folder")["msg"]
    # vcsim's REST login takes any password; its SOAP login (the lookups) does not.
    bad = run.result("bad password")
    assert failed(bad) and "login" in bad["msg"], bad
    assert "wrong-password" not in run.output and "Traceback" not in run.output


def test_vcsim_takes_the_whole_deployment_spec(sim, ansible):
    """vcsim ignores storage_profile_id and storage_mappings (vcenter_rest.md section 6) and has no policy list:
    a policy id is sent as it is, a policy name fails naming the parameter; flags and locale are accepted."""
    lib = sim.library
    policy = "aa6d5a82-1c88-45da-85d3-3d74b91a5bad"
    args = dict(library=lib.library_name, item=lib.item_name, vm="ovf-spec", datacenter=lib.datacenter,
                cluster=lib.cluster, datastore="LocalDS_0", storage_profile=policy, flags=["LAX"], locale="en_US",
                storage_mappings=[{"storage_group": "group1", "datastore": "LocalDS_0", "provisioning": "thin"}],
                accept_all_eula=True)
    run = ansible.play([task("check", check=True, **args), task("deploy", **args), task("again", **args),
                        task("policy by name", **{**args, "vm": "ovf-spec-2", "storage_profile": "Gold"})],
                       module_defaults=vcsim_defaults(sim))
    check, first, again = run.result("check"), run.result("deploy"), run.result("again")
    assert check["changed"] is True and check["resolved"]["storage_profile"] == {"id": policy, "name": None}, check
    assert first["changed"] is True and first["outcome"] == "deployed", first
    assert first["resolved"]["storage_mappings"]["group1"]["datastore"]["name"] == "LocalDS_0"
    assert again["changed"] is False and again["vm"]["moref"] == first["vm"]["moref"], again
    by_name = run.result("policy by name")
    assert failed(by_name) and "parameter 'storage_profile'" in by_name["msg"], by_name
