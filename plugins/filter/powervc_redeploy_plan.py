# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: powervc_redeploy_plan
short_description: Plan the re-deploy of IBM i VMs on PowerVC hosts from one read of the servers and reserved VSNs
version_added: 1.0.0
description:
  - The plan of the C(hybridcloud.migration.powervc_vsn_redeploy) role, from the result of
    M(hybridcloud.migration.powervc_vsn_info) (its C(servers) and C(reserved_vsns)), in one pass whatever the number
    of VMs. No API is contacted.
  - A VM whose server of that name runs on its target host needs nothing. Otherwise a server of that name on another
    host is deleted keeping its VSN reserved, a VSN reserved (or to be reserved by that delete) on another host is
    moved to the target host, and the VM is created. Hosts are compared as PowerVC shows them, by id in either MTMS
    form or by display name.
author: hybridcloud.migration contributors (@hybridcloud)
positional: vms, hosts
options:
  _input:
    description: The registered result of M(hybridcloud.migration.powervc_vsn_info).
    type: dict
    required: true
  vms:
    description:
      - The VMs, each with C(vm) (required), C(virtual_serial_number), and optionally C(image), C(flavor) and C(networks);
        all go to O(target_host).
      - Empty - the VMs are O(hosts).
    type: list
    elements: dict
  hosts:
    description:
      - With empty O(vms), the host variables of the play's hosts of a C(hybridcloud.migration.wave_plan) inventory
        (for example C(ansible_play_batch | map('extract', hostvars))). Those whose C(migration_platform) is
        C(powervc) are the VMs - C(migration_vm), C(migration_destination) (the target host),
        C(migration_virtual_serial_number) (or C(migration_vsn)), C(migration_image), C(migration_flavor),
        C(migration_network).
    type: list
    elements: dict
  target_host:
    description: The target host of the VMs of O(vms); required with O(vms).
    type: str
  image:
    description: Image of a VM that names none.
    type: str
  flavor:
    description: Flavor of a VM that names none.
    type: str
  networks:
    description: Networks of a VM that names none.
    type: list
    elements: dict
  check_mode:
    description:
      - Plan for a check-mode run - C(creates) holds only the creates that wait for no delete or move (a module in
        check mode would see the old state for the others; they are still in C(text)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Plan a re-deploy on the DR host
  ansible.builtin.set_fact:
    redeploy_plan: >-
      {{ powervc_info | hybridcloud.migration.powervc_redeploy_plan(vms, [], target_host='dr-p10-b',
                                                                     check_mode=ansible_check_mode) }}
"""

RETURN = r"""
_value:
  description:
    - Only what the steps take (a role passes every value it keeps through each later task).
    - C(text) - the plan, one line per VM (where it runs now, its VSN, its target host and its steps, or
      C(already there)), C(; ) apart.
    - C(old) - the names of the VMs of the same name found on another host, to delete; C(deletes) - their
      M(hybridcloud.migration.powervc_server) O(hybridcloud.migration.powervc_server#module:vms) items
      (C(vm), C(reservation_description)).
    - C(moves) - one per source and target host pair, in order - C(source_host), C(target_host), C(vsns).
    - C(creates) - the M(hybridcloud.migration.powervc_server) items of the VMs to create (C(vm),
      C(virtual_serial_number), C(image), C(flavor), C(networks), C(host)); see O(check_mode).
    - C(unchanged) - the VMs already on their target host - C(vm), C(name), C(id), C(virtual_serial_number), C(now),
      C(target), C(outcome) V(unchanged), C(error) empty.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import ParameterError
from ansible_collections.hybridcloud.migration.plugins.module_utils._powervc_server_plan import (
    redeploy_plan, redeploy_rows)


def powervc_redeploy_plan(info, vms=None, hosts=None, target_host=None, image=None, flavor=None, networks=None,
                          check_mode=False):
    """The plan of redeploy_plan() (module_utils/_powervc_server_plan.py) for these VMs, from INFO."""
    try:
        rows = redeploy_rows(vms, hosts, target_host, image, flavor, networks)
    except ParameterError as error:
        raise AnsibleFilterError("powervc_redeploy_plan: %s" % error)
    return redeploy_plan(rows, info.get("servers"), info.get("reserved_vsns"), check_mode=bool(check_mode))


class FilterModule:
    def filters(self):
        return {"powervc_redeploy_plan": powervc_redeploy_plan}
