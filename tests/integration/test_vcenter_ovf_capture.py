"""vcenter_ovf_capture through ansible-playbook: the vCenter REST emulator (/api) and vcsim (/rest, SOAP)."""

import tempfile

import pytest

from tests.integration.vcsim_library import make_library
from tests.vcsim_fixtures import start_vcsim

MODULE = "hybridcloud.migration.vcenter_ovf_capture"
TEMPLATES = "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f"
UBUNTU = "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"


def merged(base, **changes):
    """BASE with CHANGES applied (a new dict)."""
    return dict(base, **changes)


def task(title, *bases, check=False, **args):
    """One task of the module with the options of BASES (dicts) and ARGS; None values are left out."""
    args = dict(merged({}, **{k: v for base in bases for k, v in base.items()}), **args)
    entry = {"name": title, MODULE: args, "ignore_errors": True}
    if check:
        entry["check_mode"] = True
    return entry


def creates(admin):
    return [e for e in admin.mutations() if e["path"].endswith("/ovf/library-item")]


def emulator_defaults(vc):
    return {"group/hybridcloud.migration.vmware": dict(
        hostname="127.0.0.1", port=int(vc.url.rsplit(":", 1)[1]), username=vc.info["username"],
        password=vc.info["password"], ca_cert=vc.ca_path, inventory_lookup="rest")}


def test_capture_idempotent_check_mode_and_overwrite(vcenter_rest_emulator, ansible):
    vc = vcenter_rest_emulator
    args = dict(vm="web01", datacenter="DC-East", library="Migration Templates", item="web01-template",
                description="web01 at the freeze")
    run = ansible.play([task("check", check=True, **args), task("capture", **args), task("again", **args),
                        task("overwrite", overwrite=True, **args),
                        task("overwrite seeded", merged(args, item="UBUNTU-22.04", overwrite=True)),
                        task("unknown vm", merged(args, vm="no-such-vm"))],
                       module_defaults=emulator_defaults(vc), verbosity=4)
    check, first, again = run.result("check"), run.result("capture"), run.result("again")
    assert check["changed"] is True and check["library_item"]["id"] is None, check
    assert first["changed"] is True and first["vm"] == {"name": "web01", "moref": "vm-101"} and first["library_item"]["id"], first
    assert again["changed"] is False and again["library_item"]["id"] == first["library_item"]["id"], again
    overwrite = run.result("overwrite")
    assert overwrite["changed"] is True and overwrite["overwritten"] is True
    assert overwrite["library_item"]["id"] == first["library_item"]["id"]
    seeded = run.result("overwrite seeded")  # case-insensitive find, like vCenter
    assert seeded["library_item"]["id"] == UBUNTU and seeded["overwritten"] is True
    unknown = run.result("unknown vm")
    assert unknown["_status"] == "failed" and "no vm 'no-such-vm'" in unknown["msg"], unknown
    bodies = [c["body"] for c in creates(vc.admin)]
    assert len(bodies) == 3  # capture + two overwrites; check mode and the re-run sent nothing
    assert bodies[0]["target"] == {"library_id": TEMPLATES}
    assert bodies[1]["target"] == {"library_id": TEMPLATES, "library_item_id": first["library_item"]["id"]}
    items = {i["id"]: i for i in vc.admin.state()["items"]}
    assert items[UBUNTU]["name"] == "ubuntu-22.04" and items[UBUNTU]["content_version"] == "3"
    assert vc.info["password"] not in run.output and "Traceback" not in run.output


BAD_INPUT = [
    ("port too big", dict(port=65536), "parameter 'port' must be between 1 and 65535, got 65536"),
    ("timeout zero", dict(timeout=0), "parameter 'timeout' must be at least 1, got 0"),
    ("empty name", dict(item=""), "parameter 'item' must be a non-empty name"),
    ("name dots", dict(item=".."), "parameter 'item' must not consist of dots only"),
    ("name with bidi", dict(item="tpl\u202egpj"), "parameter 'item' contains the control or formatting character U+202E"),
    ("vm with control", dict(vm="web\u000701"), "parameter 'vm' contains the control"),
    ("library with newline", dict(library="Golden\nImages"), "parameter 'library' contains the control"),
    ("flag with control", dict(flags=["EXTRA\u0000CONFIG"]), "parameter 'flags' contains the control"),
    ("unknown vm", dict(vm="no-such-vm"), "(parameter 'vm')"),
    ("unknown library", dict(library="No Such Library"), "(parameter 'library')"),
    ("unknown datacenter", dict(datacenter="DC-Nowhere"), "(parameter 'datacenter')"),
    ("unknown option", dict(bogus=True), "bogus"),
]


