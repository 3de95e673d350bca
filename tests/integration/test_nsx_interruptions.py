"""nsx_vmgroup_execution after interruptions: run -> disturb -> re-run until green (issue 11).

Every scenario ends with the same proof, read from the systems, not from the module's answer:
every VM in place (host, vNIC backings, VIF ids), post_migrate recorded by NSX with exactly the
VMs not in place, one RelocateVM_Task per VM in vCenter's task list (the launcher's), and a
no-op re-run that sends nothing to NSX and starts no task.

One launcher, 7 hosts x 2 VMs, relocations of 2.5 s and SOAP sessions that end after about 1 s
idle (session expiry on the vCenter side); NSX runs with session auth and a short session timeout
where said. Each scenario uses its own VMs and moves them to the last host.
"""

import json
import urllib.request

import pytest

from tests.integration.test_nsx_vmgroup_execution import (MODULE, launcher_tasks, load_inventory, nics_of, nsx_args,
                                                          nsx_mutations, vc_args)
from tests.vcsim_fixtures import start_vcsim

RELOCATE_MS = 2500
TARGET = "DC0_C0_H5"  # scenarios move their VMs here (the dropped-answer one: to H3)
POST = {"method": "POST", "path": "^/api/v1/migration/vmgroup$", "query": "action=post_migrate"}


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    inst = start_vcsim(tmp_path_factory.mktemp("nsx-slow"), name="nsx-slow", tls=True, host=7, vm=2, nics=2,
                       nsx_segments=2, vds_version="7.0.0", relocate_ms=RELOCATE_MS, session_idle="1s")
    yield inst
    inst.stop()


def launcher_fault(inst, **spec):
    request = urllib.request.Request(inst.url.replace("/sdk", "/_launcher/fault"), data=json.dumps(spec).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, context=inst.ssl_context()).read()


def setup(nsx, inst, names, group, auth="basic", **extra):
    """Map every VM's two vNICs to the two NSX segments; the migrate task for them."""
    ls = sorted(inst.info["nsx_dvpgs"].values())
    vms = [inst.vm(name) for name in names]
    load_inventory(nsx, dict((v["instance_uuid"], {4000: ls[0], 4001: ls[1]}) for v in vms))
    args = dict(nsx_args(nsx, auth), **vc_args(inst), group_id=group, backing="dvpg", target_host=TARGET,
                vms=[v["instance_uuid"] for v in vms], parallel=2)
    args.update(extra)
    return vms, {"name": "migrate", MODULE: args}


def tasks_of(inst, vms):
    names = set(v["name"] for v in vms)
    return [t for t in launcher_tasks(inst) if t["vm_name"] in names]


def until_green(ansible, task, tries=4):
    for dummy in range(tries):
        run = ansible.play([task])
        if run.rc == 0:
            return run
    raise AssertionError("not green after %d runs:\n%s" % (tries, run.output[-3000:]))


def assert_converged(ansible, nsx, inst, vms, task, group):
    """Every VM in place, post_migrate right, one relocation per VM; then the no-op re-run sends nothing."""
    target = next(h["moref"] for h in inst.info["hosts"] if h["name"] == TARGET)
    keys = dict((ls, key) for key, ls in inst.info["nsx_dvpgs"].items())
    ls = sorted(inst.info["nsx_dvpgs"].values())
    for vm in vms:
        nics, host = nics_of(inst, None, vm["instance_uuid"])
        assert host == target, vm["name"]
        assert nics["4000"] == ("dvpg", keys[ls[0]], vm["instance_uuid"] + ":4000")
        assert nics["4001"] == ("dvpg", keys[ls[1]], vm["instance_uuid"] + ":4001")
    group_state = nsx.admin.state()["groups"][group]
    assert group_state["state"] == "post_migrated" and group_state["failed_vm_instance_ids"] == []
    per_vm = [t["vm_name"] for t in tasks_of(inst, vms)]
    assert sorted(per_vm) == sorted(v["name"] for v in vms), per_vm  # no VM relocated twice
    nsx.admin.clear_journal()
    again = ansible.play([task])
    assert again.rc == 0, again.output
    result = again.result("migrate")
    assert result["changed"] is False and result["post_migrate"] == "skipped"
    assert [v["outcome"] for v in result["vms"]] == ["unchanged"] * len(vms)
    assert nsx_mutations(nsx) == []
    assert len(tasks_of(inst, vms)) == len(vms)


