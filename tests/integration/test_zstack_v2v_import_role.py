"""The zstack_v2v_import role (issue 14): one bulk call to plan, one to convert; on its list variable
and on a hybridcloud.migration.wave_plan inventory (platform zstack_v2v), whole, sliced as AWX slices
a job, with --limit and serial, and beside the rows of another role in the same plan."""

import json

import pytest

from tests.emulators import zstack as emu
from tests.integration.test_zstack_storage_migration_role import by_task, playbook
from tests.integration.zstack_helpers import (
    assert_no_secrets, bulk_names, migrations_per_vm, operations, placement, prepare, prepare_many)

ROLE = "hybridcloud.migration.zstack_v2v_import"
V2V_POST = ("POST", "/zstack/v1/v2vs")
# What every conversion shares; the plan's rows add their own columns.
DEFAULTS = {"l3_networks": ["l3-prod"], "conversion_host": "v2v-ch-01", "strategy": "JustConvert"}


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator, v2v_duration=1.0, v2v_start_delay=0.1)


def source(index):
    return "vmware://%032x" % (0x7e570000 + index)


def converted(handle):
    """{new VM name: POST /v2vs ZStack received for it} (the journal)."""
    counts = {}
    for entry in handle.admin.mutations():
        if (entry["method"], entry["path"]) == V2V_POST:
            name = entry["body"]["params"]["name"]
            counts[name] = counts.get(name, 0) + 1
    return counts


def vm_names(handle):
    return sorted(v["name"] for v in handle.admin.state()["vm-instances"])


def v2v_rows(count, prefix="imp", waves=3):
    """COUNT zstack_v2v rows: each its source URL, primary storage and size; every third one names its own
    L3 network and guest platform (plan columns), the others take the role's defaults."""
    rows = []
    for i, name in enumerate(bulk_names(count, prefix)):
        own = i % 3 == 0
        rows.append({"vm": name, "platform": "zstack_v2v", "source": source(i), "destination": "ps-nfs-01",
                     "wave": str(1 + i % waves), "cpu_num": str(1 + i % 4), "memory_size": str((1 + i % 2) * 1024 ** 3),
                     "l3_networks": "l3-prod" if own else "", "guest_platform": "Linux" if own else "",
                     "ticket": "CHG-%d" % i})  # a column the role leaves out
    return rows


COLUMNS = ["vm", "platform", "source", "destination", "wave", "cpu_num", "memory_size", "l3_networks", "guest_platform",
           "ticket"]


def write_plan(directory, rows, fmt="csv"):
    if fmt == "csv":
        lines = [",".join(COLUMNS)] + [",".join(row.get(c, "") for c in COLUMNS) for row in rows]
        (directory / "waves.csv").write_text("\n".join(lines) + "\n")
        plan = "waves.csv"
    else:
        (directory / "waves.yml").write_text(json.dumps({"vms": rows}))
        plan = "waves.yml"
    path = directory / "night1.wave_plan.yml"
    path.write_text("plugin: hybridcloud.migration.wave_plan\nplan: %s\n" % plan)
    return str(path)


def inventory_play(**more):
    play = {"hosts": "all", "gather_facts": False,
            "roles": [{"role": ROLE, "vars": {"zstack_v2v_import_defaults": DEFAULTS, "zstack_v2v_import_parallel": 8}}]}
    play.update(more)
    return play


def calls(records, task):
    """The module results of TASK (a fragment of its name) that really ran (skipped ones left out)."""
    return [r["result"] for r in by_task(records, task) if "vms" in r["result"]]


