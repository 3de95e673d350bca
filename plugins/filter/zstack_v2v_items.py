# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: zstack_v2v_items
short_description: The zstack_v2v_convert items of a wave plan's zstack_v2v rows
version_added: 1.0.0
description:
  - Turns the C(zstack_v2v) rows of a wave plan (or the variables of C(hybridcloud.migration.wave_plan) inventory
    hosts) into items of the O(hybridcloud.migration.zstack_v2v_convert#module:vms) option, the way the
    C(hybridcloud.migration.zstack_v2v_import) and C(hybridcloud.migration.preflight) roles read them.
  - C(vm) is the new VM's name, C(source) its O(hybridcloud.migration.zstack_v2v_convert#module:url) and
    C(destination) its O(hybridcloud.migration.zstack_v2v_convert#module:primary_storage). The columns C(cpu_num),
    C(memory_size), C(l3_networks), C(default_l3_network), C(conversion_host), C(zone), C(cluster), C(host),
    C(vm_type), C(strategy), C(convert_strategy), C(pause_vm), C(root_file_system), C(description),
    C(long_job_name), C(long_job_description), C(tag_uuids), C(system_tags), C(user_tags) and C(ssh_priv_key) set
    the options of the same name, and C(guest_platform) sets the option C(platform). Other columns are left out.
  - Rows of other platforms are skipped. An empty cell sets nothing, so O(defaults) stands. No API is contacted.
author: hybridcloud.migration contributors (@hybridcloud)
positional: defaults
options:
  _input:
    description:
      - Plan rows (C(vm), C(platform), C(source), C(destination) and other columns), or the host variables of
        wave_plan inventory hosts (the same names prefixed C(migration_)).
    type: list
    elements: dict
    required: true
  defaults:
    description: Options every item starts from; a row's own columns win.
    type: dict
    default: {}
  leave_out:
    description: Options dropped from every item (for example V(ssh_priv_key) for a check-mode plan).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Convert the zstack_v2v hosts of this serial batch in one call
  hybridcloud.migration.zstack_v2v_convert:
    vms: "{{ ansible_play_batch | map('extract', hostvars) | hybridcloud.migration.zstack_v2v_items({'cpu_num': 2}) }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: One O(hybridcloud.migration.zstack_v2v_convert#module:vms) item per C(zstack_v2v) row, in order.
  type: list
  elements: dict
"""

from ansible_collections.hybridcloud.migration.plugins.plugin_utils.wave_plan import v2v_items


class FilterModule:
    def filters(self):
        return {"zstack_v2v_items": v2v_items}
