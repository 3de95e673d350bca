#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vcenter_ovf_capture
short_description: Capture a VM as an OVF template in a vCenter content library
version_added: 1.0.0
description:
  - Exports a virtual machine into an OVF library item of a vCenter content library (the C(create)
    operation of the vSphere Automation REST API, C(/api) or the legacy C(/rest) family).
  - Idempotent by item name. When the library already has an item named O(name), nothing is captured
    and that item is returned, unless O(overwrite=true).
  - With O(overwrite=true) the existing item's content is replaced by a new capture (every run
    captures again and reports a change). vCenter keeps the item's name and description.
  - The capture call is synchronous. If the connection is lost or O(timeout) passes while creating a
    new item, the module looks for the item by name and adopts it instead of capturing again.
author: hybridcloud.migration contributors (@hybridcloud)
extends_documentation_fragment:
  - hybridcloud.migration.vsphere
  - hybridcloud.migration.vcenter_rest
  - hybridcloud.migration.attributes
options:
  vm:
    description:
      - The VM to capture, by name, inventory path (with O(inventory_lookup=soap)) or managed object ID.
    type: str
    required: true
  datacenter:
    description:
      - The datacenter in which to look up O(vm) by name.
    type: str
  library:
    description:
      - The content library to capture into, by name or ID.
    type: str
    required: true
  name:
    description:
      - The name of the library item.
    type: str
    required: true
  description:
    description:
      - The description of a new library item.
    type: str
  flags:
    description:
      - OVF export flags (for example V(EXTRA_CONFIG)), as listed by vCenter's export flag service.
    type: list
    elements: str
  overwrite:
    description:
      - Replace the content of an existing item named O(name) with a new capture of O(vm).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the synchronous capture call to answer.
    type: int
    default: 10800
seealso:
  - module: hybridcloud.migration.vcenter_ovf_deploy
"""

EXAMPLES = r"""
- name: Capture the prepared VM as a migration template
  hybridcloud.migration.vcenter_ovf_capture:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    vm: web01
    datacenter: DC-East
    library: Migration Templates
    name: web01-template
    description: web01 as of the migration freeze

- name: Refresh the template's content from the VM
  hybridcloud.migration.vcenter_ovf_capture:
    vm: vm-101
    library: Migration Templates
    name: web01-template
    overwrite: true
"""

RETURN = r"""
library_item:
  description: The library item (new, overwritten or already present). In check mode the ID of a new item is null.
  returned: always
  type: dict
  sample: {"id": "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9", "name": "web01-template", "library_id": "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f"}
vm:
  description: The managed object ID of the captured VM.
  returned: always
  type: str
  sample: vm-101
overwritten:
  description: Whether an existing item's content was replaced.
  returned: always
  type: bool
  sample: false
adopted:
  description: True when the capture answer was lost and the new item was found by name afterwards.
  returned: always
  type: bool
  sample: false
api_family:
  description: The REST URL family used (V(api) or V(rest)).
  returned: always
  type: str
  sample: api
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import vcenter_rest
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import NotFoundError
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule


class VcenterOvfCapture(MigrationModule):
    connection = vcenter_rest.CONNECTION
    argument_spec = dict(
        vm=dict(type="str", required=True),
        datacenter=dict(type="str"),
        library=dict(type="str", required=True),
        name=dict(type="str", required=True),
        description=dict(type="str"),
        flags=dict(type="list", elements="str"),
        overwrite=dict(type="bool", default=False),
        timeout=dict(type="int", default=vcenter_rest.DEFAULT_DEPLOY_TIMEOUT),
    )

    def run(self):
        params = self.params
        if params["timeout"] <= 0:
            self.fail_parameter("timeout", "must be a positive number of seconds, got %s" % params["timeout"])
        rest, inventory = self.client.rest, self.client.inventory
        library_id = rest.resolve_library(params["library"])
        datacenter = inventory.resolve("datacenter", params["datacenter"]) if params["datacenter"] else None
        vm_id = inventory.resolve("vm", params["vm"], datacenter)
        existing = self.existing_item(rest, library_id)
        self.result.update(api_family=rest.family, vm=vm_id, overwritten=False, adopted=False,
                           library_item={"id": existing, "name": params["name"], "library_id": library_id})
        if existing and not params["overwrite"]:
            return
        self.changed(before={"library_item": existing} if existing else {},
                     after={"library_item": existing or params["name"], "source_vm": vm_id})
        self.result["overwritten"] = bool(existing)
        if self.check_mode:
            return

        def reconcile():
            return None if existing else self.existing_item(rest, library_id)

        item_id, adopted = rest.create_item(vm_id, library_id, params["name"], library_item_id=existing,
                                            description=params["description"], flags=params["flags"],
                                            reconcile=reconcile, timeout=params["timeout"])
        self.result["library_item"]["id"] = item_id
        self.result["adopted"] = adopted

    def existing_item(self, rest, library_id):
        try:
            return rest.resolve_item(self.params["name"], library_id)["id"]
        except NotFoundError:
            return None


def main():
    VcenterOvfCapture().execute()


if __name__ == "__main__":
    main()
