"""vcenter_ovf_deploy with many VMs in one task (``vms`` + ``parallel``), through ansible-playbook.

Against the vCenter REST emulator: a mixed wave (VMs already there, one whose item is broken by an
injected fault), the re-run with zero mutating calls, a killed run re-run without a duplicate deploy,
check mode with zero mutations, the capacity check before anything is sent; and one run against vcsim
(/rest, SOAP lookups). Assertions are on states and journals, not on wall time.
"""

import tempfile

import pytest

from tests.integration.test_vcenter_ovf_deploy import VCSIM_PASSWORD, vcsim_defaults  # noqa: F401 (fixture helpers)
from tests.integration.vcsim_library import make_library
from tests.vcsim_fixtures import start_vcsim

DEPLOY = "hybridcloud.migration.vcenter_ovf_deploy"
GOLDEN_UBUNTU = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"  # "ubuntu-22.04" of library "Golden Images"
BROKEN = "Failed to deploy OVF package: injected fault FAULT-7f3a for the bulk test"
WAVE = dict(library="Migration Templates", item="ubuntu-22.04", datacenter="DC-East", cluster="Prod",
            folder="Migrated", datastore="east-vsan", accept_all_eula=True,
            network_mappings={"VM Network": "Backend"}, parallel=4)


@pytest.fixture
def vc(vcenter_rest_emulator):
    vcenter_rest_emulator.admin.action("deploy-duration", {"seconds": 1})
    return vcenter_rest_emulator


def defaults(vc, **extra):
    args = dict(hostname="127.0.0.1", port=int(vc.url.rsplit(":", 1)[1]), username=vc.info["username"],
                password=vc.info["password"], ca_cert=vc.ca_path, inventory_lookup="rest")
    args.update(extra)
    return {"group/hybridcloud.migration.vmware": args}


def task(title="run", check=False, **args):
    entry = {"name": title, DEPLOY: {k: v for k, v in args.items() if v is not None}, "ignore_errors": True}
    if check:
        entry["check_mode"] = True
    return entry


def deploy_posts(vc):
    return [e for e in vc.admin.journal() if e["method"] == "POST" and "/ovf/library-item/" in e["path"]
            and "deploy" in e["query"]]


def mutations(vc):
    """Deploys and power-ons (filter and login POSTs change nothing)."""
    return [e for e in vc.admin.journal() if e["method"] == "POST" and not e["injected"]
            and (("/ovf/library-item" in e["path"] and "filter" not in e["query"]) or "/power" in e["path"])]


def vms_named(vc, name):
    return [vm for vm in vc.admin.state()["vms"] if vm["name"] == name]


def failed(result):
    return result.get("failed") or result["_status"] == "failed"


def wave(count=12, existing=(), broken=None, power_on=None):
    vms = []
    for number in range(1, count + 1):
        entry = {"vm": "bulk-%02d" % number}
        if number == broken:
            entry.update(library="Golden Images", item=GOLDEN_UBUNTU)
        if power_on is not None:
            entry["power_on"] = power_on
        vms.append(entry)
    return vms


