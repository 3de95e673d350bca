#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zstack_capacity_info
short_description: Check that ZStack primary storages have room for a wave of storage migrations
version_added: 1.0.0
description:
  - Reads the VMs of O(migrations) with their volumes and the destination primary storages, and
    compares, per destination, the size of the volumes a storage migration would move there (those
    not on it yet) with its free capacity (C(availableCapacity)).
  - Only reads, in batched queries (VMs by C(uuid?=) and C(name?=), primary storages the same way);
    it never changes anything, also outside check mode.
  - Every problem is returned in RV(problems), all at once, rather than failing on the first - a
    VM or primary storage that no or several objects match, a destination that would overflow, a
    destination that is not C(Enabled) and C(Connected). The task itself fails only when ZStack
    cannot be reached or refuses the login (or a query).
  - Used by the role M(hybridcloud.migration.preflight) before a wave; the storage migration itself
    is M(hybridcloud.migration.zstack_ps_migrate).
author: hybridcloud.migration contributors (@hybridcloud)
options:
  migrations:
    description: The planned storage migrations.
    type: list
    elements: dict
    required: true
    suboptions:
      vm:
        description: The VM, by uuid or unique name.
        type: str
        required: true
      target_primary_storage:
        description: Its destination primary storage, by uuid or unique name.
        type: str
        required: true
  with_data_volumes:
    description:
      - Count the data volumes as well, as M(hybridcloud.migration.zstack_ps_migrate) moves them by
        default. V(false) counts the root volumes only.
    type: bool
    default: true
extends_documentation_fragment:
  - hybridcloud.migration.zstack
  - hybridcloud.migration.attributes.info_module
"""

EXAMPLES = r"""
- name: Will ps-ceph-new hold the wave?
  hybridcloud.migration.zstack_capacity_info:
    migrations:
      - {vm: web-01, target_primary_storage: ps-ceph-new}
      - {vm: db-01, target_primary_storage: ps-ceph-new}
  register: capacity

- name: Stop when it does not
  ansible.builtin.assert:
    that: capacity.problems | length == 0
    fail_msg: "{{ capacity.problems | map(attribute='problem') | join('; ') }}"
"""

RETURN = r"""
vms:
  description:
    - One entry per item of O(migrations), in order - C(vm) as given, the C(name) and C(uuid) it
      resolved to (null when it did not), C(target_primary_storage) (C(name), C(uuid); null when
      it did not resolve), C(volumes) counted (C(name), C(uuid), C(type), C(size) in bytes,
      C(primary_storage) uuid), C(needed) (bytes not on the destination yet) and C(problem) (or "").
  returned: always
  type: list
  elements: dict
  sample: [{"vm": "web-01", "name": "web-01", "uuid": "f0f7aed586e55a32bd0ee16379608c2b",
            "target_primary_storage": {"name": "ps-ceph-new", "uuid": "d15c32126f8b4c5f9a3b6e7d8c9b0a1f"},
            "volumes": [{"name": "ROOT-for-web-01", "uuid": "8a1c4e2f6b3d4a5c9e7f0a1b2c3d4e5f", "type": "Root",
                         "size": 42949672960, "primary_storage": "5e6f7a8b9c0d4e1f8a2b3c4d5e6f7a8b"}],
            "needed": 42949672960, "problem": ""}]
primary_storages:
  description:
    - One entry per destination that resolved - C(name), C(uuid), C(type), C(state), C(status),
      C(available_capacity) and C(total_capacity) (bytes, as ZStack reports them), C(needed) (bytes
      the wave moves onto it), C(fits) (C(needed) <= C(available_capacity)) and C(vms) (the VMs that
      move volumes onto it, C(name (uuid...))).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "ps-ceph-new", "uuid": "d15c32126f8b4c5f9a3b6e7d8c9b0a1f", "type": "Ceph", "state": "Enabled",
            "status": "Connected", "available_capacity": 1649267441664, "total_capacity": 2199023255552,
            "needed": 42949672960, "fits": true, "vms": ["web-01 (f0f7aed5…)"]}]
problems:
  description:
    - Every problem found, each with C(object) (what it is about, name and short uuid beside when
      known), C(check) (V(vm resolves), V(target_primary_storage resolves), V(capacity),
      V(primary storage usable)) and C(problem) (what is wrong). Empty when the wave fits.
  returned: always
  type: list
  elements: dict
  sample: [{"object": "ps-ceph-new (d15c3212…)", "check": "capacity",
            "problem": "the wave moves 2048.0 GiB onto it (web-01 (f0f7aed5…)), 1536.0 GiB free"}]
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import zstack
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_capacity import plan_capacity, split_lookups
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import query_value_problem


class ZstackCapacityInfo(MigrationModule):
    connection = zstack.CONNECTION
    argument_spec = dict(
        migrations=dict(type="list", elements="dict", required=True, options=dict(
            vm=dict(type="str", required=True),
            target_primary_storage=dict(type="str", required=True),
        )),
        with_data_volumes=dict(type="bool", default=True),
    )

    def validate(self):
        for index, item in enumerate(self.params["migrations"]):
            for key in ("vm", "target_primary_storage"):
                self.check_name("migrations[%d].%s" % (index, key), item[key])

    def run(self):
        migrations = self.params["migrations"]
        vms = self.read("vm-instances", [item["vm"] for item in migrations])
        storages = self.read("primary-storage", [item["target_primary_storage"] for item in migrations])
        vm_rows, storage_rows, problems = plan_capacity(migrations, vms, storages, self.params["with_data_volumes"])
        self.result.update(vms=vm_rows, primary_storages=storage_rows, problems=problems)

    def read(self, collection, values):
        """Every inventory of COLLECTION that one of VALUES names: one query per kind of key.

        A name ZStack's query syntax cannot carry inside a ``?=`` list (a comma, an operator) is
        looked up on its own (``name=``), or, when even that cannot carry it, matches nothing.
        """
        uuids, names = split_lookups(values)
        found = {}
        if uuids:
            for inventory in self.client.query(collection, ["uuid?=%s" % ",".join(uuids)]):
                found[inventory["uuid"]] = inventory
        listable = [n for n in names + uuids if "," not in n and not query_value_problem(n)]
        if listable:
            for inventory in self.client.query(collection, ["name?=%s" % ",".join(listable)]):
                found[inventory["uuid"]] = inventory
        for name in names:
            if name not in listable and "," in name and not query_value_problem(name):
                for inventory in self.client.query(collection, ["name=%s" % name]):
                    found[inventory["uuid"]] = inventory
        return list(found.values())


def main():
    ZstackCapacityInfo().execute()


if __name__ == "__main__":
    main()
