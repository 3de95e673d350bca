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

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin

from ansible_collections.hybridcloud.migration.plugins.plugin_utils.wave_plan import (
    WavePlanError, group_names, plan_hosts, read_rows)


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
            hosts = plan_hosts(read_rows(plan, loader), "wave plan " + plan)
        except WavePlanError as exc:
            raise AnsibleParserError(to_native(exc))
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise AnsibleParserError("wave plan %s: %s" % (plan, to_native(exc)))
        for host, host_vars in hosts.items():
            self.inventory.add_host(host)
            for name, value in host_vars.items():
                self.inventory.set_variable(host, name, value)
            for group in group_names(host_vars):
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