def test_mixed_wave_rerun_and_check_mode(vc, ansible):
    vc.admin.action("break-item", {"item_id": GOLDEN_UBUNTU, "message": BROKEN})
    # Two VMs already there: db01-like leftovers of an earlier wave, one off (power_on adopts and starts it).
    pre = ansible.play([task("pre", vms=[{"vm": "bulk-03"}, {"vm": "bulk-07"}], **WAVE)], module_defaults=defaults(vc))
    assert not failed(pre.result("pre")), pre.result("pre")
    vc.admin.clear_journal()
    vms = wave(12, broken=9)
    vms[2]["power_on"] = True  # bulk-03: there, off -> powered on
    run = ansible.play([task(vms=vms, **WAVE)], module_defaults=defaults(vc), diff=True)
    result = run.result("run")
    assert failed(result) and result["changed"] is True, result
    assert "1 of 12 VMs failed" in result["msg"] and "bulk-09" in result["msg"] and "FAULT-7f3a" in result["msg"], result
    rows = {row["name"]: row for row in result["vms"]}
    assert len(rows) == 12
    assert rows["bulk-03"]["outcome"] == "powered_on" and rows["bulk-03"]["power_state"] == "POWERED_ON", rows["bulk-03"]
    assert rows["bulk-07"]["outcome"] == "unchanged" and rows["bulk-07"]["started"] is None, rows["bulk-07"]
    assert rows["bulk-09"]["outcome"] == "failed" and "FAULT-7f3a" in rows["bulk-09"]["error"], rows["bulk-09"]
    assert rows["bulk-09"]["moref"] is None and rows["bulk-09"]["from"].startswith("Golden Images/ubuntu-22.04 (")
    deployed = [name for name, row in rows.items() if row["outcome"] == "deployed"]
    assert len(deployed) == 9, rows
    for name in deployed:
        row = rows[name]
        (vm,) = vms_named(vc, name)
        assert row["moref"] == vm["id"] and vm["folder"] == "group-v40" and vm["default_datastore"] == "datastore-14"
        assert row["error"] == "" and row["ended"] >= row["started"] > 0 and row["jobs"] == []
        assert row["to"] == "Migrated (group-v40) in DC-East (datacenter-1)", row
        assert row["from"] == "Migration Templates/ubuntu-22.04 (3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d)", row
    # one deploy per VM that was not there (the broken one's included: it reached vCenter and failed)
    assert sorted(e["status"] for e in deploy_posts(vc)) == [200] * 10
    assert set(k.split(" ")[0] for k in result["diff"]["after"]["vms"]) == set(deployed) | {"bulk-03"}, result["diff"]
    assert result["diff"]["after"]["vms"]["bulk-03 (%s)" % rows["bulk-03"]["moref"]] == {"power_state": "POWERED_ON"}

    # Re-run without the broken one: nothing to do, zero mutating calls; check mode likewise.
    vc.admin.clear_journal()
    steady = [v for v in vms if v["vm"] != "bulk-09"]
    again = ansible.play([task("again", vms=steady, **WAVE), task("check", check=True, vms=steady, **WAVE)],
                         module_defaults=defaults(vc))
    assert again.result("again")["changed"] is False and not failed(again.result("again")), again.result("again")
    assert {row["outcome"] for row in again.result("again")["vms"]} == {"unchanged"}
    assert again.result("check")["changed"] is False and {r["outcome"] for r in again.result("check")["vms"]} == {"unchanged"}
    assert mutations(vc) == [], mutations(vc)
    assert vc.info["password"] not in run.output + again.output and "Traceback" not in run.output


def test_check_mode_plans_each_vm_with_zero_mutations(vc, ansible):
    ansible.play([task("pre", vms=[{"vm": "bulk-02"}], **WAVE)], module_defaults=defaults(vc))
    vc.admin.clear_journal()
    vms = wave(10, power_on=True)
    run = ansible.play([task("plan", vms=vms, **WAVE)], module_defaults=defaults(vc), check=True, diff=True)
    result = run.result("plan")
    assert not failed(result) and result["changed"] is True, result
    outcomes = {row["name"]: row["outcome"] for row in result["vms"]}
    assert outcomes.pop("bulk-02") == "would_power_on" and set(outcomes.values()) == {"would_deploy"}, result["vms"]
    assert mutations(vc) == [] and deploy_posts(vc) == []
    assert len(result["diff"]["after"]["vms"]) == 10
    assert [vm for vm in vc.admin.state()["vms"] if vm["name"].startswith("bulk-")] == vms_named(vc, "bulk-02")