def post_calls(nsx):
    return [e for e in nsx.admin.journal() if e["query"] == "action=post_migrate"]


def test_killed_mid_wave_then_rerun_adopts_the_running_relocations(ansible, nsx_emulator, slow):
    nsx = nsx_emulator
    nsx.admin.action("settings", {"session_timeout": 1.0})  # NSX sessions expire during the waits too
    vms, task = setup(nsx, slow, ["DC0_C0_H0_VM0", "DC0_C0_H0_VM1", "DC0_C0_H1_VM0", "DC0_C0_H1_VM1"], "int-kill",
                      auth="session")
    running = ansible.start([task])
    running.kill_when(lambda: sum(1 for t in tasks_of(slow, vms) if t["state"] == "running") >= 2, timeout=120)
    assert [t["state"] for t in tasks_of(slow, vms)].count("running") >= 1  # still moving after the kill
    run = until_green(ansible, task)
    result = run.result("migrate")
    # A relocation the killed run started and that ended meanwhile leaves its VM in place ("unchanged");
    # one still running is adopted (waited for, not started again): the task list below proves it.
    assert set(v["outcome"] for v in result["vms"]) <= {"relocated", "unchanged"}
    assert result["pre_migrate"] == "skipped" and result["post_migrate"] == "sent"
    posts = post_calls(nsx)
    assert posts[-1]["body"]["failed_vm_instance_ids"] == [] and posts[-1]["body"]["allow_override"] is True
    assert_converged(ansible, nsx, slow, vms, task, "int-kill")


def test_timeout_shorter_than_the_vmotion(ansible, nsx_emulator, slow):
    nsx = nsx_emulator
    vms, task = setup(nsx, slow, ["DC0_C0_H2_VM0", "DC0_C0_H2_VM1"], "int-timeout", timeout=1)
    run = ansible.play([task])
    result = run.result("migrate")
    assert run.rc != 0
    assert [v["outcome"] for v in result["vms"]] == ["in_progress", "in_progress"]
    assert all(v["task"] and v["task"] in result["msg"] for v in result["vms"])
    assert "vMotion goes on in vCenter" in result["msg"] and result["failed_vm_instance_ids"] == []
    # Never listed as failed while moving: post_migrate waits for the re-run.
    assert result["post_migrate"] == "deferred" and post_calls(nsx) == []
    task[MODULE]["timeout"] = 600
    run = until_green(ansible, task)
    # Adopted and waited for, or already ended before the re-run looked ("unchanged"): never started again.
    assert set(v["outcome"] for v in run.result("migrate")["vms"]) <= {"relocated", "unchanged"}
    assert_converged(ansible, nsx, slow, vms, task, "int-timeout")


@pytest.mark.parametrize("fault,group,vm", [
    (dict(POST, status=500, body={"error_code": 100, "error_message": "General error", "httpStatus": "INTERNAL_SERVER_ERROR"}),
     "int-post-500", "DC0_C0_H3_VM0"),
    (dict(POST, drop=True), "int-post-drop", "DC0_C0_H3_VM1"),
    (dict(POST, drop=True, after=True), "int-post-lost", "DC0_C0_H4_VM0"),
])
def test_post_migrate_lost_is_sent_again(ansible, nsx_emulator, slow, fault, group, vm):
    nsx = nsx_emulator
    vms, task = setup(nsx, slow, [vm], group)
    nsx.admin.fault(**fault)
    run = ansible.play([task])
    result = run.result("migrate")
    assert run.rc != 0 and result["post_migrate"] == "failed" and "post_migrate" in result["msg"]
    assert [v["outcome"] for v in result["vms"]] == ["relocated"] and result["changed"] is True
    nsx.admin.clear_journal()
    run = until_green(ansible, task)
    result = run.result("migrate")
    assert result["post_migrate"] == "sent" and result["vms"][0]["outcome"] == "unchanged"
    posts = post_calls(nsx)
    assert len(posts) == 1 and posts[0]["body"] == {"group_id": group, "failed_vm_instance_ids": [], "allow_override": True}
    assert_converged(ansible, nsx, slow, vms, task, group)


