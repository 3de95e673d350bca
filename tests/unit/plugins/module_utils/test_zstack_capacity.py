# -*- coding: utf-8 -*-
"""plan_capacity: per-destination sums against free capacity, every problem at once."""

from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_capacity import (
    GIB, plan_capacity, split_lookups)

A, B, C = "a" * 32, "b" * 32, "c" * 32
PS_OLD, PS_NEW = "1" * 32, "2" * 32


def vm(uuid_, name, *volumes):
    return {"uuid": uuid_, "name": name, "allVolumes": [
        {"uuid": "%s%d" % (uuid_[:31], i), "name": "%s-%d" % (name, i), "type": kind, "size": size * GIB,
         "primaryStorageUuid": ps, "deviceId": i} for i, (kind, size, ps) in enumerate(volumes)]}


STORAGES = [{"uuid": PS_OLD, "name": "ps-old", "availableCapacity": 10 * GIB, "state": "Enabled", "status": "Connected"},
            {"uuid": PS_NEW, "name": "ps-new", "availableCapacity": 100 * GIB, "state": "Enabled", "status": "Connected"}]
VMS = [vm(A, "web", ("Root", 40, PS_OLD), ("Data", 50, PS_OLD)), vm(B, "db", ("Root", 40, PS_NEW), ("Data", 30, PS_OLD)),
       vm(C, "dup", ("Root", 1, PS_OLD)), vm("d" * 32, "dup", ("Root", 1, PS_OLD))]


def test_the_wave_sum_overflows_one_destination():
    rows, storages, problems = plan_capacity([{"vm": "web", "target_primary_storage": "ps-new"},
                                              {"vm": B, "target_primary_storage": "ps-new"}], VMS, STORAGES)
    assert [r["needed"] for r in rows] == [90 * GIB, 30 * GIB]  # db's root is there already
    assert storages[0]["needed"] == 120 * GIB and storages[0]["fits"] is False
    assert problems == [{"object": "ps-new (22222222…)", "check": "capacity",
                         "problem": "the wave moves 120.0 GiB onto it (web (aaaaaaaa…), db (bbbbbbbb…)), 100.0 GiB free"}]


def test_root_only_fits():
    dummy, storages, problems = plan_capacity([{"vm": "web", "target_primary_storage": PS_NEW}], VMS, STORAGES,
                                              with_data_volumes=False)
    assert storages[0]["needed"] == 40 * GIB and not problems


def test_every_name_problem_is_listed():
    rows, storages, problems = plan_capacity([{"vm": "ghost", "target_primary_storage": "ps-new"},
                                              {"vm": "dup", "target_primary_storage": "ps-gone"}], VMS, STORAGES)
    assert [(p["object"], p["check"]) for p in problems] == [
        ("ghost", "vm resolves"), ("dup", "vm resolves"), ("dup", "target_primary_storage resolves")]
    assert "ambiguous" in rows[1]["problem"] and "ps-gone" in rows[1]["problem"]
    assert storages == []


def test_a_disabled_destination_is_a_problem():
    storages = [dict(STORAGES[1], state="Disabled")]
    dummy, dummy2, problems = plan_capacity([{"vm": "web", "target_primary_storage": "ps-new"}], VMS, storages)
    assert [p["check"] for p in problems] == ["primary storage usable"]


def test_split_lookups():
    assert split_lookups(["web", A, "web", None]) == ([A], ["web"])


def test_reads_are_batched_whatever_the_number_of_vms():
    from types import SimpleNamespace

    from ansible_collections.hybridcloud.migration.plugins.modules.zstack_capacity_info import ZstackCapacityInfo

    sent = []

    def query(collection, conditions):
        sent.append((collection, conditions))
        return [v for v in VMS if any(v["uuid"] in c or v["name"] in c.split("=", 1)[1].split(",") for c in conditions)]

    fake = SimpleNamespace(client=SimpleNamespace(query=query))
    found = ZstackCapacityInfo.read(fake, "vm-instances", ["web", "dup", A, B, "a,comma", "web"])
    assert sent == [("vm-instances", ["uuid?=%s,%s" % (A, B)]),
                    ("vm-instances", ["name?=dup,web,%s,%s" % (A, B)]),
                    ("vm-instances", ["name=a,comma"])]
    assert sorted(v["name"] for v in found) == ["db", "dup", "dup", "web"]
