#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

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
  - Idempotent by VM name. When a VM named O(vm) already exists in the target folder, nothing is
    deployed; that VM is adopted (and powered on with O(power_on=true)).
  - The deploy call is synchronous and can take hours for large disks. It is sent once per VM, never
    repeated. After any uncertain answer (a lost connection, a read timeout, an HTTP 5xx or 429) the
    module looks for the VM by name in the target folder for up to 30 seconds (within O(timeout)) and
    adopts it; when no VM appears, it fails without resending the deploy, and a re-run deploys it.
  - "How a re-run decides what is already done: vCenter registers the new VM in the inventory when the
    deploy starts, before it copies the disks, so a deploy still running (for example of a run that was
    killed) is found by name. vCenter refuses to power on a VM whose deploy is still running
    (C(NOT_ALLOWED_IN_CURRENT_STATE), C(RESOURCE_BUSY)); with O(power_on=true) the module keeps trying,
    on the polling schedule of the collection, until vCenter accepts or O(timeout) passes, and reports
    RV(outcome=adopted_and_waited). The REST API offers no read-only sign of a deploy in progress, so with
    O(power_on=false) a VM found by name is adopted as it is (RV(outcome=adopted))."
  - In check mode every name is resolved and the item is validated against the target (the
    C(filter) operation), but nothing is deployed or powered on.
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
      - Names and IDs put into a URL path are percent-encoded, so C(/), C(?), C(&) or C(#) cannot change the
        request; values of dots only, control characters and bidirectional-override characters are refused
        (the same holds for every other name option).
    type: str
    required: true
  vm:
    description:
      - The name of the new VM. Also the key for idempotency within the target folder.
      - At most 80 characters. C(/), the backslash and C(%) are refused (vCenter stores them escaped, so the VM
        could not be found again by this name), and so are control and bidirectional-override characters and
        leading or trailing spaces. Quotes, C(?), C(&) and C(..) are allowed; names travel in JSON bodies and
        encoded query strings only.
    type: str
    required: true
    aliases: [vm_name]
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
      - The default datastore of the new VM (name or ID), the C(default_datastore_id) of the deploy's
        C(deployment_spec); not part of the placement C(target) (resource pool, host, folder).
      - It takes the VM's files and every disk that O(storage_mappings) does not place. Without it (and
        without O(storage_profile)) vCenter picks one.
    type: str
  datastore_cluster:
    description:
      - A datastore cluster (Storage DRS pod; name or ID) to deploy to instead of one O(datastore), in vmware.vmware's
        spelling. The module picks the member datastore with the most free space, if that is at least the size of
        the library item (its C(size) in the content library), among the members that are accessible and not in
        maintenance mode; ties go to the name, so a re-run picks the same one.
      - The chosen datastore becomes the deploy's C(default_datastore_id); RV(datastore_choice) says which and why,
        also in check mode.
      - Needs the SOAP lookups (O(inventory_lookup=soap), the default with the legacy C(/rest) family), as the REST API
        lists no datastore clusters.
      - Storage DRS's own recommendation (C(RecommendDatastores)) is not asked for.
    type: str
  storage_profile:
    description:
      - A VM storage policy for all the VM's disks (name or ID; C(storage_profile_id) of the C(deployment_spec)).
        Names are looked up with C(GET /api/vcenter/storage/policies) and compared exactly.
      - A server without that list (the vCenter simulator) takes the policy's ID only.
    type: str
  storage_mappings:
    description:
      - Places the disks of each OVF storage group (C(storage_mappings) of the C(deployment_spec)) on a datastore
        or by a storage policy, each group with its own provisioning.
      - The groups are checked against the ones the item declares (the C(storage_groups) that vCenter's
        C(filter) reports) before anything is deployed, like O(network_mappings); a group the item does not have
        is refused, and so is a group of the item left without a mapping when neither O(datastore) nor
        O(storage_profile) is given to take it.
    type: list
    elements: dict
    suboptions:
      storage_group:
        description: The OVF storage group (its ID in the descriptor's C(StorageGroupSection)).
        type: str
        required: true
      datastore:
        description: The datastore of the group's disks (name or ID). Exactly one of O(storage_mappings[].datastore)
          and O(storage_mappings[].storage_profile).
        type: str
      storage_profile:
        description: The storage policy of the group's disks (name or ID).
        type: str
      provisioning:
        description: The disk provisioning of the group. Without it, O(storage_provisioning) or the OVF's own.
        type: str
        choices: [thin, thick, eagerZeroedThick]
  flags:
    description:
      - Deployment flags (C(flags) of the C(deployment_spec)), as listed by vCenter's C(vcenter.ovf.import_flag list)
        operation for the target resource pool.
    type: list
    elements: str
  locale:
    description:
      - The locale of the OVF descriptor's messages (for example V(de_DE)); C(locale) of the C(deployment_spec).
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
      - Power the VM on once it is deployed. Also applies to a VM found by name (adopted), on this run
        or a later one; a VM that is already on is left as it is.
      - A VM whose deploy is still running cannot be powered on; the module waits for it (see O(wait)).
      - The power-on call is sent once. When its answer is lost (dropped connection, 5xx) the VM's power state is
        read back. A VM that is on counts as powered on by this run; a 429 or 503 with the VM still off is tried
        again within the deadline; anything else fails the run, and a re-run powers the VM on.
    type: bool
    default: false
  wait:
    description:
      - Wait for the deploy to finish (and, with O(power_on=true), for the VM to be powered on).
      - With V(false) the deploy call gets 10 seconds to answer; when it is still running then, the module
        returns RV(outcome=started) with the ID of the VM being deployed (vCenter continues without the
        client), and a later run with V(true) adopts the VM, waits for it and powers it on.
    type: bool
    default: true
  timeout:
    description:
      - The deadline, in seconds, for the whole run (lookups, the deploy call, waiting for a deploy that
        is still running, power-on), like O(timeout) in every other module of the collection.
      - When it passes while the deploy is still running, the task fails naming the VM (which then
        exists, so C(changed=true)); re-run it to keep waiting. The VM is never deployed twice.
      - Must be at least 1.
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
    vm: web01-migrated
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

- name: A database appliance, its data disks by a storage policy, its logs on their own datastore
  hybridcloud.migration.vcenter_ovf_deploy:
    library: Migration Templates
    item: sql-appliance
    vm: sql01
    datacenter: DC-East
    cluster: Prod
    datastore: east-vsan
    storage_profile: vSAN Default Storage Policy
    storage_mappings:
      - storage_group: sql-data
        storage_profile: Gold
      - storage_group: sql-logs
        datastore: east-nfs01
        provisioning: thin
    flags: [LAX]
    locale: en_US
    accept_all_eula: true

- name: Same, with the connection from the environment and REST-only lookups (no pyVmomi)
  hybridcloud.migration.vcenter_ovf_deploy:
    inventory_lookup: rest
    item: 3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d
    vm: db01-migrated
    datacenter: datacenter-1
    resource_pool: resgroup-22
    accept_all_eula: true
"""

RETURN = r"""
vm:
  description: The VM (deployed, or found by name and adopted). In check mode the ID is null when the VM would be deployed.
  returned: always
  type: dict
  contains:
    name:
      description: The VM name.
      type: str
    moref:
      description: The VM's managed object ID. Also set on a failure that left a VM behind.
      type: str
    adopted:
      description: True when the VM was already in the folder (this run did not deploy it).
      type: bool
    answer_lost:
      description: True when this run deployed the VM but the answer of the deploy call was lost (or was an
        HTTP 5xx) and the VM was found by name afterwards.
      type: bool
    power_state:
      description: The power state read at the end of the run (C(POWERED_ON), C(POWERED_OFF), C(SUSPENDED)),
        null when unknown.
      type: str
  sample: {"name": "web01-migrated", "moref": "vm-1001", "adopted": false, "answer_lost": false, "power_state": "POWERED_ON"}
outcome:
  description:
    - What this run did. V(deployed) this run's deploy made the VM; V(adopted) the VM was already there;
      V(adopted_and_waited) the VM was there but still being deployed, and this run waited for its deploy
      (seen with O(power_on=true) only); V(started) this run's deploy is still
      running (O(wait=false), or the run failed because O(timeout) passed).
    - Null in check mode and when the run failed before deciding.
  returned: always
  type: str
  sample: adopted_and_waited
library_item:
  description: The library item used, and its library (name and ID of each).
  returned: always
  type: dict
  sample: {"id": "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d", "name": "ubuntu-22.04",
           "library_id": "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f", "library_name": "Migration Templates"}
resolved:
  description:
    - Where the VM goes, each object with its name and managed object ID (C(id), C(name)); only the options
      that apply. O(network_mappings) maps each OVF network to such an object, O(storage_mappings) each OVF
      storage group to its C(type) (C(DATASTORE) or C(STORAGE_PROFILE)), that object and its C(provisioning).
  returned: always
  type: dict
  sample:
    datacenter: {"id": "datacenter-1", "name": "DC-East"}
    cluster: {"id": "domain-c8", "name": "Prod"}
    resource_pool: {"id": "resgroup-9", "name": "Resources"}
    folder: {"id": "group-v40", "name": "Migrated"}
    datastore: {"id": "datastore-14", "name": "east-vsan"}
    network_mappings: {"VM Network": {"id": "dvportgroup-20", "name": "Backend"}}
    storage_profile: {"id": "aa6d5a82-1c88-45da-85d3-3d74b91a5bad", "name": "vSAN Default Storage Policy"}
    storage_mappings:
      sql-data: {"type": "STORAGE_PROFILE", "storage_profile": {"id": "c4f1e9a0-7b2d-4e8f-9a61-5d3c2b1a0f9e", "name": "Gold"}}
      sql-logs: {"type": "DATASTORE", "datastore": {"id": "datastore-15", "name": "east-nfs01"}, "provisioning": "thin"}
datastore_choice:
  description:
    - With O(datastore_cluster), the member datastore chosen (also in check mode), its free space and the bytes the
      item needs (bytes; 0 when the library does not say), and why it was chosen.
  returned: when O(datastore_cluster) is given and a member was chosen
  type: dict
  sample:
    datastore_cluster: {"id": "group-p51", "name": "east-pod"}
    datastore: {"id": "datastore-22", "name": "east-ds-02"}
    free_space: 871878361088
    needed: 21474836480
    reason: east-ds-02 (datastore-22) has the most free space (812.0 GiB) of the 3 usable members of datastore
      cluster east-pod (group-p51), enough for the item (20.0 GiB)
api_family:
  description: The REST URL family used (V(api) or V(rest)).
  returned: always
  type: str
  sample: api
powered_on:
  description: Whether this run powered the VM on.
  returned: always
  type: bool
  sample: false
"""


from ansible_collections.hybridcloud.migration.plugins.module_utils import _vcenter_ovf_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import vcenter_rest
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ApiError, JobFailedError, MigrationError, WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline, PollBackoff, format_seconds, wait_for
from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import (
    STARTED, naming, resolve_placement, start_when_free)

# A server that took a deploy registers the VM at once (ImportVApp does, before it copies disks);
# after an uncertain answer the VM is looked for this long before concluding that nothing was done.
RECONCILE_WINDOW = 30.0
# wait=false: how long the deploy call is given to answer before the run returns with the deploy running.
START_WINDOW = 10.0
NAME_OPTIONS = ("library", "item", "datacenter", "cluster", "resource_pool", "host", "folder", "datastore",
                "deployment_option", "storage_profile", "locale", "datastore_cluster")


class VcenterOvfDeploy(MigrationModule):
    connection = vcenter_rest.CONNECTION
    argument_spec = dict(
        library=dict(type="str"),
        item=dict(type="str", required=True),
        vm=dict(type="str", required=True, aliases=["vm_name"]),
        datacenter=dict(type="str", required=True),
        cluster=dict(type="str"),
        resource_pool=dict(type="str"),
        host=dict(type="str"),
        folder=dict(type="str"),
        datastore=dict(type="str"),
        datastore_cluster=dict(type="str"),
        storage_profile=dict(type="str"),
        storage_mappings=dict(type="list", elements="dict", options=dict(
            storage_group=dict(type="str", required=True),
            datastore=dict(type="str"),
            storage_profile=dict(type="str"),
            provisioning=dict(type="str", choices=list(plan.STORAGE_PROVISIONING)),
        ), mutually_exclusive=[["datastore", "storage_profile"]], required_one_of=[["datastore", "storage_profile"]]),
        flags=dict(type="list", elements="str"),
        locale=dict(type="str"),
        storage_provisioning=dict(type="str", choices=list(plan.STORAGE_PROVISIONING)),
        network_mappings=dict(type="dict"),
        ovf_properties=dict(type="dict"),
        deployment_option=dict(type="str"),
        annotation=dict(type="str"),
        accept_all_eula=dict(type="bool", default=False),
        power_on=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=vcenter_rest.DEFAULT_DEPLOY_TIMEOUT),
    )
    ranges = {"timeout": (1, None)}
    module_kwargs = dict(required_one_of=[["cluster", "resource_pool", "host"]],
                         mutually_exclusive=[["datastore", "datastore_cluster"]])

    def run(self):
        params = self.params
        # timeout is the whole run's deadline: lookups, the deploy call, waiting and power-on.
        self.deadline = Deadline(params["timeout"])
        rest, inventory = self.client.rest, self.client.inventory
        self.inventory = inventory
        self.result.update(api_family=rest.family, powered_on=False, outcome=None,
                           vm={"name": params["vm"], "moref": None, "adopted": False, "answer_lost": False,
                               "power_state": None})

        with naming("library"):
            library_id = rest.resolve_library(params["library"]) if params["library"] else None
        with naming("item"):
            item = rest.resolve_item(params["item"], library_id)
        library_id = item.get("library_id") or library_id
        self.result["library_item"] = {"id": item["id"], "name": item.get("name"), "library_id": library_id,
                                       "library_name": rest.library_name(library_id) if library_id else None}
        resolved = resolve_placement(
            inventory, params["datacenter"], cluster=params["cluster"], resource_pool=params["resource_pool"],
            host=params["host"], folder=params["folder"], datastore=params["datastore"],
            network_mappings=params["network_mappings"])
        if params["datastore_cluster"]:
            self.choose_datastore(inventory, item, resolved)
        storage = self.resolve_storage(rest, inventory, resolved["datacenter"])
        self.names = inventory.names(plan.all_ids(resolved) + storage["datastores"])
        self.names.update(storage["policy_names"])
        self.result["resolved"] = dict(plan.placement_result(resolved, self.names),
                                       **plan.storage_result(storage["profile"], storage["mappings"], self.names))
        self.folder = resolved["folder"]
        self.folder_label = plan.label(self.names.get(self.folder), self.folder)

        # 1. Real state, including a deploy still running (its VM is registered from the start).
        existing = inventory.vms_in_folder(params["vm"], self.folder)
        if existing:
            if len(existing) > 1:
                self.warn("%d VMs named '%s' are in folder %s; using %s"
                          % (len(existing), params["vm"], self.folder_label, existing[0]))
            self.result["vm"].update(moref=existing[0], adopted=True)
            self.result["outcome"] = plan.ADOPTED
            self.finish(existing[0])
            return

        # 2. Validate against the item before anything is sent.
        target = plan.deploy_target(resolved["resource_pool"], self.folder, resolved.get("host"))
        summary = rest.filter_item(item["id"], target)
        problems = plan.summary_problems(summary, params["network_mappings"], params["ovf_properties"],
                                         params["accept_all_eula"], storage_mappings=storage["mappings"],
                                         storage_default=params["datastore"] or params["datastore_cluster"]
                                         or params["storage_profile"])
        if problems:
            self.fail_parameter(*problems[0])
        # The diff names everything (name and id); only what the deploy sets, nothing "unchanged".
        self.after = dict({"vm": params["vm"], "library_item": plan.label(item.get("name"), item["id"])},
                          **plan.placement_diff(resolved, self.names))
        self.after.update(plan.storage_diff(storage["profile"], storage["mappings"], self.names))
        self.after.update({key: params[key] for key in ("flags", "locale") if params[key]})
        if "datastore_choice" in self.result:
            self.after["datastore_choice"] = self.result["datastore_choice"]["reason"]
        if params["power_on"]:
            self.after["power_state"] = "POWERED_ON"
        if self.check_mode:
            self.changed(before={}, after=self.after)
            return

        spec = plan.deployment_spec(
            rest.family, params["vm"], params["accept_all_eula"], annotation=params["annotation"],
            datastore_id=resolved.get("datastore"), storage_provisioning=params["storage_provisioning"],
            network_mappings=resolved["network_mappings"], ovf_properties=params["ovf_properties"],
            deployment_option=params["deployment_option"], storage_profile_id=storage["profile"],
            storage_mappings=storage["mappings"], flags=params["flags"], locale=params["locale"])
        if self.deadline.remaining() <= 0:
            raise WaitTimeoutError("the timeout of %s passed during the lookups, before the deploy was sent; nothing "
                                   "was deployed" % format_seconds(params["timeout"]), operation=vcenter_rest.OP_DEPLOY,
                                   resource="VM '%s'" % params["vm"])
        vm_id, lost = self.deploy(rest, item["id"], target, spec)
        if vm_id is None:
            return  # a concurrent deploy of the same name won; adopted
        self.changed(before={}, after=self.after)
        self.result["vm"].update(moref=vm_id, answer_lost=lost)
        self.result["outcome"] = plan.DEPLOYED
        if lost and self.deadline.remaining() <= 0:
            # The deploy call used the whole deadline: the VM is registered but most likely still copying.
            self.result["outcome"] = plan.STARTED
            raise WaitTimeoutError(
                "the deploy of VM '%s' did not answer within the timeout of %s; VM %s is in folder %s and its deploy "
                "may still be running. Re-run the task to wait for it: the VM is adopted, never deployed again"
                % (params["vm"], format_seconds(params["timeout"]), vm_id, self.folder_label), operation=vcenter_rest.OP_DEPLOY,
                resource="VM '%s'" % params["vm"])
        if lost and not params["wait"]:
            self.result["outcome"] = plan.STARTED
            if params["power_on"]:
                self.warn("VM %s is still being deployed (wait=false); a later run with wait=true powers it on"
                          % vm_id)
            self.result["vm"]["power_state"] = self.read_power_state(vm_id)
            return
        if lost:
            self.warn("the answer to the deploy call was lost; VM %s was found by name in folder %s"
                      % (vm_id, self.folder_label))
        self.finish(vm_id)

    def choose_datastore(self, inventory, item, resolved):
        """A member of datastore_cluster with room for the item becomes the deploy's default datastore."""
        with naming("datastore_cluster"):
            pod_id, pod_name, members = inventory.datastore_cluster(self.params["datastore_cluster"],
                                                                    resolved["datacenter"])
        try:
            needed = int(item.get("size") or 0)
        except (TypeError, ValueError):
            needed = 0
        chosen, reason = plan.pick_datastore(plan.label(pod_name, pod_id), members, needed)
        if chosen is None:
            self.fail_parameter("datastore_cluster", "'%s': %s" % (self.params["datastore_cluster"], reason))
        resolved["datastore_cluster"] = pod_id
        resolved["datastore"] = chosen["id"]
        self.result["datastore_choice"] = {"datastore_cluster": plan.entity(pod_id, pod_name),
                                           "datastore": plan.entity(chosen["id"], chosen.get("name")),
                                           "free_space": chosen.get("free_space"), "needed": needed, "reason": reason}

    def resolve_storage(self, rest, inventory, datacenter):
        """storage_profile and storage_mappings with every name resolved (datastores in DATACENTER)."""
        params = self.params
        out = {"profile": None, "mappings": {}, "datastores": [], "policy_names": {}}

        def policy(ref, option):
            with naming(option):
                ident, name = rest.resolve_storage_policy(ref)
            out["policy_names"][ident] = name
            return ident

        if params["storage_profile"]:
            out["profile"] = policy(params["storage_profile"], "storage_profile")
        for entry in params["storage_mappings"] or []:
            datastore_id = None
            if entry["datastore"]:
                with naming("storage_mappings"):
                    datastore_id = inventory.resolve("datastore", entry["datastore"], datacenter)
                out["datastores"].append(datastore_id)
            profile_id = policy(entry["storage_profile"], "storage_mappings") if entry["storage_profile"] else None
            out["mappings"][entry["storage_group"]] = plan.storage_group_mapping(datastore_id, profile_id,
                                                                                 entry["provisioning"])
        return out

    def deploy(self, rest, item_id, target, spec):
        """Send the deploy once; return (vm_id, answer_lost), or (None, False) when another deploy won."""
        params = self.params

        def reconcile():
            def look():
                found = self.inventory.vms_in_folder(params["vm"], self.folder)
                return found[0] if found else None
            try:
                return wait_for(look, min(self.deadline.remaining(), RECONCILE_WINDOW), backoff=PollBackoff(),
                                what="VM '%s' in folder %s" % (params["vm"], self.folder_label))
            except WaitTimeoutError:
                return None

        read_timeout = self.deadline.remaining() if params["wait"] else min(self.deadline.remaining(), START_WINDOW)
        try:
            return rest.deploy(item_id, target, spec, reconcile=reconcile, timeout=max(read_timeout, 1.0))
        except (JobFailedError, ApiError) as error:
            if isinstance(error, ApiError) and error.status != 400:
                raise  # uncertain answers were reconciled by the client already
            # vCenter said no (200 succeeded:false, or 400); decide from a re-read whether anything is there now.
            found = self.inventory.vms_in_folder(params["vm"], self.folder)
            if found and plan.is_duplicate_name("%s %s" % (error, error.code or "")):
                # Another run deployed the same name between our look and our call: adopt it.
                self.warn("VM '%s' appeared in folder %s while this run deployed it (%s); adopted %s"
                          % (params["vm"], self.folder_label, error.message, found[0]))
                self.result["vm"].update(moref=found[0], adopted=True)
                self.result["outcome"] = plan.ADOPTED
                self.finish(found[0])
                return None, False
            if found:
                # A failed deploy that left a VM behind: something changed, say which VM.
                self.result["vm"]["moref"] = found[0]
                self.changed(before={}, after=self.after)
            raise

    def finish(self, vm_id):
        """Apply power_on (waiting for a deploy still running), then re-read the power state."""
        params = self.params
        state = self.read_power_state(vm_id)
        if params["power_on"] and state != "POWERED_ON":
            if self.check_mode:
                self.power_diff(vm_id, state)
                return
            outcome = self.power_on(vm_id)
            if outcome == STARTED:
                self.result["powered_on"] = True
                self.power_diff(vm_id, state)
            state = self.read_power_state(vm_id)
        self.result["vm"]["power_state"] = state

    def power_diff(self, vm_id, state):
        """A change of the power state only: the diff shows that field, the header says which VM."""
        if self.result.get("changed") and self.result.get("diff", {}).get("before") == {}:
            return  # this run deployed the VM: its diff already ends in power_state POWERED_ON
        self.changed(before={"power_state": state or "unknown"}, after={"power_state": "POWERED_ON"})
        if "diff" in self.result:
            header = "VM %s in folder %s" % (plan.label(self.params["vm"], vm_id), self.folder_label)
            self.result["diff"].update(before_header=header, after_header=header)

    def power_on(self, vm_id):
        """Start VM_ID; while vCenter refuses because its deploy is still running, wait (within the deadline)."""
        params = self.params
        try:
            outcome, attempts = start_when_free(self.inventory, vm_id, self.deadline.remaining() if params["wait"] else 0)
        except WaitTimeoutError as error:
            if not params["wait"]:
                self.warn("VM %s is still being deployed (vCenter refuses to power it on: %s); with wait=false it is "
                          "left as it is, a later run with wait=true powers it on" % (vm_id, error.api_message))
                return None
            if self.result["outcome"] == plan.ADOPTED:
                self.result["outcome"] = plan.ADOPTED_AND_WAITED
            raise WaitTimeoutError(
                "VM %s ('%s') in folder %s is still held by its deploy: vCenter refuses to power it on (%s). %s; re-run "
                "the task to keep waiting: the VM is adopted, never deployed again"
                % (vm_id, params["vm"], self.folder_label, error.api_message or "busy",
                   "gave up after the timeout of %s" % format_seconds(params["timeout"])),
                operation=self.inventory.power_on_operation, resource=plan.label(params["vm"], vm_id))
        if attempts > 1 and self.result["outcome"] == plan.ADOPTED:
            self.result["outcome"] = plan.ADOPTED_AND_WAITED
        return outcome

    def read_power_state(self, vm_id):
        try:
            return self.inventory.power_state(vm_id)
        except MigrationError as error:  # the state is reported, not needed: never fail the run on it
            self.warn("could not read the power state of VM %s: %s" % (vm_id, error))
            return None

    def validate(self):
        # Called by the base before the session is opened: nothing is sent for bad input.
        params = self.params
        self.check_name("vm", params["vm"], "VM name")
        problem = plan.vm_name_problem(params["vm"])
        if problem:
            self.fail_parameter("vm", problem)
        for option in NAME_OPTIONS:
            if params[option] is not None:
                self.check_name(option, params[option])
                problem = plan.id_like_problem(params[option])
                if problem:
                    self.fail_parameter(option, problem)
        seen = set()
        for entry in params["storage_mappings"] or []:
            self.check_name("storage_mappings", entry["storage_group"], "storage group")
            if entry["storage_group"] in seen:
                self.fail_parameter("storage_mappings", "maps storage group '%s' twice" % entry["storage_group"])
            seen.add(entry["storage_group"])
            for key in ("datastore", "storage_profile"):
                if entry[key] is not None:
                    self.check_name("storage_mappings", entry[key], key.replace("_", " "))
        for flag in params["flags"] or []:
            self.check_name("flags", flag, "flag")
        for option in ("network_mappings", "ovf_properties"):
            for key, value in (params[option] or {}).items():
                self.check_name(option, key, "key")
                if option == "network_mappings" and (not isinstance(value, str) or not value):
                    self.fail_parameter(option, "maps '%s' to %r; values must be network names or IDs" % (key, value))
                if option == "network_mappings":
                    self.check_name(option, value, "network name")
                if isinstance(value, (dict, list)):
                    self.fail_parameter(option, "sets '%s' to a %s; values must be scalars" % (key, type(value).__name__))


def main():
    VcenterOvfDeploy().execute()


if __name__ == "__main__":
    main()