def test_killed_run_rerun_adopts_without_a_duplicate_deploy(vc, ansible):
    vc.admin.action("deploy-duration", {"seconds": 8})
    vms = wave(10)
    running = ansible.start([task(vms=vms, **WAVE)], module_defaults=defaults(vc))  # parallel 4
    # Killed with 4 deploys in flight (their VMs registered, still copying) and 6 not yet sent.
    running.kill_when(lambda: len(deploy_posts(vc)) >= 4, timeout=180)
    sent = {vm["name"] for vm in vc.admin.state()["vms"] if vm["name"].startswith("bulk-")}
    assert 1 <= len(sent) < 10, sent
    vc.admin.action("deploy-duration", {"seconds": 1})
    run = ansible.play([task("again", vms=vms, **dict(WAVE, power_on=True))], module_defaults=defaults(vc))
    result = run.result("again")
    assert not failed(result) and result["changed"] is True, result
    rows = {row["name"]: row for row in result["vms"]}
    for name in sent:  # adopted, waited for when their deploy was still running, powered on
        assert rows[name]["outcome"] == "powered_on", rows[name]
    for name in set(rows) - sent:
        assert rows[name]["outcome"] == "deployed", rows[name]
    for number in range(1, 11):
        (vm,) = vms_named(vc, "bulk-%02d" % number)  # exactly one VM each: nothing deployed twice
        assert vm["power_state"] == "POWERED_ON" and not vm["deploying"], vm
    posts = deploy_posts(vc)
    assert len(posts) == 10, posts  # one deploy per VM over both runs


def test_capacity_checked_per_datastore_before_anything_is_sent(vc, ansible):
    # Each item is a bit over 2 GiB (its library size): three VMs do not fit on 5 GiB, two would.
    vc.admin.action("datastore-space", {"datastore_id": "datastore-15", "free_space": 5 << 30})
    vms = [{"vm": "cap-%d" % n, "datastore": "east-nfs01"} for n in range(1, 4)] + [{"vm": "cap-vsan"}]
    run = ansible.play([task("too many", vms=vms, **WAVE),
                        task("check too", check=True, vms=vms, **WAVE)], module_defaults=defaults(vc))
    for name in ("too many", "check too"):
        result = run.result(name)
        assert failed(result), result
        msg = result["msg"]
        assert "not enough free space" in msg and "parameters 'vms[0].datastore', 'vms[1].datastore'" in msg, msg
        assert "east-nfs01 (datastore-15) has 5.0 GiB" in msg and "3 VM(s)" in msg and "cap-1, cap-2, cap-3" in msg, msg
        assert "east-vsan" not in msg, msg
    assert mutations(vc) == []
    single = ansible.play([task("single", vm="cap-one", datastore="east-nfs01", **{k: v for k, v in WAVE.items()
                                                                                   if k not in ("parallel", "datastore")}),
                           task("two fit", vms=vms[:2], **WAVE)], module_defaults=defaults(vc))
    assert not failed(single.result("single")), single.result("single")
    assert failed(single.result("two fit"))  # the single VM's disks took the room (the emulator keeps free_space)
    vc.admin.action("datastore-space", {"datastore_id": "datastore-15", "free_space": 1 << 30})
    small = ansible.play([task("single small", vm="cap-two", datastore="east-nfs01",
                               **{k: v for k, v in WAVE.items() if k not in ("parallel", "datastore")})],
                         module_defaults=defaults(vc)).result("single small")
    assert failed(small) and "parameter 'datastore'" in small["msg"] and "1.0 GiB" in small["msg"], small
    assert len(deploy_posts(vc)) == 1  # only the single VM that fitted


