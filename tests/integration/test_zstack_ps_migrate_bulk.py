"""zstack_ps_migrate with ``vms`` (issue 14): many VMs in one task, through ansible-playbook and the emulator."""

import pytest

from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import (
    assert_no_secrets, bulk_names, migrations_per_vm, module_defaults, operations, placement, prepare_many)

MODULE = "hybridcloud.migration.zstack_ps_migrate"
COUNT = 22
ON_CEPH = (0, 1, 2)  # already there: unchanged
FAILING = 3  # scripted failure: its root volume moves, then SYS.1006
BUSY = 4  # a migration of it is already running when the bulk task starts: adopted


@pytest.fixture()
def zstack(zstack_emulator):
    return zstack_emulator


def task(name, **args):
    return {"name": name, MODULE: dict(dict(target_primary_storage="ps-ceph-01"), **args), "ignore_errors": True}


def play(ansible, zstack, *tasks, **kwargs):
    return ansible.play(list(tasks), module_defaults=module_defaults(zstack), **kwargs)


def by_name(result):
    return {entry["name"]: entry for entry in result["vms"]}


def test_mixed_wave_then_check_mode_then_reruns(ansible, zstack):
    # long enough for the busy VM's migration to be still running when the bulk task reads (a loaded machine)
    uuids = prepare_many(zstack, COUNT, on_ceph=ON_CEPH, stopped=(5, 6), migrate_duration=6.0)
    names = bulk_names(COUNT)
    zstack.admin.action("config", {"migrate_failures": {uuids[FAILING]: "disk copy failed (scripted)"}})
    vms = [uuids[i] if i % 5 == 0 else name for i, name in enumerate(names)]  # uuids and names mixed

    run = play(ansible, zstack, task("busy", vm=names[BUSY], wait=False), task("wave", vms=vms, parallel=8), verbosity=4)
    busy, wave = run.result("busy"), run.result("wave")
    assert busy["changed"] is True and busy["long_job_uuid"], busy.get("msg")
    assert wave["_status"] == "failed" and wave["changed"] is True
    # the task fails at the end, naming the failed VM with ZStack's code and message, and only it
    assert "1 of %d VM(s) failed" % COUNT in wave["msg"] and names[FAILING] in wave["msg"]
    assert "SYS.1006" in wave["msg"] and "disk copy failed" in wave["msg"]
    entries = by_name(wave)
    assert [e["name"] for e in wave["vms"]] == names  # in the order given
    for index, name in enumerate(names):
        entry = entries[name]
        assert entry["uuid"] == uuids[index] and entry["to"].startswith("ps-ceph-01 (")
        expected = ("unchanged" if index in ON_CEPH else "failed" if index == FAILING
                    else "adopted" if index == BUSY else "migrated")
        assert entry["outcome"] == expected, (name, entry)
        if expected == "migrated":
            assert entry["from"].startswith("ps-nfs-01 (") and entry["error"] == ""
            assert len(entry["jobs"]) == 2 and entry["ended"] >= entry["started"] > 0
            assert entry["mode"] == ("offline" if index in (5, 6) else "live")
            assert [v["type"] for v in entry["moved_volumes"]] == ["Root", "Data"]
    assert entries[names[BUSY]]["jobs"] == [busy["long_job_uuid"]]
    assert entries[names[0]]["jobs"] == [] and entries[names[0]]["started"] is None
    failed = entries[names[FAILING]]
    assert failed["error"].startswith("SYS.1006") and [v["type"] for v in failed["moved_volumes"]] == ["Root"]
    # one PrimaryStorageMigrateVm per VM that had to move, the busy one's sent by the first task only
    calls = migrations_per_vm(zstack)
    assert calls == {uuids[i]: 1 for i in range(COUNT) if i not in ON_CEPH}
    where = placement(zstack, uuids)
    assert all(where[uuids[i]] == {emu.PS_CEPH} for i in range(COUNT) if i != FAILING)
    assert_no_secrets(zstack, run.output)

    # check mode: no mutating call, each VM's planned outcome, a diff of what moves only
    zstack.admin.clear_journal()
    run = play(ansible, zstack, task("plan", vms=vms), check=True, diff=True)
    plan = run.result("plan")
    assert plan["_status"] == "ok" and plan["changed"] is True and operations(zstack) == []
    outcomes = {e["name"]: e["outcome"] for e in plan["vms"]}
    assert outcomes.pop(names[FAILING]) == "would migrate" and set(outcomes.values()) == {"unchanged"}
    before, after = plan["diff"]["before"]["vms"], plan["diff"]["after"]["vms"]
    assert list(before) == list(after) == ["%s (%s\u2026)" % (names[FAILING], uuids[FAILING][:8])]
    assert list(before.values())[0] == {"%s-data-1 (%s\u2026)" % (names[FAILING], emu.stable_id(
        "%s/data-1" % uuids[FAILING])[:8]): "ps-nfs-01 (%s\u2026)" % emu.PS_NFS[:8]}

    # the failure fixed: only that VM moves, then a re-run sends nothing and changes nothing
    zstack.admin.action("config", {"migrate_failures": {}})
    run = play(ansible, zstack, task("fix", vms=vms))
    assert run.result("fix")["_status"] == "ok" and run.result("fix")["changed"] is True
    assert by_name(run.result("fix"))[names[FAILING]]["outcome"] == "migrated"
    assert migrations_per_vm(zstack) == {uuids[FAILING]: 1}
    zstack.admin.clear_journal()
    run = play(ansible, zstack, task("again", vms=vms))
    again = run.result("again")
    assert again["_status"] == "ok" and again["changed"] is False, again.get("msg")
    assert {e["outcome"] for e in again["vms"]} == {"unchanged"} and operations(zstack) == []
    assert again["msg"].startswith("%d VM(s): %d unchanged" % (COUNT, COUNT))