def test_list_variable_plan_once_convert_once_then_nothing(tmp_path, zstack):
    wave = [{"name": "erp-%02d" % i, "url": source(100 + i), "cpu_num": 2, "memory_size": 4 * 1024 ** 3} for i in range(4)]
    play = {"hosts": "localhost", "gather_facts": False,
            "roles": [{"role": ROLE, "vars": {"zstack_v2v_import_vms": wave,
                                              "zstack_v2v_import_defaults": dict(DEFAULTS, primary_storage="ps-nfs-01")}}]}
    rc, output, records = playbook(tmp_path, zstack, play, check=True)
    assert rc == 0, output[-3000:]
    assert operations(zstack) == []
    plan = calls(records, "plan it before")
    assert len(plan) == 1 and plan[0]["changed"] is False and len(plan[0]["vms"]) == 4
    assert output.count("VM erp-02: would convert, from %s" % source(102)) == 1  # printed once

    rc, output, records = playbook(tmp_path, zstack, play)
    assert rc == 0, output[-3000:]
    assert [r["task"] for r in records if r["result"].get("changed")] == [
        r["task"] for r in by_task(records, "Convert every VM")]
    assert converted(zstack) == {"erp-%02d" % i: 1 for i in range(4)}
    summary = by_task(records, "Summarise")[0]["result"]["ansible_facts"]["zstack_v2v_import_summary"]
    assert [row["result"] for row in summary] == ["converted"] * 4
    assert_no_secrets(zstack, output)

    zstack.admin.clear_journal()
    rc, output, records = playbook(tmp_path, zstack, play)
    assert rc == 0 and not [r for r in records if r["result"].get("changed")], output[-3000:]
    assert operations(zstack) == [] and calls(records, "Convert every VM") == []


@pytest.mark.parametrize("fmt", ["csv", "yml"])
def test_wave_plan_sliced_in_three_converts_every_vm_exactly_once(tmp_path, zstack, fmt):
    rows = v2v_rows(30) + [{"vm": "web-%02d" % i, "platform": "zstack", "destination": "ps-ceph-01", "wave": "1"}
                           for i in range(2)]  # storage migrations: not this role's
    source_path = write_plan(tmp_path, rows, fmt)
    names = bulk_names(30, "imp")
    hosts = sorted(row["vm"] for row in rows)
    sizes = []
    for number in range(3):
        chosen = hosts[number::3]  # what AWX hands slice NUMBER of 3: hosts in name order, index modulo 3
        rc, output, records = playbook(tmp_path, zstack, inventory_play(), inventory=source_path, limit=chosen,
                                       name="slice-%d" % number)
        assert rc == 0, output[-3000:]
        plan, convert = calls(records, "plan it before"), calls(records, "Convert every VM")
        assert len(plan) == 1 and len(convert) == 1  # one bulk call set per slice
        mine = sorted(h for h in chosen if h.startswith("imp-"))
        assert sorted(e["name"] for e in plan[0]["vms"]) == mine
        assert sorted(e["name"] for e in convert[0]["vms"]) == mine
        assert {e["outcome"] for e in convert[0]["vms"]} == {"converted"}
        sizes.append(len(mine))
    assert sum(sizes) == 30
    # every VM converted exactly once: one POST /v2vs each, with what its row says
    assert converted(zstack) == {name: 1 for name in names}
    posts = {e["body"]["params"]["name"]: e["body"]["params"] for e in zstack.admin.mutations() if
             (e["method"], e["path"]) == V2V_POST}
    assert posts["imp-004"]["url"] == source(4) and posts["imp-004"]["cpuNum"] == 1 + 4 % 4
    assert posts["imp-004"]["memorySize"] == 1024 ** 3 and posts["imp-004"]["primaryStorageUuid"] == emu.PS_NFS
    assert posts["imp-003"]["platform"] == "Linux" and "platform" not in posts["imp-004"]
    assert all(p["l3NetworkUuids"] == [emu.L3_PROD] for p in posts.values())
    assert set(names) <= set(vm_names(zstack))
    # the storage migration rows were never this role's business
    assert migrations_per_vm(zstack) == {}

    # the whole plan again: one planning call, every conversion unchanged, no convert call, nothing sent
    zstack.admin.clear_journal()
    rc, output, records = playbook(tmp_path, zstack, inventory_play(), inventory=source_path, name="whole")
    assert rc == 0 and not [r for r in records if r["result"].get("changed")], output[-3000:]
    plan = calls(records, "plan it before")
    assert len(plan) == 1 and [e["outcome"] for e in plan[0]["vms"]] == ["unchanged"] * 30
    assert calls(records, "Convert every VM") == []
    assert operations(zstack) == []


