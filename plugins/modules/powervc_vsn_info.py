#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: powervc_vsn_info
short_description: List IBM PowerVC reserved virtual serial numbers (VSNs) and the VSNs of servers
version_added: 1.0.0
description:
  - Returns the reserved VSNs of IBM PowerVC (all, or those of one host) and the VSN of servers.
  - It only reads - the reserved list, the servers, and the hypervisor list (to resolve O(host) and to put host
    display names beside host ids; a user who may not read it gets null display names).
author: hybridcloud.migration contributors (@hybridcloud)
options:
  host:
    description:
      - Only VSNs reserved on this host, and only servers on it (servers are filtered when PowerVC shows
        their host, which it does for admin users).
      - Accepted as C(TTTT-MMM*SSSSSSS), C(TTTTMMM_SSSSSSS) or the PowerVC display name.
      - The value is only compared with the hosts PowerVC lists, never put into a URL; empty text and
        control or bidi characters are rejected before any call.
    type: str
  vms:
    description:
      - Names or ids of the VMs (PowerVC servers) whose VSN to return. A name that several servers carry is an error.
      - Compared with the servers PowerVC lists, never put into a URL; empty names and control or bidi
        characters are rejected before any call.
      - When not set, every server of the project is returned.
    type: list
    elements: str
    aliases: [servers]
extends_documentation_fragment:
  - hybridcloud.migration.powervc
  - hybridcloud.migration.attributes.info_module
seealso:
  - module: hybridcloud.migration.powervc_vsn
"""

EXAMPLES = r"""
- name: Reserved VSNs on the production host
  hybridcloud.migration.powervc_vsn_info:
    cloud: powervc
    host: prod-p10-a
  register: reserved

- name: The VSNs of two IBM i VMs
  hybridcloud.migration.powervc_vsn_info:
    cloud: powervc
    vms: [ibmi-prod-01, ibmi-dev-03]
  register: vm_vsns

- name: Show them
  ansible.builtin.debug:
    msg: "{{ vm_vsns.servers | items2dict(key_name='name', value_name='virtual_serial_number') }}"
"""

RETURN = r"""
reserved_vsns:
  description:
    - The reserved VSNs (of O(host) when set). PowerVC lists only reserved VSNs that no server uses.
    - Each has C(virtual_serial_number), C(host) (the owning host as PowerVC lists it, usually
      C(TTTTMMM_SSSSSSS)), C(host_display_name) (its PowerVC display name, null when unknown) and C(description)
      (the reservation's description).
  returned: always
  type: list
  elements: dict
  sample:
    - virtual_serial_number: CDF0002
      host: 9080HEX_1234ABC
      host_display_name: prod-p10-a
      description: DR pool for ibmi-prod
servers:
  description: The servers asked for (all when O(vms) is not set), with their VSN.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Server id.
      type: str
      sample: 3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e01
    name:
      description: Server name.
      type: str
      sample: ibmi-prod-01
    status:
      description: Nova status (C(ACTIVE), C(SHUTOFF) ...).
      type: str
      sample: ACTIVE
    host:
      description: The PowerVC host name of the server; null when PowerVC does not show it to this user.
      type: str
      sample: 9080HEX_1234ABC
    host_display_name:
      description: The PowerVC display name of that host; null when unknown.
      type: str
      sample: prod-p10-a
    virtual_serial_number:
      description: The server's VSN; null when it has none (PowerVC shows C(none)).
      type: str
      sample: ABCD100
  sample:
    - id: 3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e01
      name: ibmi-prod-01
      status: ACTIVE
      host: 9080HEX_1234ABC
      host_display_name: prod-p10-a
      virtual_serial_number: ABCD100
host:
  description: With O(host), the host it names - C(name) (the PowerVC host id, C(TTTTMMM_SSSSSSS)) and C(display_name).
  returned: when O(host) is set
  type: dict
  sample:
    name: 9080HEX_1234ABC
    display_name: prod-p10-a
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import _powervc_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import powervc
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule


class PowerVCVsnInfo(MigrationModule):
    connection = powervc.CONNECTION
    argument_spec = dict(
        host=dict(type="str"),
        vms=dict(type="list", elements="str", aliases=["servers"]),
    )

    def validate(self):
        # Before the client is opened: names are checked before any call, login included.
        self.check_name("host", self.params["host"], "host")
        for ref in self.params["vms"] or []:
            self.check_name("vms", ref, "VM name or id")

    def run(self):
        hosts = self.client.hosts(needed=bool(self.params["host"]))
        host = plan.resolve_host(self.params["host"], hosts) if self.params["host"] else None
        records = [dict(r, host_display_name=plan.display_name(r["host"], hosts)) for r in self.client.list_reserved()]
        servers = self.client.list_servers()
        if self.params["vms"] is not None:
            servers = [plan.find_server(ref, servers, "vms") for ref in self.params["vms"]]
        summaries = [plan.server_summary(s, hosts) for s in servers]
        if host:
            records = [r for r in records if plan.same_host(r["host"], host["name"])]
            summaries = [s for s in summaries if s["host"] is None or plan.same_host(s["host"], host["name"])]
        if host:
            self.result["host"] = {"name": host["name"], "display_name": host["display_name"]}
        self.result["reserved_vsns"] = records
        self.result["servers"] = summaries


def main():
    PowerVCVsnInfo().execute()


if __name__ == "__main__":
    main()