def test_check_mode_sends_nothing(ansible, zstack):
    prepare_many(zstack, COUNT, on_ceph=ON_CEPH)
    run = play(ansible, zstack, task("plan", vms=bulk_names(COUNT), parallel=4), check=True)
    plan = run.result("plan")
    assert plan["changed"] is True and operations(zstack) == []
    assert [e["outcome"] for e in plan["vms"]] == ["unchanged"] * 3 + ["would migrate"] * (COUNT - 3)


def test_killed_run_rerun_sends_no_duplicate_migration(ansible, zstack):
    uuids = prepare_many(zstack, 20, migrate_duration=2.0)
    running = ansible.start([task("wave", vms=bulk_names(20), parallel=8)], module_defaults=module_defaults(zstack))
    running.kill_when(lambda: sum(migrations_per_vm(zstack).values()) >= 10, interval=0.02, timeout=180)
    sent_before = migrations_per_vm(zstack)
    assert 10 <= sum(sent_before.values()) < 20
    run = play(ansible, zstack, task("rerun", vms=bulk_names(20), parallel=8))
    rerun = run.result("rerun")
    assert rerun["_status"] == "ok", rerun.get("msg")
    # every VM migrated exactly once in all: nothing the killed run sent was sent again
    assert migrations_per_vm(zstack) == {u: 1 for u in uuids}
    assert all(where == {emu.PS_CEPH} for where in placement(zstack, uuids).values())
    outcomes = {e["uuid"]: e["outcome"] for e in rerun["vms"]}
    assert all(outcomes[u] == "migrated" for u in uuids if u not in sent_before)
    assert all(outcomes[u] in ("adopted", "unchanged") for u in sent_before)


