#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vcenter_ovf_deploy
short_description: Deploy a VM from an OVF template in a vCenter content library
version_added: 1.0.0
description:
  - Deploys a virtual machine from an OVF library item of a vCenter content library through the
    vSphere Automation REST API (C(/api) or the legacy C(/rest) family).
  - Every name (datacenter, cluster, host, resource pool, folder, datastore, networks, library, item)
    is resolved to an ID first; a name that matches more than one object is an error.
  - Idempotent by VM name. When a VM with O(name) already exists in the target folder, nothing is
    deployed and that VM is returned.
  - The deploy call is synchronous and can take hours for large disks. If the connection is lost or
    O(timeout) passes, the module looks for the VM by name in the target folder and adopts it
    instead of deploying again.
  - In check mode every name is resolved and the item is validated against the target (the
    C(filter) operation), but nothing is deployed.
author: hybridcloud.migration contributors (@hybridcloud)
extends_documentation_fragment:
  - hybridcloud.migration.vsphere
  - hybridcloud.migration.vcenter_rest
  - hybridcloud.migration.attributes
options:
  library:
    description:
      - The content library holding O(item), by name or ID. Names match case-insensitively, as on vCenter;
        an exact-case match wins when several libraries differ only in case.
      - Needed when the item name exists in more than one library.
    type: str
  item:
    description:
      - The OVF library item to deploy, by name or ID.
    type: str
    required: true
  name:
    description:
      - The name of the new VM. Also the key for idempotency within the target folder.
    type: str
    required: true
  datacenter:
    description:
      - The datacenter to deploy into (name or managed object ID). Other names are looked up inside it.
    type: str
    required: true
  cluster:
    description:
      - The cluster to deploy into; its root resource pool is used unless O(resource_pool) is given,
        in which case O(resource_pool) is looked up inside this cluster.
      - One of O(cluster), O(resource_pool) or O(host) is required.
    type: str
  resource_pool:
    description:
      - The resource pool to deploy into (name, inventory path with O(inventory_lookup=soap), or ID).
    type: str
  host:
    description:
      - The ESXi host to deploy onto. Without O(cluster) and O(resource_pool), the root resource pool of
        the host's compute resource is used.
    type: str
  folder:
    description:
      - The VM folder of the new VM (name, inventory path with O(inventory_lookup=soap), or ID).
      - Defaults to the datacenter's root VM folder.
    type: str
  datastore:
    description:
      - The datastore for the VM's files and disks (name or ID). Without it vCenter picks one.
    type: str
  storage_provisioning:
    description:
      - The disk provisioning type. Without it the OVF's own setting is used.
    type: str
    choices: [thin, thick, eagerZeroedThick]
  network_mappings:
    description:
      - Maps the OVF's network names (keys) to vCenter networks (values, name or ID) of O(datacenter).
      - Keys are checked against the networks the item declares, when vCenter reports them.
    type: dict
  ovf_properties:
    description:
      - OVF properties (vApp options) to set, property ID to value. Values are sent as strings.
      - Keys are checked against the properties the item declares, when vCenter reports them.
    type: dict
  deployment_option:
    description:
      - The key of the OVF deployment option (configuration) to use.
    type: str
  annotation:
    description:
      - The annotation (notes) of the new VM. Without it the OVF's annotation is used.
    type: str
  accept_all_eula:
    description:
      - Accept all end-user license agreements of the OVF. Deploying an item that carries a EULA
        fails unless this is V(true).
    type: bool
    default: false
  power_on:
    description:
      - Power the VM on after deploying it. A VM that already existed is left as it is.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the synchronous deploy call to answer (the read timeout of that one call).
    type: int
    default: 10800
notes:
  - vCenter keeps VM names unique per folder; the module checks the target folder before deploying
    because not every server (nor the simulator) rejects a duplicate.
  - The C(/rest) family maps are sent as key/value lists and the C(/api) family's as JSON objects;
    servers reporting version 9.1 or later get the C(accept_all_eula) key spelling, and a server that
    refuses the other spelling with HTTP 400 naming that field gets the deploy once more with it.
seealso:
  - module: hybridcloud.migration.vcenter_ovf_capture
"""

EXAMPLES = r"""
- name: Deploy the migration template into the Prod cluster
  hybridcloud.migration.vcenter_ovf_deploy:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    library: Migration Templates
    item: ubuntu-22.04
    name: web01-migrated
    datacenter: DC-East
    cluster: Prod
    folder: Migrated
    datastore: east-vsan
    storage_provisioning: thin
    network_mappings:
      VM Network: Backend
    ovf_properties:
      hostname: web01
    accept_all_eula: true
    power_on: true
  register: deployed

- name: Same, with the connection from the environment and REST-only lookups (no pyVmomi)
  hybridcloud.migration.vcenter_ovf_deploy:
    inventory_lookup: rest
    item: 3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d
    name: db01-migrated
    datacenter: datacenter-1
    resource_pool: resgroup-22
    accept_all_eula: true
"""

RETURN = r"""
vm:
  description: The VM (deployed, adopted after a lost answer, or already present). In check mode the ID is null when the VM would be deployed.
  returned: always
  type: dict
  contains:
    name:
      description: The VM name.
      type: str
    moref:
      description: The VM's managed object ID.
      type: str
    adopted:
      description: True when the deploy answer was lost and the VM was found by name afterwards.
      type: bool
  sample: {"name": "web01-migrated", "moref": "vm-1001", "adopted": false}