def test_dropped_vcenter_answer_on_one_relocate(ansible, nsx_emulator, slow):
    """The relocation starts but its answer is lost (an http.client error, not a vim fault): the VM is
    not failed; the run finds the running task, waits for it, and the others are not disturbed."""
    nsx = nsx_emulator
    vms, task = setup(nsx, slow, ["DC0_C0_H4_VM1", "DC0_C0_H5_VM0"], "int-vc-drop", target_host="DC0_C0_H3")
    launcher_fault(slow, drop_relocate_answers=1)
    run = ansible.play([task])
    assert run.rc == 0, run.output
    result = run.result("migrate")
    assert [v["outcome"] for v in result["vms"]] == ["relocated", "relocated"]
    assert sorted(t["vm_name"] for t in tasks_of(slow, vms)) == sorted(v["name"] for v in vms)
    group_state = nsx.admin.state()["groups"]["int-vc-drop"]
    assert group_state["state"] == "post_migrated" and group_state["failed_vm_instance_ids"] == []
    nsx.admin.clear_journal()
    again = ansible.play([task])
    assert again.rc == 0 and again.result("migrate")["changed"] is False and nsx_mutations(nsx) == []
    assert len(tasks_of(slow, vms)) == 2


def test_finalize_infra_lost_is_sent_again_then_never(ansible, nsx_emulator, slow):
    """finalize_infra keeps no readable trace either: its marker (the root folder's custom attribute)
    says a later run whether it still has to be sent."""
    nsx = nsx_emulator
    vms, task = setup(nsx, slow, ["DC0_C0_H5_VM1"], "int-finalize", finalize_infra=True)
    nsx.admin.fault(method="POST", path="^/api/v1/migration$", query="action=finalize_infra", drop=True, after=True)
    run = ansible.play([task])
    result = run.result("migrate")
    assert run.rc != 0 and result["finalize_infra"] == "failed" and result["post_migrate"] == "sent"
    assert nsx.admin.state()["finalize_count"] == 1  # NSX did it; the answer was lost
    run = until_green(ansible, task)
    result = run.result("migrate")
    assert result["finalize_infra"] == "sent" and result["post_migrate"] == "skipped"
    assert nsx.admin.state()["finalize_count"] == 2
    again = ansible.play([task])
    result = again.result("migrate")
    assert again.rc == 0 and result["changed"] is False and result["finalize_infra"] == "skipped"
    assert "already sent" in result["finalize_infra_reason"]
    assert nsx.admin.state()["finalize_count"] == 2
    assert_converged(ansible, nsx, slow, vms, task, "int-finalize")


def test_sessions_expire_on_both_sides_mid_run(ansible, nsx_emulator, slow):
    """NSX (session auth) and vCenter sessions both end while the run waits: one re-login each, one run."""
    nsx = nsx_emulator
    nsx.admin.action("settings", {"session_timeout": 1.0})
    vms, task = setup(nsx, slow, ["DC0_C0_H6_VM0", "DC0_C0_H6_VM1"], "int-sessions", auth="session")
    # pre_migrate waits 2.5 s before NSX reads it: the NSX session (1 s) has ended when it is checked
    # (403, one new login, pre_migrate sent again), the vCenter sessions (1 s idle limit) end before the
    # relocations start, and the NSX session ends again during the relocations (before post_migrate).
    nsx.admin.fault(method="POST", path="^/api/v1/migration/vmgroup$", query="action=pre_migrate", delay=2.5)
    run = ansible.play([task])
    assert run.rc == 0, run.output
    assert [v["outcome"] for v in run.result("migrate")["vms"]] == ["relocated", "relocated"]
    calls = [(e["path"], e["status"]) for e in nsx.admin.journal()]
    assert ("/api/v1/migration/vmgroup", 403) in calls and calls.count(("/api/session/create", 200)) >= 3
    posts = [e for e in nsx.admin.journal() if e["query"] == "action=pre_migrate" and e["status"] < 300]
    assert len(posts) == 1  # the refused one was not processed: one pre_migrate in effect
    assert_converged(ansible, nsx, slow, vms, task, "int-sessions")