def test_killed_while_zstack_still_processes_its_calls_rerun_adopts_them_with_one_put_each(ansible, zstack):
    # The killed run's calls are accepted (202) but not processed yet (accept-delay): no LongJob, no VM
    # state shows them, only their api-jobs. The re-run asks ZStack about each call's X-Job-UUID before
    # sending it, finds those api-jobs running and adopts them: one PUT per VM in the journal, no refused
    # duplicate. The window is long (30 s) so that a slow start of the re-run still falls into it.
    uuids = prepare_many(zstack, 20, migrate_duration=1.0, accept_delay=30.0)
    running = ansible.start([task("wave", vms=bulk_names(20), parallel=8)], module_defaults=module_defaults(zstack))
    running.kill_when(lambda: sum(migrations_per_vm(zstack).values()) >= 8, interval=0.02, timeout=180)
    sent_before = migrations_per_vm(zstack)
    assert sent_before == {u: 1 for u in uuids[:8]}
    state = zstack.admin.state()
    assert [j for j in state["longjobs"] if j["jobName"] == emu.MIGRATE_JOB] == []  # nothing shows them yet
    assert {vm["state"] for vm in state["vm-instances"] if vm["uuid"] in uuids} == {"Running"}
    zstack.admin.action("accept-delay", {"seconds": 0})  # the re-run's own calls: processed at once
    run = play(ansible, zstack, task("rerun", vms=bulk_names(20), parallel=8))
    rerun = run.result("rerun")
    assert rerun["_status"] == "ok" and rerun["changed"] is True, rerun.get("msg")
    puts = [e for e in zstack.admin.mutations() if e["method"] == "PUT" and e["path"].startswith("/zstack/v1/vm-")]
    assert len(puts) == 20 and {e["status"] for e in puts} == {202}  # no "Duplicate job uuid" refusal
    assert migrations_per_vm(zstack) == {u: 1 for u in uuids}
    assert all(where == {emu.PS_CEPH} for where in placement(zstack, uuids).values())
    jobs = {j["uuid"]: j for j in zstack.admin.state()["longjobs"] if j["jobName"] == emu.MIGRATE_JOB}
    assert len(jobs) == 20  # each VM migrated once
    for entry in rerun["vms"]:
        if entry["uuid"] in sent_before:
            # adopted through the killed run's api-job (its X-Job-UUID is the LongJob's apiId), not re-sent
            assert entry["outcome"] == "adopted" and entry["error"] == "", entry
            api_job, long_job = entry["jobs"]
            assert jobs[long_job]["apiId"] == api_job
        else:
            assert entry["outcome"] == "migrated" and len(entry["jobs"]) == 2, entry
        assert entry["ended"] >= entry["started"] > 0
        assert [v["type"] for v in entry["moved_volumes"]] == ["Root", "Data"]

    # and a re-run of that: nothing to do, nothing sent
    zstack.admin.clear_journal()
    again = play(ansible, zstack, task("again", vms=bulk_names(20), parallel=8)).result("again")
    assert again["_status"] == "ok" and again["changed"] is False and operations(zstack) == []
    assert {e["outcome"] for e in again["vms"]} == {"unchanged"}


BAD = [
    ("both", "vm|vms", "mutually exclusive", dict(vm="web-01", vms=["db-01"])),
    ("empty", "vms", "at least one VM", dict(vms=[])),
    ("unknown", "vms", "no VM has the uuid or name 'no-such-vm'", dict(vms=["web-01", "no-such-vm"])),
    ("ambiguous", "vms", "'app-01' is ambiguous", dict(vms=["app-01"])),
    ("twice", "vms", "are the same VM", dict(vms=["web-01", emu.VM_WEB])),
    ("operator", "vms", "reads as an operator", dict(vms=["x~=%"])),
    ("parallel", "parallel", "between 1 and 64, got 65", dict(vms=["web-01"], parallel=65)),
]


def test_bad_input_fails_naming_the_parameter_before_any_call(ansible, zstack):
    prepare_many(zstack, 1)
    run = play(ansible, zstack, *[task(name, **args) for name, dummy, dummy2, args in BAD])
    for name, parameter, problem, dummy in BAD:
        result = run.result(name)
        assert result["_status"] == "failed" and result["changed"] is False, name
        named = parameter if "|" in parameter else "parameter '%s'" % parameter
        assert named in result["msg"] and problem in result["msg"], (name, result["msg"])
    assert operations(zstack) == []