def test_bad_entry_fails_naming_it_before_any_call(vc, ansible):
    run = ansible.play([
        task("no item", vms=[{"vm": "x1"}, {"vm": "x2"}], **{k: v for k, v in WAVE.items() if k != "item"}),
        task("bad folder", vms=[{"vm": "x1"}, {"vm": "x2", "folder": "no-such-folder"}], **WAVE),
        task("twice", vms=[{"vm": "x1"}, {"vm": "x1"}], **WAVE),
        task("parallel", vms=[{"vm": "x1"}], **{**WAVE, "parallel": 33}),
        task("both", vm="x1", vms=[{"vm": "x1"}], **WAVE),
    ], module_defaults=defaults(vc))
    assert "parameter 'item' is required for VM 'x1'" in run.result("no item")["msg"]
    bad = run.result("bad folder")["msg"]
    assert "no folder 'no-such-folder'" in bad and "vms[1].folder" in bad and "x2" in bad, bad
    assert "parameter 'vms[1].vm' names VM 'x1' again" in run.result("twice")["msg"]
    assert "parameter 'parallel' must be between 1 and 32, got 33" in run.result("parallel")["msg"]
    assert "mutually exclusive" in run.result("both")["msg"]
    assert mutations(vc) == []


# -- vcsim: /rest, SOAP lookups ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim():
    instance = start_vcsim(tempfile.mkdtemp(prefix="vcsim-bulk-"), name="vcsim-bulk", tls=True, password=VCSIM_PASSWORD)
    try:
        instance.library = make_library(instance)
        yield instance
    finally:
        instance.stop()


def test_vcsim_bulk_deploy_and_rerun(sim, ansible):
    lib = sim.library
    args = dict(library=lib.library_name, item=lib.item_name, datacenter=lib.datacenter, cluster=lib.cluster,
                datastore="LocalDS_0", accept_all_eula=True, parallel=2,
                vms=[{"vm": "bulk-sim-1"}, {"vm": "bulk-sim-2", "power_on": True}, {"vm": "bulk-sim-3"}])
    run = ansible.play([task("check", check=True, **args), task("deploy", **args), task("again", **args)],
                       module_defaults=vcsim_defaults(sim))
    deploy, again = run.result("deploy"), run.result("again")
    assert run.result("check")["changed"] is True
    assert not failed(deploy) and deploy["changed"] is True and deploy["api_family"] == "rest", deploy
    assert [row["outcome"] for row in deploy["vms"]] == ["deployed"] * 3, deploy["vms"]
    assert deploy["vms"][1]["power_state"] == "POWERED_ON"
    assert again["changed"] is False and [row["outcome"] for row in again["vms"]] == ["unchanged"] * 3, again
    assert [row["moref"] for row in again["vms"]] == [row["moref"] for row in deploy["vms"]]
    si = sim.connect()
    try:
        from pyVmomi import vim
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        assert sorted(vm.name for vm in view.view if vm.name.startswith("bulk-sim-")) == ["bulk-sim-1", "bulk-sim-2",
                                                                                          "bulk-sim-3"]
    finally:
        si.content.sessionManager.Logout()


# -- the role: one plan call, one deploy call; from its list or from a wave plan -------------------------
def role_play(vc, workdir, hosts, serial=None, **role_vars):
    """A playbook running the role on HOSTS with the emulator's connection as module_defaults."""
    import yaml
    play = {"name": "rollout", "hosts": hosts, "gather_facts": False,
            "module_defaults": defaults(vc),
            "roles": [{"role": "hybridcloud.migration.vcenter_ovf_rollout", "vars": dict({
                "vcenter_ovf_rollout_datacenter": "DC-East", "vcenter_ovf_rollout_library": "Migration Templates",
                "vcenter_ovf_rollout_cluster": "Prod", "vcenter_ovf_rollout_datastore": "east-vsan",
                "vcenter_ovf_rollout_accept_all_eula": True,
                "vcenter_ovf_rollout_network_mappings": {"VM Network": "Backend"}}, **role_vars)}]}
    if serial:
        play["serial"] = serial
    path = workdir / "rollout.yml"
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return path