@pytest.fixture(scope="module")
def slower(tmp_path_factory):
    """Relocations of 8 s: long enough for a check-mode run while the first run's vMotion goes on."""
    inst = start_vcsim(tmp_path_factory.mktemp("nsx-slower"), name="nsx-slower", tls=True, host=2, vm=1, nics=2,
                       nsx_segments=2, vds_version="7.0.0", relocate_ms=8000)
    yield inst
    inst.stop()


def test_check_mode_while_a_relocation_still_runs(ansible, nsx_emulator, slower):
    """After a run left a vMotion going on (here: its timeout), check mode tells what a real run would do:
    wait for the running task (not start another), then send post_migrate; it sends nothing and does not fail."""
    nsx = nsx_emulator
    ls = sorted(slower.info["nsx_dvpgs"].values())
    vm = slower.vm("DC0_C0_H0_VM0")
    load_inventory(nsx, {vm["instance_uuid"]: {4000: ls[0], 4001: ls[1]}})
    task = {"name": "migrate", MODULE: dict(nsx_args(nsx), **vc_args(slower), group_id="int-check", backing="dvpg",
                                            target_host="DC0_C0_H1", vms=[vm["instance_uuid"]],
                                            timeout=1)}
    first = ansible.play([task])
    assert first.rc != 0 and first.result("migrate")["vms"][0]["outcome"] == "in_progress"
    nsx.admin.clear_journal()
    check = ansible.play([task], check=True, diff=True)
    result = check.result("migrate")
    assert [t["state"] for t in launcher_tasks(slower)] == ["running"]  # still moving while check mode looked
    assert check.rc == 0, check.output
    assert result["changed"] is True and result["vms"][0]["action"] == "adopt"
    assert result["post_migrate"] == "would send" and result["failed_vm_instance_ids"] == []
    assert nsx_mutations(nsx) == [] and len(launcher_tasks(slower)) == 1
    task[MODULE]["timeout"] = 600
    run = ansible.play([task])
    assert run.rc == 0, run.output
    assert run.result("migrate")["post_migrate"] == "sent" and len(launcher_tasks(slower)) == 1
    assert nsx.admin.state()["groups"]["int-check"]["failed_vm_instance_ids"] == []


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    inst = start_vcsim(tmp_path_factory.mktemp("nsx-quick"), name="nsx-quick", tls=True, host=3, vm=3, nics=2,
                       nsx_segments=2, vds_version="7.0.0", relocate_ms=300)
    yield inst
    inst.stop()


PRE = {"method": "POST", "path": "^/api/v1/migration/vmgroup$", "query": "action=pre_migrate"}
API_500 = {"error_code": 100, "error_message": "General error", "httpStatus": "INTERNAL_SERVER_ERROR"}


