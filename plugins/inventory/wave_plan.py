# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: wave_plan
short_description: One host per VM of a migration wave plan (YAML or CSV)
version_added: 1.0.0
description:
  - Reads a wave plan, a file with one row per VM to migrate (VM, platform, source, destination,
    wave), and builds one inventory host per VM, grouped by wave and by platform.
  - The hosts are not machines Ansible connects to; each gets C(ansible_connection=local), and the
    collection's roles gather the hosts of a play run (C(ansible_play_hosts)) into one bulk call, so
    C(--limit), C(serial) and AWX job slicing each become one call per slice.
  - Group names are V(wave_<wave>) and V(platform_<platform>); host variables are
    C(migration_vm), C(migration_platform), C(migration_source), C(migration_destination),
    C(migration_wave) and C(migration_<column>) for every other column of the plan.
  - The inventory source is a YAML file whose name ends in V(wave_plan.yml) or V(wave_plan.yaml).
author: hybridcloud.migration contributors (@hybridcloud)
options:
  plugin:
    description: The name of this plugin; it identifies the file as its inventory source.
    required: true
    type: str
    choices: [hybridcloud.migration.wave_plan]
  plan:
    description:
      - The wave plan file, absolute or relative to the inventory source.
      - V(.csv) files have a header line naming the columns; other files are YAML, either a list
        of rows or a mapping with the list under C(vms).
      - Required columns are V(vm) (the VM's name or id as the platform knows it) and V(platform);
        V(source), V(destination) and V(wave) are optional, other columns become host variables.
    required: true
    type: str
"""

EXAMPLES = r"""
# waves.wave_plan.yml, used with: ansible-playbook -i waves.wave_plan.yml playbooks/zstack_storage_migration.yml
plugin: hybridcloud.migration.wave_plan
plan: waves.csv

# waves.csv:
#   vm,platform,source,destination,wave
#   web01,zstack,ps-ceph-old,ps-ceph-new,1
#   db01,zstack,ps-ceph-old,ps-ceph-new,2
"""

import csv
import os
import re

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin

PLATFORMS = ("nsx", "powervc", "vcenter", "zstack")
KNOWN_COLUMNS = ("vm", "platform", "source", "destination", "wave")
_NOT_IN_GROUP_NAME = re.compile(r"[^A-Za-z0-9_]")


def read_rows(path, loader=None):
    """The plan's rows as dicts of str (YAML through LOADER, CSV by its header line)."""
    if path.lower().endswith(".csv"):
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    data = loader.load_from_file(path, cache="none") if loader else None
    if isinstance(data, dict):
        data = data.get("vms")
    if not isinstance(data, list):
        raise AnsibleParserError("wave plan %s: expected a list of rows (or a mapping with the list under 'vms')" % path)
    return data


def plan_hosts(rows, where="wave plan"):
    """{host name: host vars} from ROWS, checked; every problem of the plan in one error."""
    problems = []
    hosts = {}
    first_row = {}
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            problems.append("row %d: expected a mapping of columns, got %r" % (number, row))
            continue
        row = {str(k).strip().lower(): ("" if v is None else str(v).strip()) for k, v in row.items() if k is not None}
        vm, platform = row.get("vm", ""), row.get("platform", "").lower()
        if not vm:
            problems.append("row %d: column 'vm' is empty" % number)
            continue
        if platform not in PLATFORMS:
            problems.append("row %d (%s): column 'platform' must be one of %s, got %r"
                            % (number, vm, ", ".join(PLATFORMS), row.get("platform", "")))
            continue
        if vm in hosts:
            problems.append("row %d (%s): the VM is already in row %d" % (number, vm, first_row[vm]))
            continue
        first_row[vm] = number
        host_vars = {"migration_vm": vm, "migration_platform": platform, "ansible_connection": "local"}
        for column in ("source", "destination", "wave"):
            if row.get(column):
                host_vars["migration_" + column] = row[column]
        for column, value in row.items():
            if column not in KNOWN_COLUMNS and value:
                host_vars["migration_" + _NOT_IN_GROUP_NAME.sub("_", column)] = value
        hosts[vm] = host_vars
    if problems:
        raise AnsibleParserError("%s: %d problem(s):\n  %s" % (where, len(problems), "\n  ".join(problems)))
    return hosts


def group_names(host_vars):
    """The groups of one planned host: its platform and, when it has one, its wave."""
    groups = ["platform_" + host_vars["migration_platform"]]
    if host_vars.get("migration_wave"):
        groups.append("wave_" + _NOT_IN_GROUP_NAME.sub("_", host_vars["migration_wave"]))
    return groups


class InventoryModule(BaseInventoryPlugin):
    NAME = "hybridcloud.migration.wave_plan"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("wave_plan.yml", "wave_plan.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        plan = os.path.expanduser(self.get_option("plan"))
        if not os.path.isabs(plan):
            plan = os.path.join(os.path.dirname(path), plan)
        try:
            rows = read_rows(plan, loader)
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise AnsibleParserError("wave plan %s: %s" % (plan, to_native(exc)))
        for host, host_vars in plan_hosts(rows, "wave plan " + plan).items():
            self.inventory.add_host(host)
            for name, value in host_vars.items():
                self.inventory.set_variable(host, name, value)
            for group in group_names(host_vars):
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