def run_playbook(workdir, playbook, inventory, *extra):
    import os
    import subprocess
    import sys
    from tests.integration.playbook import COLLECTIONS_PATH
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"))
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory), str(playbook)]
    proc = subprocess.run(command + list(extra), cwd=str(workdir), env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def recap_changed(output):
    import re
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def module_calls(vc):
    """Module runs that reached the emulator: one login each."""
    return [e for e in vc.admin.journal() if e["method"] == "POST" and e["path"] == "/api/session"]


def test_role_on_a_wave_plan_one_bulk_call_per_serial_batch(vc, tmp_path):
    import sys
    plan_file = tmp_path / "waves.csv"
    rows = ["vm,platform,source,destination,wave"]
    rows += ["wave-%02d,vcenter,ubuntu-22.04,Migrated,1" % n for n in range(1, 7)]
    rows += ["zs-01,zstack,ps-a,ps-b,1"]  # another platform's VM: not deployed by this role
    plan_file.write_text("\n".join(rows) + "\n")
    source = tmp_path / "night1.wave_plan.yml"
    source.write_text("plugin: hybridcloud.migration.wave_plan\nplan: waves.csv\n")
    local = tmp_path / "local.ini"
    local.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    playbook = role_play(vc, tmp_path, "all:!localhost", serial=3)
    rc, output = run_playbook(tmp_path, playbook, source, "-i", str(local))
    assert rc == 0, output[-3000:]
    # two serial batches of 3 VMs (+ zs-01 in the last): per batch one plan and one deploy call
    assert len(module_calls(vc)) == 4, output[-3000:]
    assert len(deploy_posts(vc)) == 6
    # each batch deploys its own 3 VMs (ansible_play_batch), not the whole play at the first batch
    per_call = []
    for entry in vc.admin.journal():
        if entry in module_calls(vc):
            per_call.append(0)
        elif entry in deploy_posts(vc):
            per_call[-1] += 1
    assert per_call == [0, 3, 0, 3], per_call
    assert sorted(vm["name"] for vm in vc.admin.state()["vms"] if vm["name"].startswith("wave-")) == \
        ["wave-%02d" % n for n in range(1, 7)]
    assert all(vms_named(vc, "wave-01")[0]["folder"] == "group-v40" for dummy in [0])
    assert "zs-01" not in str([vm["name"] for vm in vc.admin.state()["vms"]])
    assert "wave-01 | would_deploy | Migration Templates/ubuntu-22.04" in output, output[-3000:]
    # re-run, whole and with --limit: the plan finds everything there, no deploy call, nothing changed
    vc.admin.clear_journal()
    rc, output = run_playbook(tmp_path, role_play(vc, tmp_path, "all:!localhost"), source, "-i", str(local))
    assert rc == 0 and recap_changed(output) == 0, output[-3000:]
    assert len(module_calls(vc)) == 1 and mutations(vc) == [], output[-3000:]
    rc, output = run_playbook(tmp_path, role_play(vc, tmp_path, "all:!localhost"), source, "-i", str(local),
                              "--limit", "wave-02")
    assert rc == 0 and recap_changed(output) == 0 and mutations(vc) == [], output[-3000:]


def test_role_from_its_list_plans_once_and_reports_changes_truthfully(vc, tmp_path):
    import sys
    local = tmp_path / "local.ini"
    local.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    vms = [{"vm": "list-01", "item": "ubuntu-22.04", "folder": "Migrated"},
           {"vm": "list-02", "item": "ubuntu-22.04", "power_on": True, "network_mappings": {"Backend": "VM Network"}}]
    playbook = role_play(vc, tmp_path, "localhost", vcenter_ovf_rollout_vms=vms)
    rc, check_output = run_playbook(tmp_path, playbook, local, "--check")
    assert rc == 0 and recap_changed(check_output) == 0 and mutations(vc) == [], check_output[-3000:]
    rc, output = run_playbook(tmp_path, playbook, local)
    assert rc == 0 and recap_changed(output) == 1, output[-3000:]
    (second,) = vms_named(vc, "list-02")
    # the role-wide mappings stay under the VM's own: VM Network -> Backend, Backend -> VM Network
    assert second["network_mappings"] == {"VM Network": "dvportgroup-20", "Backend": "network-12"}, second
    assert second["power_state"] == "POWERED_ON" and vms_named(vc, "list-01")[0]["folder"] == "group-v40"
    vc.admin.clear_journal()
    rc, output = run_playbook(tmp_path, playbook, local)
    assert rc == 0 and recap_changed(output) == 0 and mutations(vc) == [], output[-3000:]
    assert output.count("list-01 | unchanged") == 1, output[-3000:]


def test_every_vms_item_problem_is_listed_before_any_deploy(vc, ansible):
    vms = [{"vm": "p-1", "network_mappings": {"Frontend": "Backend"}}, {"vm": "p-2"},
           {"vm": "p-3", "accept_all_eula": False}]
    result = ansible.play([task("problems", vms=vms, **WAVE)], module_defaults=defaults(vc)).result("problems")
    assert failed(result), result
    assert "parameter 'vms[0].network_mappings' (VM 'p-1') names OVF networks the item does not have: Frontend" \
        in result["msg"], result["msg"]
    assert "parameter 'vms[2].accept_all_eula' (VM 'p-3') must be true" in result["msg"], result["msg"]
    assert mutations(vc) == []


def test_timeout_reports_in_progress_and_not_started_then_rerun_finishes(vc, ansible):
    vc.admin.action("deploy-duration", {"seconds": 25})
    vms = wave(4)
    first = ansible.play([task(vms=vms, **{**WAVE, "parallel": 2, "timeout": 8})],
                         module_defaults=defaults(vc)).result("run")
    assert failed(first), first
    rows = {row["name"]: row for row in first["vms"]}
    sent = {vm["name"] for vm in vc.admin.state()["vms"] if vm["name"].startswith("bulk-")}
    assert 1 <= len(sent) <= 2, sent  # at most `parallel` deploys were sent before the deadline
    for name, row in rows.items():
        if name in sent:
            assert row["outcome"] == "in_progress" and row["moref"] and "re-run adopts it" in row["error"], row
        else:
            assert row["outcome"] == "not_started" and row["moref"] is None and row["started"] is None, row
    assert first["changed"] is True and "VMs failed" in first["msg"], first
    vc.admin.action("deploy-duration", {"seconds": 1})
    again = ansible.play([task("again", vms=vms, **WAVE)], module_defaults=defaults(vc)).result("again")
    assert not failed(again), again
    outcomes = {row["name"]: row["outcome"] for row in again["vms"]}
    assert all(outcomes[name] == "unchanged" for name in sent), outcomes  # adopted as they are (power_on false)
    assert all(outcomes[name] == "deployed" for name in set(outcomes) - sent), outcomes
    assert len(deploy_posts(vc)) == 4  # one deploy per VM over both runs


def test_wait_false_returns_with_deploys_running_then_rerun_powers_them_on(vc, ansible):
    vc.admin.action("deploy-duration", {"seconds": 14})
    vms = wave(2)
    first = ansible.play([task(vms=vms, wait=False, **WAVE)], module_defaults=defaults(vc)).result("run")
    assert not failed(first) and first["changed"] is True, first
    assert [row["outcome"] for row in first["vms"]] == ["started", "started"], first["vms"]
    assert all(row["moref"] and row["answer_lost"] for row in first["vms"]), first["vms"]
    again = ansible.play([task("again", vms=vms, power_on=True, **WAVE)], module_defaults=defaults(vc)).result("again")
    assert not failed(again) and [row["outcome"] for row in again["vms"]] == ["powered_on", "powered_on"], again
    assert len(deploy_posts(vc)) == 2 and all(vm["power_state"] == "POWERED_ON" for vm in vc.admin.state()["vms"]
                                              if vm["name"].startswith("bulk-"))