@pytest.mark.parametrize("fault,group,vm", [
    (dict(PRE, status=500, body=API_500, after=True), "int-pre-500-after", "DC0_C0_H0_VM0"),
    (dict(PRE, status=503, body=dict(API_500, httpStatus="SERVICE_UNAVAILABLE"), after=True), "int-pre-503-after",
     "DC0_C0_H0_VM1"),
])
def test_pre_migrate_error_after_nsx_acted(ansible, nsx_emulator, quick, fault, group, vm):
    """NSX created the group but answered an error (a 503 is even retried, and the repeat refused: the group
    exists). The run re-reads the group, finds it created with every VM, and goes on in the same run."""
    nsx = nsx_emulator
    ls = sorted(quick.info["nsx_dvpgs"].values())
    uuid = quick.vm(vm)["instance_uuid"]
    load_inventory(nsx, {uuid: {4000: ls[0], 4001: ls[1]}})
    task = {"name": "migrate", MODULE: dict(nsx_args(nsx), **vc_args(quick), group_id=group, backing="dvpg",
                                            target_host="DC0_C0_H2", vms=[uuid])}
    nsx.admin.fault(**fault)
    run = ansible.play([task])
    assert run.rc == 0, run.output
    result = run.result("migrate")
    assert result["pre_migrate"] == "sent" and [v["outcome"] for v in result["vms"]] == ["relocated"]
    state = nsx.admin.state()["groups"][group]
    assert state["pre_migrate_count"] == 1 and state["state"] == "post_migrated" and state["failed_vm_instance_ids"] == []
    nsx.admin.clear_journal()
    again = ansible.play([task])
    assert again.rc == 0 and again.result("migrate")["changed"] is False and nsx_mutations(nsx) == []


def test_pre_migrate_refused_reports_nothing_changed(ansible, nsx_emulator, quick):
    """NSX refuses pre_migrate (it did nothing): the task fails naming the call, changed false."""
    nsx = nsx_emulator
    uuid = quick.vm("DC0_C0_H1_VM0")["instance_uuid"]
    load_inventory(nsx, {uuid: {4000: sorted(quick.info["nsx_dvpgs"].values())[0]}})
    nsx.admin.fault(**dict(PRE, status=500, body=API_500))
    run = ansible.play([{"name": "migrate", MODULE: dict(nsx_args(nsx), **vc_args(quick), group_id="int-pre-refused",
                                                         target_host="DC0_C0_H2", vms=[uuid])}])
    result = run.result("migrate")
    assert run.rc != 0 and "pre_migrate" in result["msg"] and "General error" in result["msg"]
    assert result["changed"] is False and "int-pre-refused" not in nsx.admin.state()["groups"]
    assert [t for t in launcher_tasks(quick) if t["vm_name"] == "DC0_C0_H1_VM0"] == []


@pytest.mark.parametrize("after,group,vm", [(False, "int-mark-lost", "DC0_C0_H1_VM1"), (True, "int-mark-answer-lost", "DC0_C0_H2_VM0")])
def test_post_migrate_marker_lost(ansible, nsx_emulator, quick, after, group, vm):
    """post_migrate accepted, then the marker write's answer is lost (before or after vCenter wrote it), as
    when a run is killed between the two: the run warns and succeeds; the re-run resends post_migrate (with
    allow_override, listing no VM as failed) only when the marker is really missing, then sends nothing."""
    nsx = nsx_emulator
    ls = sorted(quick.info["nsx_dvpgs"].values())
    uuid = quick.vm(vm)["instance_uuid"]
    load_inventory(nsx, {uuid: {4000: ls[0], 4001: ls[1]}})
    task = {"name": "migrate", MODULE: dict(nsx_args(nsx), **vc_args(quick), group_id=group, backing="dvpg",
                                            target_host="DC0_C0_H0", vms=[uuid])}
    launcher_fault(quick, call={"method": "SetField", "count": 1, "drop": True, "after": after})
    run = ansible.play([task])
    assert run.rc == 0, run.output
    assert "marker could not be written" in run.output and run.result("migrate")["post_migrate"] == "sent"
    nsx.admin.clear_journal()
    again = ansible.play([task])
    assert again.rc == 0, again.output
    result = again.result("migrate")
    if after:  # the marker is there: nothing to send
        assert result["changed"] is False and result["post_migrate"] == "skipped" and nsx_mutations(nsx) == []
    else:
        assert result["changed"] is True and result["post_migrate"] == "sent"
        assert [e["body"] for e in post_calls(nsx)] == [{"group_id": group, "failed_vm_instance_ids": [], "allow_override": True}]
        nsx.admin.clear_journal()
        third = ansible.play([task])
        assert third.rc == 0 and third.result("migrate")["changed"] is False and nsx_mutations(nsx) == []
    assert len([t for t in launcher_tasks(quick) if t["vm_name"] == vm]) == 1


