"""The zstack_storage_migration role (issue 14): one bulk call to plan, one to migrate; on its list
variable and on a hybridcloud.migration.wave_plan inventory, whole and sliced as AWX slices a job."""

import json
import os
import subprocess
import sys

import pytest

from tests.emulators import zstack as emu
from tests.integration.playbook import COLLECTIONS_PATH, HERE, _read_records
from tests.integration.zstack_helpers import (
    PASSWORD, assert_no_secrets, bulk_names, migrations_per_vm, operations, placement, prepare_many)

ROLE = "hybridcloud.migration.zstack_storage_migration"
MODULE = "hybridcloud.migration.zstack_ps_migrate"


@pytest.fixture()
def zstack(zstack_emulator):
    return zstack_emulator


def environment(handle, records):
    """ZSTACK_* variables (what an AWX credential injects): the role takes no credentials."""
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
                ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"), ANSIBLE_CALLBACKS_ENABLED="record_results",
                RECORD_RESULTS_FILE=str(records), ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false",
                ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                ZSTACK_HOST="127.0.0.1", ZSTACK_PORT=handle.url.rsplit(":", 1)[1], ZSTACK_PROTOCOL="https",
                ZSTACK_CA_CERT=handle.ca_path, ZSTACK_USERNAME="admin", ZSTACK_PASSWORD=PASSWORD)


def playbook(tmp_path, handle, play, inventory=None, check=False, limit=None, name="run"):
    path = tmp_path / ("%s.yml" % name)
    path.write_text(json.dumps([play]))
    records = tmp_path / ("%s.jsonl" % name)
    if records.exists():
        records.unlink()
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)]
    command += ["-i", inventory] if inventory else ["-i", "localhost,", "-c", "local"]
    if check:
        command.append("--check")
    if limit:
        command += ["--limit", ",".join(limit)]
    proc = subprocess.run(command, cwd=str(tmp_path), env=environment(handle, records), capture_output=True, text=True,
                          check=False, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr, _read_records(str(records))


def by_task(records, fragment):
    return [r for r in records if fragment in r["task"]]


def list_play(names, **more):
    return {"hosts": "localhost", "gather_facts": False,
            "roles": [{"role": ROLE, "vars": dict(zstack_storage_migration_vms=names,
                                                  zstack_storage_migration_target_primary_storage="ps-ceph-01", **more)}]}


def test_list_variable_plan_once_migrate_once_then_nothing(tmp_path, zstack):
    uuids = prepare_many(zstack, 12, on_ceph=(0,), migrate_duration=1.0)
    names = bulk_names(12)
    rc, output, records = playbook(tmp_path, zstack, list_play(names, zstack_storage_migration_parallel=4), check=True)
    assert rc == 0, output[-3000:]
    assert operations(zstack) == []
    plans = by_task(records, "plan its migration")
    assert len(plans) == 1 and plans[0]["result"]["changed"] is False  # planning is not a change
    assert len(plans[0]["result"]["results"]) == 1  # one module call for all the VMs
    assert output.count("VM bulk-005 (") == 1  # the plan is printed once
    assert "VM bulk-005 (%s\u2026): would migrate, from ps-nfs-01" % uuids[5][:8] in output

    rc, output, records = playbook(tmp_path, zstack, list_play(names, zstack_storage_migration_parallel=4))
    assert rc == 0, output[-3000:]
    changed = [r["task"] for r in records if r["result"].get("changed")]
    # the task's name as a callback sees it differs between ansible-core releases (role prefix or not)
    assert len(changed) == 1 and "Migrate every VM, at most" in changed[0], changed
    assert migrations_per_vm(zstack) == {u: 1 for u in uuids[1:]}
    summary = by_task(records, "Summarise")[0]["result"]["ansible_facts"]["zstack_storage_migration_summary"]
    assert [row["result"] for row in summary] == ["unchanged"] + ["migrated"] * 11
    assert summary[1]["object"] == "VM bulk-001 (%s\u2026)" % uuids[1][:8] and summary[1]["from"].startswith("ps-nfs-01")
    assert_no_secrets(zstack, output)

    zstack.admin.clear_journal()
    rc, output, records = playbook(tmp_path, zstack, list_play(names))
    assert rc == 0 and not [r for r in records if r["result"].get("changed")], output[-3000:]
    assert operations(zstack) == []
    summary = by_task(records, "Summarise")[0]["result"]["ansible_facts"]["zstack_storage_migration_summary"]
    assert [row["result"] for row in summary] == ["unchanged"] * 12  # from the plan: no migrate call was needed


def write_wave_plan(directory, names, destination="ps-ceph-01"):
    rows = ["vm,platform,source,destination,wave"] + ["%s,zstack,ps-nfs-01,%s,1" % (n, destination) for n in names]
    rows += ["other-%02d,nsx,esx-01,esx-02,1" % i for i in range(3)]  # not ZStack's: left out
    (directory / "waves.csv").write_text("\n".join(rows) + "\n")
    source = directory / "night1.wave_plan.yml"
    source.write_text("plugin: hybridcloud.migration.wave_plan\nplan: waves.csv\n")
    return str(source)


INVENTORY_PLAY = {"hosts": "all", "gather_facts": False, "roles": [{"role": ROLE}]}


def test_wave_plan_inventory_sliced_in_three_migrates_every_vm_exactly_once(tmp_path, zstack):
    uuids = prepare_many(zstack, 24, on_ceph=(7,), stopped=(3,), migrate_duration=1.0)
    names = bulk_names(24)
    source = write_wave_plan(tmp_path, names)
    hosts = sorted(names + ["other-%02d" % i for i in range(3)])
    calls = []
    for number in range(3):
        chosen = hosts[number::3]  # what AWX hands slice NUMBER of 3: hosts in name order, index modulo 3
        rc, output, records = playbook(tmp_path, zstack, INVENTORY_PLAY, inventory=source, limit=chosen,
                                       name="slice-%d" % number)
        assert rc == 0, output[-3000:]
        migrate = by_task(records, "Migrate every VM")
        assert len(migrate) == 1 and len(migrate[0]["result"]["results"]) == 1  # one bulk call per slice
        done = migrate[0]["result"]["results"][0]["vms"]
        assert sorted(e["name"] for e in done) == sorted(h for h in chosen if h.startswith("bulk-"))
        calls.append(len(done))
    assert sum(calls) == 24
    # every VM migrated exactly once (the one already there never), one PrimaryStorageMigrateVm each
    assert migrations_per_vm(zstack) == {u: 1 for i, u in enumerate(uuids) if i != 7}
    assert all(where == {emu.PS_CEPH} for where in placement(zstack, uuids).values())

    # the whole inventory again: one planning call, every VM unchanged, so no migrate call; nothing sent
    zstack.admin.clear_journal()
    rc, output, records = playbook(tmp_path, zstack, INVENTORY_PLAY, inventory=source, name="whole")
    assert rc == 0 and not [r for r in records if r["result"].get("changed")], output[-3000:]
    plan = by_task(records, "plan its migration")[0]["result"]["results"]
    assert len(plan) == 1 and [e["outcome"] for e in plan[0]["vms"]] == ["unchanged"] * 24
    assert ["vms" in r for r in by_task(records, "Migrate every VM")[0]["result"]["results"]] == [False]  # skipped
    assert operations(zstack) == []
