# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure capacity planning for ZStack storage migrations (no I/O): what each destination primary
storage must take in, against what it has free."""

from __future__ import annotations

from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import (
    is_uuid, label, pick_unique, volumes_in_scope)

GIB = 1024 ** 3


def split_lookups(values):
    """(uuids, names) of VALUES, sorted and unique: the two batched queries (``uuid?=``, ``name?=``).

    A value that looks like a uuid is looked up by uuid first (and by name if no uuid matches).
    """
    values = sorted(set(v for v in values if v))
    return [v for v in values if is_uuid(v)], [v for v in values if not is_uuid(v)]


def pick(inventories, value, kind):
    """(the one inventory VALUE names, problem or None): by uuid first, then by unique name."""
    by_uuid = [i for i in inventories if i.get("uuid") == value]
    if by_uuid:
        return by_uuid[0], None
    return pick_unique([i for i in inventories if i.get("name") == value], kind, value)


def gib(size):
    return "%.1f GiB" % (float(size or 0) / GIB)


def plan_capacity(migrations, vms, storages, with_data_volumes=True):
    """Each VM's volumes to move and each destination's need against its free capacity.

    MIGRATIONS: [{"vm": as given, "target_primary_storage": as given}]; VMS and STORAGES: the
    inventories read (VMs with ``allVolumes``). Returns (vm rows, storage rows, problems); a
    problem is {"object", "check", "problem"}.
    """
    vm_rows, needs, problems, targets = [], {}, [], {}
    for item in migrations:
        vm, vm_problem = pick(vms, item["vm"], "VM")
        dst, dst_problem = pick(storages, item["target_primary_storage"], "primary storage")
        row = {"vm": item["vm"], "name": vm.get("name") if vm else None, "uuid": vm.get("uuid") if vm else None,
               "target_primary_storage": {"name": dst.get("name"), "uuid": dst.get("uuid")} if dst else None,
               "volumes": [], "needed": 0, "problem": ""}
        if vm_problem:
            row["problem"] = vm_problem
            problems.append({"object": item["vm"], "check": "vm resolves", "problem": vm_problem})
        if dst_problem:
            row["problem"] = "; ".join(p for p in (row["problem"], dst_problem) if p)
            problems.append({"object": item["vm"], "check": "target_primary_storage resolves", "problem": dst_problem})
        if vm:
            volumes = volumes_in_scope(vm.get("allVolumes") or [], with_data_volumes)
            row["volumes"] = [{"name": v.get("name"), "uuid": v.get("uuid"), "type": v.get("type"),
                               "size": v.get("size") or 0, "primary_storage": v.get("primaryStorageUuid")}
                              for v in volumes]
            if dst:
                row["needed"] = sum(v.get("size") or 0 for v in volumes if v.get("primaryStorageUuid") != dst["uuid"])
                needs.setdefault(dst["uuid"], []).append((vm, row["needed"]))
                targets[dst["uuid"]] = dst
        vm_rows.append(row)
    storage_rows = []
    for uuid_ in sorted(targets, key=lambda u: (targets[u].get("name") or "", u)):
        dst = targets[uuid_]
        needed = sum(size for dummy, size in needs[uuid_])
        available = dst.get("availableCapacity") or 0
        fits = needed <= available
        storage_rows.append({"name": dst.get("name"), "uuid": uuid_, "type": dst.get("type"),
                             "status": dst.get("status"), "state": dst.get("state"),
                             "available_capacity": available, "total_capacity": dst.get("totalCapacity"),
                             "needed": needed, "fits": fits,
                             "vms": [label(vm) for vm, size in needs[uuid_] if size]})
        if not fits:
            problems.append({"object": label(dst), "check": "capacity",
                             "problem": "the wave moves %s onto it (%s), %s free" % (
                                 gib(needed), ", ".join(label(vm) for vm, size in needs[uuid_] if size), gib(available))})
        if dst.get("state") not in (None, "Enabled") or dst.get("status") not in (None, "Connected"):
            problems.append({"object": label(dst), "check": "primary storage usable",
                             "problem": "state %s, status %s" % (dst.get("state"), dst.get("status"))})
    return vm_rows, storage_rows, problems