@pytest.mark.parametrize("acted,group,vm", [(True, "int-kill-pre", "DC0_C0_H2_VM1"), (False, "int-kill-pre-lost", "DC0_C0_H2_VM2")])
def test_killed_while_pre_migrate_is_in_flight(ansible, nsx_emulator, quick, acted, group, vm):
    """The run is killed once pre_migrate was sent, before its answer; NSX then creates the group (acted) or
    never sees the call. The re-run creates the group only if it is missing, migrates and posts once."""
    import time
    nsx = nsx_emulator
    ls = sorted(quick.info["nsx_dvpgs"].values())
    uuid = quick.vm(vm)["instance_uuid"]
    load_inventory(nsx, {uuid: {4000: ls[0], 4001: ls[1]}})
    task = {"name": "migrate", MODULE: dict(nsx_args(nsx), **vc_args(quick), group_id=group, backing="dvpg",
                                            target_host="DC0_C0_H0", vms=[uuid])}
    nsx.admin.fault(**dict(PRE, delay=1.5, **({} if acted else {"drop": True})))
    ansible.start([task]).kill_when(lambda: any(e["query"] == "action=pre_migrate" for e in nsx.admin.journal()),
                                    timeout=120)
    time.sleep(2)  # the delayed call completes (or is dropped) on the server
    assert (group in nsx.admin.state()["groups"]) is acted
    run = ansible.play([task])
    assert run.rc == 0, run.output
    result = run.result("migrate")
    assert result["pre_migrate"] == ("skipped" if acted else "sent") and result["vms"][0]["outcome"] == "relocated"
    state = nsx.admin.state()["groups"][group]
    assert state["pre_migrate_count"] == 1 and state["post_migrate_count"] == 1 and state["failed_vm_instance_ids"] == []
    assert len([t for t in launcher_tasks(quick) if t["vm_name"] == vm]) == 1
    nsx.admin.clear_journal()
    again = ansible.play([task])
    assert again.rc == 0 and again.result("migrate")["changed"] is False and nsx_mutations(nsx) == []


def test_killed_after_post_migrate_sent_before_its_marker(ansible, nsx_emulator, quick):
    """Killed once post_migrate was sent (NSX processes it after the kill), before the marker was written:
    the re-run cannot know, so it sends post_migrate again, with allow_override and no VM listed as failed;
    then it marks the VM and the next run sends nothing."""
    import time
    nsx = nsx_emulator
    ls = sorted(quick.info["nsx_dvpgs"].values())
    vm = "DC0_C0_H1_VM2"
    uuid = quick.vm(vm)["instance_uuid"]
    load_inventory(nsx, {uuid: {4000: ls[0], 4001: ls[1]}})
    task = {"name": "migrate", MODULE: dict(nsx_args(nsx), **vc_args(quick), group_id="int-kill-post", backing="dvpg",
                                            target_host="DC0_C0_H0", vms=[uuid])}
    nsx.admin.fault(**dict(POST, delay=1.5))
    ansible.start([task]).kill_when(lambda: bool(post_calls(nsx)), timeout=120)
    time.sleep(2)
    assert nsx.admin.state()["groups"]["int-kill-post"]["post_migrate_count"] == 1
    nsx.admin.clear_journal()
    run = ansible.play([task])
    assert run.rc == 0, run.output
    result = run.result("migrate")
    assert result["pre_migrate"] == "skipped" and result["post_migrate"] == "sent" and result["vms"][0]["outcome"] == "unchanged"
    assert [e["body"] for e in post_calls(nsx)] == [{"group_id": "int-kill-post", "failed_vm_instance_ids": [],
                                                     "allow_override": True}]
    assert len([t for t in launcher_tasks(quick) if t["vm_name"] == vm]) == 1
    nsx.admin.clear_journal()
    again = ansible.play([task])
    assert again.rc == 0 and again.result("migrate")["changed"] is False and nsx_mutations(nsx) == []