library_item:
  description: The library item used.
  returned: always
  type: dict
  sample: {"id": "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d", "name": "ubuntu-22.04", "library_id": "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f"}
resolved:
  description: The managed object IDs the names resolved to.
  returned: always
  type: dict
  sample:
    datacenter: datacenter-1
    cluster: domain-c8
    resource_pool: resgroup-9
    folder: group-v40
    datastore: datastore-14
    network_mappings: {"VM Network": "dvportgroup-20"}
api_family:
  description: The REST URL family used (V(api) or V(rest)).
  returned: always
  type: str
  sample: api
powered_on:
  description: Whether the module powered the VM on.
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import _vcenter_ovf_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import vcenter_rest
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import resolve_placement


class VcenterOvfDeploy(MigrationModule):
    connection = vcenter_rest.CONNECTION
    argument_spec = dict(
        library=dict(type="str"),
        item=dict(type="str", required=True),
        name=dict(type="str", required=True),
        datacenter=dict(type="str", required=True),
        cluster=dict(type="str"),
        resource_pool=dict(type="str"),
        host=dict(type="str"),
        folder=dict(type="str"),
        datastore=dict(type="str"),
        storage_provisioning=dict(type="str", choices=list(plan.STORAGE_PROVISIONING)),
        network_mappings=dict(type="dict"),
        ovf_properties=dict(type="dict"),
        deployment_option=dict(type="str"),
        annotation=dict(type="str"),
        accept_all_eula=dict(type="bool", default=False),
        power_on=dict(type="bool", default=False),
        timeout=dict(type="int", default=vcenter_rest.DEFAULT_DEPLOY_TIMEOUT),
    )
    module_kwargs = dict(required_one_of=[["cluster", "resource_pool", "host"]])

    def run(self):
        params = self.params
        self.check_input()
        rest, inventory = self.client.rest, self.client.inventory
        self.result.update(api_family=rest.family, powered_on=False,
                           vm={"name": params["name"], "moref": None, "adopted": False})

        library_id = rest.resolve_library(params["library"]) if params["library"] else None
        item = rest.resolve_item(params["item"], library_id)
        self.result["library_item"] = {"id": item["id"], "name": item.get("name"),
                                       "library_id": item.get("library_id") or library_id}
        resolved = resolve_placement(
            inventory, params["datacenter"], cluster=params["cluster"], resource_pool=params["resource_pool"],
            host=params["host"], folder=params["folder"], datastore=params["datastore"],
            network_mappings=params["network_mappings"])
        self.result["resolved"] = resolved

        existing = inventory.vms_in_folder(params["name"], resolved["folder"])
        if existing:
            if len(existing) > 1:
                self.warn("%d VMs named '%s' are in folder %s; returning %s"
                          % (len(existing), params["name"], resolved["folder"], existing[0]))
            self.result["vm"]["moref"] = existing[0]
            return

        target = plan.deploy_target(resolved["resource_pool"], resolved["folder"], resolved.get("host"))
        summary = rest.filter_item(item["id"], target)
        problems = plan.summary_problems(summary, params["network_mappings"], params["ovf_properties"],
                                         params["accept_all_eula"])
        if problems:
            self.fail_parameter(*problems[0])
        after = {"vm": params["name"], "library_item": item["id"], "target": target}
        self.changed(before={}, after=after)
        if self.check_mode:
            return

        spec = plan.deployment_spec(
            rest.family, params["name"], params["accept_all_eula"], annotation=params["annotation"],
            datastore_id=resolved.get("datastore"), storage_provisioning=params["storage_provisioning"],
            network_mappings=resolved["network_mappings"], ovf_properties=params["ovf_properties"],
            deployment_option=params["deployment_option"])

        def reconcile():
            found = inventory.vms_in_folder(params["name"], resolved["folder"])
            return found[0] if found else None

        vm_id, adopted = rest.deploy(item["id"], target, spec, reconcile=reconcile, timeout=params["timeout"])
        self.result["vm"].update(moref=vm_id, adopted=adopted)
        if adopted:
            self.warn("the deploy answer was lost; adopted VM %s found by name in folder %s"
                      % (vm_id, resolved["folder"]))
        if params["power_on"]:
            inventory.power_on(vm_id)
            self.result["powered_on"] = True

    def check_input(self):
        params = self.params
        for option in ("network_mappings", "ovf_properties"):
            for key, value in (params[option] or {}).items():
                if option == "network_mappings" and (not isinstance(value, str) or not value):
                    self.fail_parameter(option, "maps '%s' to %r; values must be network names or IDs" % (key, value))
                if isinstance(value, (dict, list)):
                    self.fail_parameter(option, "sets '%s' to a %s; values must be scalars" % (key, type(value).__name__))
        if params["timeout"] <= 0:
            self.fail_parameter("timeout", "must be a positive number of seconds, got %s" % params["timeout"])
        if not params["name"].strip():
            self.fail_parameter("name", "must not be empty")


def main():
    VcenterOvfDeploy().execute()


if __name__ == "__main__":
    main()