def test_limit_and_serial_each_make_one_call_per_batch(tmp_path, zstack):
    source_path = write_plan(tmp_path, v2v_rows(24))
    rc, output, records = playbook(tmp_path, zstack, inventory_play(serial=5, order="sorted"), inventory=source_path,
                                   limit=["wave_1"], name="wave1")
    assert rc == 0, output[-3000:]
    wave_1 = sorted(bulk_names(24, "imp")[0::3])  # wave 1 + i % 3
    batches = [wave_1[i:i + 5] for i in range(0, len(wave_1), 5)]
    convert = calls(records, "Convert every VM")
    assert [sorted(e["name"] for e in c["vms"]) for c in convert] == batches  # one call per serial batch
    assert converted(zstack) == {name: 1 for name in wave_1}  # --limit: nothing of the other waves


@pytest.fixture()
def mixed(zstack_emulator):
    prepare_many(zstack_emulator, 6, migrate_duration=0.5, v2v_duration=1.0, v2v_start_delay=0.1)
    return zstack_emulator


def test_mixed_plan_storage_migration_and_v2v_rows(tmp_path, mixed):
    zstack = mixed
    rows = v2v_rows(9) + [{"vm": name, "platform": "zstack", "source": "ps-nfs-01", "destination": "ps-ceph-01",
                           "wave": "1"} for name in bulk_names(6)]
    source_path = write_plan(tmp_path, rows)
    play = {"hosts": "all", "gather_facts": False,
            "roles": [{"role": "hybridcloud.migration.zstack_storage_migration"},
                      {"role": ROLE, "vars": {"zstack_v2v_import_defaults": DEFAULTS}}]}
    rc, output, records = playbook(tmp_path, zstack, play, inventory=source_path)
    assert rc == 0, output[-3000:]
    migrate = by_task(records, "Migrate every VM")[0]["result"]["results"]
    assert len(migrate) == 1 and sorted(e["name"] for e in migrate[0]["vms"]) == bulk_names(6)
    convert = calls(records, "Convert every VM")
    assert len(convert) == 1 and sorted(e["name"] for e in convert[0]["vms"]) == bulk_names(9, "imp")
    assert converted(zstack) == {name: 1 for name in bulk_names(9, "imp")}
    uuids = [v["uuid"] for v in zstack.admin.state()["vm-instances"] if v["name"] in bulk_names(6)]
    assert migrations_per_vm(zstack) == {u: 1 for u in uuids}
    assert all(where == {emu.PS_CEPH} for where in placement(zstack, uuids).values())

    # a slice with storage migrations only: the V2V role makes no call at all
    zstack.admin.clear_journal()
    rc, output, records = playbook(tmp_path, zstack, play, inventory=source_path, limit=bulk_names(6), name="zs-only")
    assert rc == 0, output[-3000:]
    assert calls(records, "plan it before") == [] and calls(records, "Convert every VM") == []
    assert "no conversion in this play run" in output
    assert operations(zstack) == []


def test_a_kvm_sources_key_from_group_vars_never_shows(tmp_path, zstack, monkeypatch):
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nwave-plan-key-Qw3Er5Ty7Ui9Op1\n-----END OPENSSH PRIVATE KEY-----"
    rows = v2v_rows(2)
    rows[1]["source"] = "kvm://root@192.0.2.10/%032x" % 0x7e57
    source_path = write_plan(tmp_path, rows)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "platform_zstack_v2v.yml").write_text(json.dumps({"migration_ssh_priv_key": key}))
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "4")
    rc, output, records = playbook(tmp_path, zstack, inventory_play(), inventory=source_path)
    assert rc == 0, output[-3000:]
    assert converted(zstack) == {"imp-000": 1, "imp-001": 1}
    posts = [e["body"]["params"] for e in zstack.admin.mutations() if (e["method"], e["path"]) == V2V_POST]
    assert [p.get("sshPrivKey") for p in posts] == [key, key]  # from group_vars to every conversion of the group
    assert_no_secrets(zstack, output, extra=[key, "wave-plan-key-Qw3Er5Ty7Ui9Op1", json.dumps(key)[1:-1]])
    assert "wave-plan-key-Qw3Er5Ty7Ui9Op1" not in json.dumps(records)