@pytest.fixture(scope="module")
def xvc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nsx-xvc")
    source = start_vcsim(tmp, wait=False, name="xsrc", tls=True, host=2, vm=1, nics=2, relocate_ms=300)
    target = start_vcsim(tmp, wait=False, name="xdst", tls=True, host=2, vm=1, nsx_segments=2, vds_version="7.0.0",
                         relocate_ms=300, password="Target-Vc-Secret-2026")
    source.wait_ready()
    target.wait_ready()
    yield source, target
    source.stop()
    target.stop()


def test_cross_vcenter_vm_nsx_no_longer_finds_in_the_source(ansible, nsx_emulator, xvc):
    """After a cross-vCenter vMotion the VM is gone from the source vCenter, so NSX (which looks there) may list
    it in failed_vm_instance_ids and map none of its vNICs. A re-run must not call that migrated VM failed,
    nor tell NSX so: it is in place on the target with its VIF ids."""
    nsx = nsx_emulator
    source, target = xvc
    ls = sorted(target.info["nsx_dvpgs"].values())
    uuid = source.vm("DC0_C0_H0_VM0")["instance_uuid"]
    load_inventory(nsx, {uuid: {4000: ls[0], 4001: ls[1]}})
    task = {"name": "xvc", MODULE: dict(nsx_args(nsx), **vc_args(source), **vc_args(target, "target_vcenter_"),
                                        group_id="int-xvc-gone", target_host="DC0_C0_H1", target_datastore="LocalDS_0",
                                        vms=[uuid])}
    run = ansible.play([task])
    assert run.rc == 0, run.output
    load_inventory(nsx, {})  # NSX no longer finds the VM in the source vCenter
    nsx.admin.clear_journal()
    for check in (True, False):
        again = ansible.play([task], check=check)
        assert again.rc == 0, again.output
        result = again.result("xvc")
        assert [v["outcome"] for v in result["vms"]] == ["unchanged"] and result["failed_vm_instance_ids"] == []
        assert result["changed"] is False and result["post_migrate"] == "skipped"
    assert nsx_mutations(nsx) == [] and nsx.admin.state()["groups"]["int-xvc-gone"]["failed_vm_instance_ids"] == []


def test_wait_false_returns_in_progress_then_a_waiting_run_adopts(ansible, nsx_emulator, slow):
    """wait: false starts the relocations and returns them in_progress (post_migrate deferred, no failure);
    a later run with wait: true waits for those very tasks (none started again), then sends post_migrate."""
    nsx = nsx_emulator
    names = ["DC0_C0_H0_VM0", "DC0_C0_H0_VM1"]
    vms, task = setup(nsx, slow, names, "int-nowait", target_host="DC0_C0_H6", wait=False)
    task[MODULE]["vms"] = names  # by name
    before = len(tasks_of(slow, vms))
    run = ansible.play([task])
    assert run.rc == 0, run.output
    result = run.result("migrate")
    assert result["changed"] is True and result["pre_migrate"] == "sent" and result["failed_vm_instance_ids"] == []
    moving = [v for v in result["vms"] if v["outcome"] == "in_progress"]
    # The re-read comes right after the starts, well within the 2.5 s relocations: at least the last one still moves.
    assert moving and all(v["task"] for v in moving), result["vms"]
    assert set(v["outcome"] for v in result["vms"]) <= {"in_progress", "relocated"}
    assert result["post_migrate"] == "deferred" and post_calls(nsx) == []
    assert len(tasks_of(slow, vms)) == before + 2
    task[MODULE]["wait"] = True
    run = until_green(ansible, task)
    result = run.result("migrate")
    assert set(v["outcome"] for v in result["vms"]) <= {"relocated", "unchanged"} and result["post_migrate"] == "sent"
    assert len(tasks_of(slow, vms)) == before + 2  # waited for, never started again
    host = next(h["moref"] for h in slow.info["hosts"] if h["name"] == "DC0_C0_H6")
    assert all(nics_of(slow, None, vm["instance_uuid"])[1] == host for vm in vms)
    assert [e["body"]["failed_vm_instance_ids"] for e in post_calls(nsx)] == [[]]