def test_bad_input_table(vcenter_rest_emulator, ansible):
    vc = vcenter_rest_emulator
    base = dict(vm="web01", datacenter="DC-East", library="Golden Images", item="bad-input-capture")
    tasks = []
    for title, change, dummy in BAD_INPUT:
        entry = task(title, merged(base, **{k: v for k, v in change.items() if k != "port"}))
        if "port" in change:
            entry["module_defaults"] = {"group/hybridcloud.migration.vmware": dict(
                emulator_defaults(vc)["group/hybridcloud.migration.vmware"], port=change["port"])}
        tasks.append(entry)
    run = ansible.play(tasks, module_defaults=emulator_defaults(vc))
    problems = []
    for title, dummy, expected in BAD_INPUT:
        result = run.result(title)
        if result["_status"] != "failed" or expected not in result.get("msg", "") or result.get("changed"):
            problems.append((title, result.get("changed"), result.get("msg")))
    assert not problems, problems
    assert creates(vc.admin) == [] and not [i for i in vc.admin.state()["items"] if i["name"] == "bad-input-capture"]
    assert "Traceback" not in run.output


@pytest.fixture(scope="module")
def sim():
    instance = start_vcsim(tempfile.mkdtemp(prefix="vcsim-cap-"), name="vcsim-cap", tls=True)
    try:
        instance.library = make_library(instance)
        yield instance
    finally:
        instance.stop()


def test_vcsim_capture(sim, ansible):
    lib = sim.library
    vm = sim.info["vms"][0]
    args = dict(hostname=sim.host, port=sim.port, username=sim.username, password=sim.password,
                ca_cert=sim.cert_path, vm=vm["name"], datacenter=lib.datacenter, library=lib.library_name,
                item="captured")
    run = ansible.play([task("capture", **args), task("again", **args), task("overwrite", overwrite=True, **args)])
    first, again, overwrite = run.result("capture"), run.result("again"), run.result("overwrite")
    assert first["changed"] is True and first["api_family"] == "rest" and first["vm"]["moref"] == vm["moref"], first
    assert again["changed"] is False and again["library_item"]["id"] == first["library_item"]["id"], again
    # vcsim answers an overwrite with 200 and an empty body.
    assert overwrite["changed"] is True and overwrite["library_item"]["id"] == first["library_item"]["id"], overwrite


GOLDEN = "0c9b8a76-5d4e-4f3a-8b2c-1d0e9f8a7b6c"
GOLDEN_UBUNTU = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"


def test_whole_create_spec_and_both_targets(vcenter_rest_emulator, ansible):
    """create_spec name, description, flags for a new item; an existing item (by id, library from the item) updated."""
    vc = vcenter_rest_emulator
    new = dict(vm="db01", datacenter="DC-East", library="Golden Images", item="db01-spec", description="db01 spec",
               flags=["EXTRA_CONFIG", "PRESERVE_MAC"])
    update = dict(vm="web01", item=GOLDEN_UBUNTU, overwrite=True, flags=["EXTRA_CONFIG"])
    run = ansible.play([task("check new", check=True, **new), task("new", **new), task("new again", **new),
                        task("check update", check=True, **update), task("update", **update),
                        task("update described", merged(update, description="ignored by vCenter")),
                        task("unknown item id", merged(update, item="00000000-0000-4000-8000-000000000000")),
                        task("new without library", dict(vm="web01", item="no-library-item")),
                        task("item of another library", merged(update, library="Migration Templates"))],
                       module_defaults=emulator_defaults(vc), diff=True)
    check_new, first, again = run.result("check new"), run.result("new"), run.result("new again")
    assert check_new["changed"] is True and check_new["diff"]["after"] == {
        "library_item": "db01-spec", "library": "Golden Images (%s)" % GOLDEN, "source_vm": "db01 (vm-102)",
        "description": "db01 spec"}, check_new
    assert first["changed"] is True and first["outcome"] == "captured" and again["changed"] is False, (first, again)
    check_update, updated = run.result("check update"), run.result("update")
    assert check_update["changed"] is True and check_update["library_item"]["library_id"] == GOLDEN, check_update
    assert check_update["diff"]["before"] == {"content": "content version 2"}, check_update["diff"]
    assert check_update["diff"]["after_header"] == "library item ubuntu-22.04 (%s) in library Golden Images (%s)" % (
        GOLDEN_UBUNTU, GOLDEN)
    assert updated["outcome"] == "overwritten" and updated["library_item"]["name"] == "ubuntu-22.04", updated
    described = run.result("update described")
    assert described["changed"] is True and any("keeps the description" in w for w in described["warnings"]), described
    assert "parameter 'library' is required to create a new item" in run.result("new without library")["msg"]
    assert "parameter 'item'" in run.result("item of another library")["msg"]
    assert run.result("unknown item id")["_status"] == "failed"
    bodies = [c["body"] for c in creates(vc.admin)]
    assert len(bodies) == 3  # new, update, update described: check mode, the re-run and the refusals sent nothing
    assert bodies[0]["create_spec"] == {"name": "db01-spec", "description": "db01 spec",
                                        "flags": ["EXTRA_CONFIG", "PRESERVE_MAC"]}
    assert bodies[0]["target"] == {"library_id": GOLDEN}
    assert bodies[1]["target"] == {"library_id": GOLDEN, "library_item_id": GOLDEN_UBUNTU}
    assert bodies[1]["create_spec"] == {"name": "ubuntu-22.04", "flags": ["EXTRA_CONFIG"]}
    items = {i["id"]: i for i in vc.admin.state()["items"]}
    assert items[GOLDEN_UBUNTU]["name"] == "ubuntu-22.04" and items[GOLDEN_UBUNTU]["description"] == "Hardened Ubuntu 22.04"
