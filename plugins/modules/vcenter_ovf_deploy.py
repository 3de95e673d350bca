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
  - "Capacity: before anything is deployed (and in check mode), the free space of every datastore the new VMs land
    on (O(datastore), the member O(datastore_cluster) picks, each datastore of O(storage_mappings)) is compared with
    the library item's size (its C(size) in the content library), summed over all the VMs of the task that land on
    that datastore. When it is not enough the task fails naming the parameter(s) and the figures, before any deploy.
    The library reports only the item's total size, so each datastore a VM's disks may land on is charged the whole
    size (an upper bound); an item of unknown size, or a datastore whose free space vCenter does not report, is not
    checked."
  - "Many VMs in one task: O(vms) lists them, each with its own options; the top-level options are their defaults.
    The VMs already in their folders are read in one call per folder (C(GET /api/vcenter/vm?names=..&folders=..), or
    one PropertyCollector read), every name is resolved and every item validated before anything is sent, then the
    deploys run at most O(parallel) at a time (each holds its connection for the whole disk copy), followed by one
    waiter that also powers on the VMs that need it. Each VM's outcome is decided from one more read of the folders
    after the deploys (RV(vms)). Every VM is attempted even when others fail; the task fails at the end naming the
    failed VMs."
  - "How a re-run of a bulk task decides what is done: a VM found by name in its folder is never deployed again
    (whatever was its state: a deploy of a killed run still copying is adopted like a finished one); with
    O(power_on=true) it is powered on, the waiter trying again while vCenter refuses because its deploy still runs."
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
      - The OVF library item to deploy, by name or ID. Required, here or in each entry of O(vms).
      - Names and IDs put into a URL path are percent-encoded, so C(/), C(?), C(&) or C(#) cannot change the
        request; values of dots only, control characters and bidirectional-override characters are refused
        (the same holds for every other name option).
    type: str
  vm:
    description:
      - The name of the new VM. Also the key for idempotency within the target folder.
      - One of O(vm) and O(vms) is required.
      - At most 80 characters. C(/), the backslash and C(%) are refused (vCenter stores them escaped, so the VM
        could not be found again by this name), and so are control and bidirectional-override characters and
        leading or trailing spaces. Quotes, C(?), C(&) and C(..) are allowed; names travel in JSON bodies and
        encoded query strings only.
    type: str
    aliases: [vm_name]
  vms:
    description:
      - Several VMs to deploy in one task, instead of O(vm). Each entry holds the options of one VM; an option an
        entry leaves out takes the top-level option of the same name (O(datastore) and O(datastore_cluster) count as
        one, an entry that sets either takes neither default). O(datacenter), O(wait), O(timeout) and O(parallel)
        are the task's.
      - Each VM name may appear once per folder. The result lists each VM in RV(vms).
    type: list
    elements: dict
    suboptions:
      vm:
        description: The name of the new VM (see O(vm)).
        type: str
        required: true
        aliases: [vm_name]
      item:
        description: The library item (see O(item)).
        type: str
      library:
        description: The content library of the item (see O(library)).
        type: str
      cluster:
        description: See O(cluster).
        type: str
      resource_pool:
        description: See O(resource_pool).
        type: str
      host:
        description: See O(host).
        type: str
      folder:
        description: See O(folder).
        type: str
      datastore:
        description: See O(datastore).
        type: str
      datastore_cluster:
        description: See O(datastore_cluster).
        type: str
      storage_profile:
        description: See O(storage_profile).
        type: str
      storage_mappings:
        description: See O(storage_mappings).
        type: list
        elements: dict
        suboptions:
          storage_group:
            description: The OVF storage group.
            type: str
            required: true
          datastore:
            description: The datastore of the group's disks.
            type: str
          storage_profile:
            description: The storage policy of the group's disks.
            type: str
          provisioning:
            description: The disk provisioning of the group.
            type: str
            choices: [thin, thick, eagerZeroedThick]
      flags:
        description: See O(flags).
        type: list
        elements: str
      locale:
        description: See O(locale).
        type: str
      storage_provisioning:
        description: See O(storage_provisioning).
        type: str
        choices: [thin, thick, eagerZeroedThick]
      network_mappings:
        description: See O(network_mappings). Replaces the top-level mappings (they are not merged).
        type: dict
      ovf_properties:
        description: See O(ovf_properties). Replaces the top-level properties.
        type: dict
      deployment_option:
        description: See O(deployment_option).
        type: str
      annotation:
        description: See O(annotation).
        type: str
      accept_all_eula:
        description: See O(accept_all_eula).
        type: bool
      power_on:
        description: See O(power_on).
        type: bool
  parallel:
    description:
      - With O(vms), at most this many deploys at a time (each deploy call stays open for its whole disk copy).
      - Between 1 and 32.
    type: int
    default: 4
  datacenter:
    description:
      - The datacenter to deploy into (name or managed object ID). Other names are looked up inside it.
    type: str
    required: true
  cluster:
    description:
      - The cluster to deploy into; its root resource pool is used unless O(resource_pool) is given,
        in which case O(resource_pool) is looked up inside this cluster.
      - One of O(cluster), O(resource_pool) or O(host) is required (here or in each entry of O(vms)).
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
      - With O(vms), the VMs to deploy get their picks in turn, each counting what the earlier VMs of the task will take
        from each member (the item's size), so that a wave spreads over the members; VMs already there are not placed.
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
      - With O(vms) and V(false), each deploy gets those 10 seconds (at most O(parallel) at a time), the VMs whose
        deploy still runs then are reported with RV(vms[].outcome=started), and no VM is waited for to power it on.
    type: bool
    default: true
  timeout:
    description:
      - The deadline, in seconds, for the whole run (lookups, the deploy call, waiting for a deploy that
        is still running, power-on), like O(timeout) in every other module of the collection; with O(vms), for all
        the VMs together. A VM whose deploy has not been sent when it passes is not deployed
        (RV(vms[].outcome=not_started)); one still deploying is RV(vms[].outcome=in_progress), adopted by a re-run.
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

- name: A wave of VMs in one task, at most 8 deploys at a time; top-level options are every VM's defaults
  hybridcloud.migration.vcenter_ovf_deploy:
    library: Migration Templates
    item: ubuntu-22.04
    datacenter: DC-East
    cluster: Prod
    folder: Migrated
    datastore: east-vsan
    network_mappings:
      VM Network: Backend
    accept_all_eula: true
    power_on: true
    parallel: 8
    vms:
      - vm: web01-migrated
        ovf_properties: {hostname: web01}
      - vm: web02-migrated
        ovf_properties: {hostname: web02}
      - vm: db01-migrated
        item: sql-appliance
        datastore: east-nfs01
  register: wave

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
  returned: when O(vm) is given
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
  returned: when O(vm) is given
  type: str
  sample: adopted_and_waited
library_item:
  description: The library item used, and its library (name and ID of each).
  returned: when O(vm) is given
  type: dict
  sample: {"id": "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d", "name": "ubuntu-22.04",
           "library_id": "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f", "library_name": "Migration Templates"}
resolved:
  description:
    - Where the VM goes, each object with its name and managed object ID (C(id), C(name)); only the options
      that apply. O(network_mappings) maps each OVF network to such an object, O(storage_mappings) each OVF
      storage group to its C(type) (C(DATASTORE) or C(STORAGE_PROFILE)), that object and its C(provisioning).
  returned: when O(vm) is given
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
vms:
  description:
    - With O(vms), one entry per VM, in the order given (the keys the C(hybridcloud.migration.migration_report)
      callback reads). The single-VM keys above (RV(vm), RV(outcome), RV(resolved) ...) are not returned then.
  returned: when O(vms) is given
  type: list
  elements: dict
  contains:
    name:
      description: The VM name.
      type: str
    moref:
      description: The VM's managed object ID; null when there is no VM (it failed, or would be deployed in check mode).
      type: str
    outcome:
      description:
        - V(deployed) this run's deploy made it; V(unchanged) it was there and nothing was needed; V(powered_on) it was
          there (perhaps still deploying, from a killed run) and this run powered it on; V(adopted) / V(adopted_and_waited)
          it was there (the deploy of an earlier run failed with a duplicate name, or O(wait=false) left a deploy running);
          V(started) its deploy still runs (O(wait=false)); V(failed) see RV(vms[].error); V(in_progress) still deploying
          or not yet powered on when O(timeout) passed; V(not_started) O(timeout) passed before its deploy was sent.
        - In check mode V(would_deploy), V(would_power_on) or V(unchanged).
      type: str
    from:
      description: The library item, C(library/item (id)).
      type: str
    to:
      description: The folder and datacenter, names beside IDs.
      type: str
    jobs:
      description: Task IDs; always empty (the REST deploy call is synchronous and has no task).
      type: list
      elements: str
    error:
      description: The operation, vCenter's error code and message for a VM that failed, else empty.
      type: str
    started:
      description: When this run started its deploy (or its power-on), epoch seconds; null when it did nothing to it.
      type: float
    ended:
      description: When that ended, epoch seconds; null when not ended.
      type: float
    power_state:
      description: The power state read after the run (before it in check mode).
      type: str
    powered_on:
      description: Whether this run powered the VM on.
      type: bool
    answer_lost:
      description: True when its deploy's answer was lost and the VM was found by name afterwards.
      type: bool
    datastore_choice:
      description: With O(datastore_cluster), the member chosen and why (as RV(datastore_choice)).
      type: dict
      returned: when a datastore cluster was given
  sample:
    - {"name": "web01-migrated", "moref": "vm-1001", "outcome": "deployed",
       "from": "Migration Templates/ubuntu-22.04 (3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d)",
       "to": "Migrated (group-v40) in DC-East (datacenter-1)", "jobs": [], "error": "", "started": 1764889200.12,
       "ended": 1764889261.5, "power_state": "POWERED_ON", "powered_on": true, "answer_lost": false}
api_family:
  description: The REST URL family used (V(api) or V(rest)).
  returned: always
  type: str
  sample: api
powered_on:
  description: Whether this run powered the VM on.
  returned: when O(vm) is given
  type: bool
  sample: false
"""


import json
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.hybridcloud.migration.plugins.module_utils import _vcenter_ovf_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import vcenter_rest
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ApiError, JobFailedError, MigrationError, NotFoundError, ParameterError, WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline, PollBackoff, format_seconds, wait_for
from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import (
    BUSY, STARTED, naming, resolve_placement, start_when_free)

# A server that took a deploy registers the VM at once (ImportVApp does, before it copies disks);
# after an uncertain answer the VM is looked for this long before concluding that nothing was done.
RECONCILE_WINDOW = 30.0
# wait=false: how long the deploy call is given to answer before the run returns with the deploy running.
START_WINDOW = 10.0
NOT_SENT = "not sent"  # a bulk deploy the deadline kept from being sent

NAME_OPTIONS = ("library", "item", "datacenter", "cluster", "resource_pool", "host", "folder", "datastore",
                "deployment_option", "storage_profile", "locale", "datastore_cluster")


# The options of one VM: the top-level ones (defaults for every VM) and each ``vms`` entry's.
def per_vm_options():
    return dict(
        item=dict(type="str"),
        library=dict(type="str"),
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
        accept_all_eula=dict(type="bool"),
        power_on=dict(type="bool"),
    )


def argument_spec():
    spec = per_vm_options()  # an entry's unset option (None) takes the top-level one
    spec.update(
        vm=dict(type="str", aliases=["vm_name"]),
        vms=dict(type="list", elements="dict", mutually_exclusive=[["datastore", "datastore_cluster"]],
                 options=dict(per_vm_options(), vm=dict(type="str", required=True, aliases=["vm_name"]))),
        parallel=dict(type="int", default=4),
        datacenter=dict(type="str", required=True),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=vcenter_rest.DEFAULT_DEPLOY_TIMEOUT),
    )
    spec["accept_all_eula"]["default"] = False
    spec["power_on"]["default"] = False
    return spec


class VcenterOvfDeploy(MigrationModule):
    connection = vcenter_rest.CONNECTION
    argument_spec = argument_spec()
    ranges = {"timeout": (1, None), "parallel": (1, 32)}
    # cluster / resource_pool / host and item are checked per VM (validate_vm): a vms entry may give them.
    module_kwargs = dict(required_one_of=[["vm", "vms"]],
                         mutually_exclusive=[["vm", "vms"], ["datastore", "datastore_cluster"]])

    def run(self):
        params = self.params
        # timeout is the whole run's deadline: lookups, the deploy call, waiting and power-on.
        self.deadline = Deadline(params["timeout"])
        if params["vms"] is not None:
            self.run_bulk()
            return
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
            self.result["datastore_choice"] = self.choose_datastore(inventory, item, resolved)
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

        # 2. Validate against the item before anything is sent: room on the datastores, then the item's needs.
        self.check_capacity([self.demands(params["vm"], item, resolved, storage["mappings"],
                                          lambda option: option)])
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

    def choose_datastore(self, inventory, item, resolved, params=None, option="datastore_cluster", pods=None, claims=None):
        """A member of datastore_cluster with room for the item becomes the deploy's default datastore.

        PODS caches the datastore clusters read (one read per cluster and call); CLAIMS ({datastore id: bytes})
        is what earlier VMs of the same call will take, so that a wave spreads over the members.
        """
        params = params or self.params
        key = (params["datastore_cluster"], resolved["datacenter"])
        if pods is not None and key in pods:
            pod_id, pod_name, members = pods[key]
        else:
            with naming(option):
                pod_id, pod_name, members = inventory.datastore_cluster(params["datastore_cluster"], resolved["datacenter"])
            if pods is not None:
                pods[key] = (pod_id, pod_name, members)
        needed = plan.item_size(item)
        chosen, reason = plan.pick_datastore(plan.label(pod_name, pod_id), plan.after_claims(members, claims), needed)
        if chosen is None:
            self.fail_parameter(option, "'%s': %s" % (params["datastore_cluster"], reason))
        if claims is not None:
            claims[chosen["id"]] = claims.get(chosen["id"], 0) + needed
        resolved["datastore_cluster"] = pod_id
        resolved["datastore"] = chosen["id"]
        return {"datastore_cluster": plan.entity(pod_id, pod_name), "datastore": plan.entity(chosen["id"], chosen.get("name")),
                "free_space": chosen.get("free_space"), "needed": needed, "reason": reason}

    def resolve_storage(self, rest, inventory, datacenter, params=None, prefix=""):
        """storage_profile and storage_mappings with every name resolved (datastores in DATACENTER)."""
        params = params or self.params
        out = {"profile": None, "mappings": {}, "datastores": [], "policy_names": {}}

        def policy(ref, option):
            with naming(option):
                ident, name = rest.resolve_storage_policy(ref)
            out["policy_names"][ident] = name
            return ident

        if params["storage_profile"]:
            out["profile"] = policy(params["storage_profile"], prefix + "storage_profile")
        for entry in params["storage_mappings"] or []:
            datastore_id = None
            if entry["datastore"]:
                with naming(prefix + "storage_mappings"):
                    datastore_id = inventory.resolve("datastore", entry["datastore"], datacenter)
                out["datastores"].append(datastore_id)
            profile_id = policy(entry["storage_profile"], prefix + "storage_mappings") if entry["storage_profile"] else None
            out["mappings"][entry["storage_group"]] = plan.storage_group_mapping(datastore_id, profile_id,
                                                                                 entry["provisioning"])
        return out

    # -- capacity (issue 14 preflight: before anything is deployed, also in check mode) -------------
    def demands(self, vm_name, item, resolved, mappings, option):
        """[(datastore id, bytes, VM, parameter)]: the item's size on every datastore this VM's disks may land on."""
        size = plan.item_size(item)
        default = option("datastore_cluster") if resolved.get("datastore_cluster") else option("datastore")
        return [(datastore, size, vm_name, parameter) for datastore, parameter in
                plan.vm_datastores(resolved.get("datastore"), mappings, default, option("storage_mappings"))]

    def check_capacity(self, per_vm):
        """Fail naming the parameter(s) and the figures when a datastore lacks room for what this call puts on it."""
        demands = [demand for vm_demands in per_vm for demand in vm_demands]
        if not demands or not any(size for dummy, size, dummy2, dummy3 in demands):
            return  # nothing lands on a named datastore, or the library does not say how big the item is
        spaces = self.inventory.datastore_space([datastore for datastore, dummy, dummy2, dummy3 in demands])
        names = dict(getattr(self, "names", None) or {})
        names.update(self.inventory.names(list(spaces)))
        problems = plan.capacity_problems(demands, spaces, names)
        if problems:
            raise ParameterError("not enough free space: %s" % "; ".join(
                "%s %s: %s" % ("parameters" if len(parameters) > 1 else "parameter",
                               ", ".join("'%s'" % p for p in parameters), text) for parameters, text in problems))

    # -- many VMs: vms + parallel ---------------------------------------------------------------------
    def run_bulk(self):
        params = self.params
        rest, inventory = self.client.rest, self.client.inventory
        self.inventory = inventory
        self.result.update(api_family=rest.family, vms=[])
        vms = [self.resolve_bulk_vm(rest, inventory, index, merged) for index, merged in enumerate(self.bulk)]
        # Names of every object in one read (SOAP: one PropertyCollector call; REST: what the lookups saw).
        self.names = inventory.names(sorted({i for vm in vms for i in plan.all_ids(vm["resolved"]) + vm["storage"]["datastores"]}))
        for vm in vms:
            self.names.update(vm["storage"]["policy_names"])
            vm["to"] = "%s in %s" % (plan.label(self.names.get(vm["folder"]), vm["folder"]),
                                     plan.label(self.names.get(vm["resolved"]["datacenter"]), vm["resolved"]["datacenter"]))

        # 1. Real state in one read per target folder: the VMs already there (deploys in flight included).
        existing = self.read_folders(vms)
        for vm in vms:
            vm["action"], vm["moref"] = plan.bulk_action(existing.get((vm["folder"], vm["name"])), vm["params"]["power_on"])
            vm["before_state"] = (existing.get((vm["folder"], vm["name"])) or [(None, None)])[0][1]
        to_deploy = [vm for vm in vms if vm["action"] == "deploy"]
        # Datastore cluster members are picked for the VMs to deploy only, each pick counting the earlier ones.
        pods, claims = {}, {}
        for vm in to_deploy:
            if vm["params"]["datastore_cluster"]:
                try:
                    vm["choice"] = self.choose_datastore(inventory, vm["item"], vm["resolved"], vm["params"],
                                                         vm["option"]("datastore_cluster"), pods, claims)
                except (NotFoundError, ParameterError) as error:
                    error.message += " (VM '%s', vms[%d])" % (vm["name"], vm["index"])
                    raise
        self.names.update(inventory.names([vm["resolved"]["datastore"] for vm in to_deploy if vm["choice"]]))

        # 2. Validate before anything is sent: room on the datastores for every VM of the call, the items' needs.
        self.check_capacity([self.demands(vm["name"], vm["item"], vm["resolved"], vm["storage"]["mappings"], vm["option"])
                             for vm in to_deploy])
        summaries = {}
        problems = []
        for vm in to_deploy:
            key = (vm["item"]["id"], json.dumps(vm["target"], sort_keys=True))
            if key not in summaries:
                summaries[key] = rest.filter_item(vm["item"]["id"], vm["target"])
            p = vm["params"]
            problems.extend("parameter '%s' (VM '%s') %s" % (vm["option"](option), vm["name"], text) for option, text in
                            plan.summary_problems(summaries[key], p["network_mappings"], p["ovf_properties"],
                                                  p["accept_all_eula"], storage_mappings=vm["storage"]["mappings"],
                                                  storage_default=p["datastore"] or p["datastore_cluster"]
                                                  or p["storage_profile"]))
        if problems:  # every VM's problems at once, before anything is sent
            raise ParameterError("; ".join(problems))

        if self.check_mode:
            for vm in vms:
                vm["outcome"] = {"deploy": plan.WOULD_DEPLOY, "adopt": plan.WOULD_POWER_ON}.get(vm["action"], plan.UNCHANGED)
            self.bulk_result(vms)
            return

        # 3. Apply: deploys at most `parallel` at a time (each holds its connection for the disk copy), power-ons
        #    of VMs found already there, all followed by one waiter.
        self.apply_bulk(rest, inventory, vms, to_deploy)

        # 4. Re-read, decide each VM's outcome from what is there now.
        after = self.read_folders(vms)
        for vm in vms:
            self.decide(vm, after.get((vm["folder"], vm["name"])) or [])
        self.bulk_result(vms)
        failures = plan.bulk_failures(self.result["vms"])
        if failures:
            bad = [e for e in self.result["vms"] if e["outcome"] in (plan.FAILED, plan.IN_PROGRESS, plan.NOT_STARTED)]
            raise JobFailedError("%d of %d VMs failed: %s" % (len(bad), len(vms), failures),
                                 operation=vcenter_rest.OP_DEPLOY)

    def resolve_bulk_vm(self, rest, inventory, index, params):
        """One entry's names resolved (lookups shared between entries); a failure names vms[INDEX]."""
        def option(name, entry=self.params["vms"][index]):
            return plan.entry_option(index, name) if entry.get(name) is not None else name

        cache = self.__dict__.setdefault("_lookups", {})

        def cached(key, compute):
            if key not in cache:
                cache[key] = compute()
            return cache[key]

        try:
            with naming(option("library")):
                library_id = cached(("library", params["library"]), lambda: rest.resolve_library(params["library"])) \
                    if params["library"] else None
            with naming(option("item")):
                item = cached(("item", params["item"], library_id), lambda: rest.resolve_item(params["item"], library_id))
            resolved = dict(cached(("placement", params["cluster"], params["resource_pool"], params["host"], params["folder"],
                                    params["datastore"], json.dumps(params["network_mappings"], sort_keys=True)),
                                   lambda: resolve_placement(
                                       inventory, self.params["datacenter"], cluster=params["cluster"],
                                       resource_pool=params["resource_pool"], host=params["host"], folder=params["folder"],
                                       datastore=params["datastore"], network_mappings=params["network_mappings"])))
            storage = self.resolve_storage(rest, inventory, resolved["datacenter"], params,
                                           "vms[%d]." % index if self.params["vms"][index].get("storage_mappings") is not None
                                           or self.params["vms"][index].get("storage_profile") is not None else "")
        except MigrationError as error:
            if isinstance(error, (NotFoundError, ParameterError)):
                for name in plan.VM_OPTIONS:  # the entry's own option, when the entry set it
                    error.message = error.message.replace("parameter '%s'" % name, "parameter '%s'" % option(name))
                error.message += " (VM '%s', vms[%d])" % (params["vm"], index)
            raise
        library_id = item.get("library_id") or library_id
        library_name = cached(("library name", library_id), lambda: rest.library_name(library_id)) if library_id else None
        item_label = plan.label(item.get("name"), item["id"])
        return {"index": index, "name": params["vm"], "params": params, "option": option, "item": item,
                "library_id": library_id, "resolved": resolved, "storage": storage, "choice": None,
                "folder": resolved["folder"],
                "target": plan.deploy_target(resolved["resource_pool"], resolved["folder"], resolved.get("host")),
                "from": "%s/%s" % (library_name, item_label) if library_name else item_label, "jobs": [], "error": "", "started": None, "ended": None,
                "powered_on": False, "waited": False, "result": None, "lost": False}

    def read_folders(self, vms):
        """{(folder, name): [(id, power state)]}: one read per target folder for all the call's VMs there."""
        by_folder = {}
        for vm in vms:
            by_folder.setdefault(vm["folder"], []).append(vm["name"])
        found = {}
        for folder, names in by_folder.items():
            for name, entries in self.inventory.vms_named(names, folder).items():
                found[(folder, name)] = entries
        return found

    def apply_bulk(self, rest, inventory, vms, to_deploy):
        params = self.params
        rest.server_version()  # read once here, not by every deploy thread
        rest.allow_concurrent(params["parallel"] + 1)
        power = [vm for vm in vms if vm["action"] == "adopt"]

        def deploy(vm):
            if self.deadline.remaining() <= 0:
                return NOT_SENT
            p = vm["params"]
            spec = plan.deployment_spec(
                rest.family, vm["name"], p["accept_all_eula"], annotation=p["annotation"],
                datastore_id=vm["resolved"].get("datastore"), storage_provisioning=p["storage_provisioning"],
                network_mappings=vm["resolved"]["network_mappings"], ovf_properties=p["ovf_properties"],
                deployment_option=p["deployment_option"], storage_profile_id=vm["storage"]["profile"],
                storage_mappings=vm["storage"]["mappings"], flags=p["flags"], locale=p["locale"])
            remaining = self.deadline.remaining()
            vm["started"] = time.time()
            try:
                # No reconcile here: the re-read after all deploys decides for every VM at once.
                vm["result"] = rest.deploy(vm["item"]["id"], vm["target"], spec,
                                           timeout=max(remaining if params["wait"] else min(remaining, START_WINDOW), 1.0))
            except MigrationError as error:
                vm["result"] = error
            finally:
                vm["ended"] = time.time()
            return vm["result"]

        pool = ThreadPoolExecutor(max_workers=params["parallel"])
        futures = {pool.submit(deploy, vm): vm for vm in to_deploy}
        try:
            def check():
                for future, vm in futures.items():
                    if future.done() and vm.get("collected") is None:
                        vm["collected"] = True
                        if future.result() is NOT_SENT:
                            vm["result"] = NOT_SENT
                        elif not isinstance(vm["result"], MigrationError) and vm["params"]["power_on"] and params["wait"]:
                            vm["moref"] = vm["result"][0]
                            power.append(vm)
                for vm in list(power):
                    self.try_power_on(vm, power)
                if all(f.done() for f in futures) and not power:
                    return True
                return None

            wait_for(check, self.deadline.remaining(), backoff=PollBackoff(), what="%d deploys" % len(to_deploy))
        except WaitTimeoutError:
            pass  # every VM's outcome is decided from the re-read; what still runs is in_progress
        finally:
            for future, vm in futures.items():
                if future.cancel():
                    vm["result"] = NOT_SENT
            pool.shutdown(wait=False)

    def try_power_on(self, vm, pending):
        """One power-on try of VM (found there, or deployed by this run); BUSY keeps it in PENDING for the next poll."""
        if vm.get("started") is None:
            vm["started"] = time.time()
        try:
            outcome = self.inventory.start(vm["moref"], timeout=max(self.deadline.remaining(), 1.0))
        except MigrationError as error:
            vm["power_error"] = error
            pending.remove(vm)
            vm["ended"] = time.time()
            return
        if outcome == BUSY:
            vm["waited"] = True
            if not self.params["wait"]:
                vm["power_error"] = None
                pending.remove(vm)
                vm["ended"] = time.time()
            return
        vm["powered_on"] = outcome == STARTED
        pending.remove(vm)
        vm["ended"] = time.time()

    def decide(self, vm, found):
        """VM's outcome from the re-read (FOUND: [(id, power state)] named so in its folder)."""
        vm["power_state"] = found[0][1] if found else None
        vm["changed"] = False
        result = vm["result"]
        if vm["action"] == "keep":
            vm["outcome"] = plan.UNCHANGED
        elif vm["action"] == "adopt":
            vm["changed"] = vm["powered_on"]
            vm["outcome"] = plan.POWERED_ON if vm["powered_on"] else plan.ADOPTED_AND_WAITED if vm["waited"] else plan.ADOPTED
            if vm.get("power_error") is not None:
                vm["outcome"], vm["error"] = plan.FAILED, error_text(vm["power_error"])
            elif vm["waited"] and not vm["powered_on"] and vm["power_state"] != "POWERED_ON":
                vm["outcome"] = plan.IN_PROGRESS if self.params["wait"] else plan.ADOPTED
                if self.params["wait"]:
                    vm["error"] = "still held by its deploy when the timeout of %s passed (vCenter refuses to power it " \
                                  "on); a re-run waits for it" % format_seconds(self.params["timeout"])
        elif result is None and vm["started"] is not None:
            # The waiter's deadline passed while this deploy call was still open: vCenter keeps deploying.
            vm["outcome"] = plan.IN_PROGRESS
            vm["error"] = "still deploying when the timeout of %s passed; a re-run adopts it, never deploys it again" \
                % format_seconds(self.params["timeout"])
            if found:
                vm["moref"], vm["changed"] = found[0][0], True
        elif result is NOT_SENT or result is None:
            vm["outcome"] = plan.NOT_STARTED
            vm["error"] = "the timeout of %s passed before its deploy was sent" % format_seconds(self.params["timeout"])
            if found:  # should not happen: a VM of that name appeared meanwhile
                vm["moref"] = found[0][0]
        elif isinstance(result, MigrationError):
            if found and vcenter_rest.uncertain(result):
                vm["moref"], vm["changed"], vm["lost"] = found[0][0], True, True
                vm["outcome"] = plan.STARTED if not self.params["wait"] or vm["ended"] is None else plan.DEPLOYED
                if self.params["wait"] and self.deadline.remaining() <= 0:
                    vm["outcome"] = plan.IN_PROGRESS
                    vm["error"] = "its deploy did not answer within the timeout of %s and may still be running; a re-run " \
                                  "adopts it" % format_seconds(self.params["timeout"])
            elif found and plan.is_duplicate_name("%s %s" % (result, result.code or "")):
                vm["moref"], vm["outcome"] = found[0][0], plan.ADOPTED
            else:
                vm["outcome"], vm["error"] = plan.FAILED, error_text(result)
                if found:  # a failed deploy that left a VM behind: something changed, say which VM
                    vm["moref"], vm["changed"] = found[0][0], True
        else:
            vm["moref"] = result[0] or (found[0][0] if found else None)
            vm["outcome"], vm["changed"] = plan.DEPLOYED, True
            if vm.get("power_error") is not None:
                vm["outcome"], vm["error"] = plan.FAILED, "deployed, but the power-on failed: %s" % error_text(vm["power_error"])
            elif vm["params"]["power_on"] and vm["power_state"] != "POWERED_ON" and self.params["wait"]:
                vm["outcome"], vm["error"] = plan.IN_PROGRESS, "deployed, not yet powered on when the timeout of %s " \
                    "passed; a re-run powers it on" % format_seconds(self.params["timeout"])

    def bulk_result(self, vms):
        entries = []
        after = {}
        for vm in vms:
            entry = {"name": vm["name"], "moref": vm.get("moref"), "outcome": vm["outcome"], "from": vm["from"],
                     "to": vm["to"], "jobs": vm["jobs"], "error": vm["error"], "started": vm["started"],
                     "ended": vm["ended"], "power_state": vm.get("power_state", vm.get("before_state")),
                     "powered_on": vm["powered_on"], "answer_lost": vm["lost"]}
            if vm["choice"]:
                entry["datastore_choice"] = vm["choice"]
            entries.append(entry)
            changes = {}
            if vm["outcome"] in (plan.WOULD_DEPLOY, plan.DEPLOYED, plan.STARTED) or (vm["outcome"] in (
                    plan.FAILED, plan.IN_PROGRESS) and vm["action"] == "deploy" and vm.get("changed")):
                changes = dict({"library_item": vm["from"]}, **plan.placement_diff(vm["resolved"], self.names))
                changes.update(plan.storage_diff(vm["storage"]["profile"], vm["storage"]["mappings"], self.names))
                if vm["params"]["power_on"]:
                    changes["power_state"] = "POWERED_ON"
            elif vm["outcome"] in (plan.WOULD_POWER_ON, plan.POWERED_ON):
                changes = {"power_state": "POWERED_ON"}
            if changes:
                after[plan.label(vm["name"], vm.get("moref"))] = changes
        self.result["vms"] = entries
        changed = any(vm.get("changed") for vm in vms) if not self.check_mode else bool(after)
        if changed:
            before = {name: ({"power_state": next(v.get("before_state") or "unknown" for v in vms
                                                  if plan.label(v["name"], v.get("moref")) == name)}
                             if list(after[name]) == ["power_state"] else {}) for name in after}
            self.changed(before={"vms": {k: v for k, v in before.items() if v}}, after={"vms": after})

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
        if params["vms"] is None:
            self.validate_vm(params, lambda option: option)
            return
        if not params["vms"]:
            self.fail_parameter("vms", "must list at least one VM")
        self.bulk = []
        for index, entry in enumerate(params["vms"]):
            merged = plan.merge_vm(params, entry)
            self.validate_vm(merged, lambda option, index=index: plan.entry_option(index, option)
                             if entry.get(option) is not None else option)
            self.bulk.append(merged)
        seen = {}
        for index, merged in enumerate(self.bulk):
            key = (merged["vm"], merged["folder"])
            if key in seen:
                self.fail_parameter(plan.entry_option(index, "vm"), "names VM '%s' again (vms[%d] has it, in the same "
                                    "folder): each VM once per call" % (merged["vm"], seen[key]))
            seen[key] = index

    def validate_vm(self, params, option):
        """The checks of one VM's options; OPTION(name) is how a parameter is named in messages."""
        where = " (%s)" % option("vm").rsplit(".", 1)[0] if option("vm") != "vm" else ""
        if params["vm"] is None:
            self.fail_parameter(option("vm"), "is required: the name of the VM")
        self.check_name(option("vm"), params["vm"], "VM name")
        if params["item"] is None:
            self.fail_parameter(option("item"), "is required for VM '%s'%s: the library item to deploy" % (params["vm"], where))
        if not any(params[key] for key in ("cluster", "resource_pool", "host")):
            raise ParameterError("one of the parameters cluster, resource_pool, host is required for VM '%s'%s: where "
                                 "the VM runs" % (params["vm"], where))
        if params["datastore"] and params["datastore_cluster"]:
            self.fail_parameter(option("datastore"), "and datastore_cluster are mutually exclusive")
        self.check_name(option("vm"), params["vm"], "VM name")
        problem = plan.vm_name_problem(params["vm"])
        if problem:
            self.fail_parameter(option("vm"), problem)
        for name in NAME_OPTIONS:
            if params.get(name) is not None:
                self.check_name(option(name), params[name])
                problem = plan.id_like_problem(params[name])
                if problem:
                    self.fail_parameter(option(name), problem)
        seen = set()
        for entry in params["storage_mappings"] or []:
            self.check_name(option("storage_mappings"), entry["storage_group"], "storage group")
            if entry["storage_group"] in seen:
                self.fail_parameter(option("storage_mappings"), "maps storage group '%s' twice" % entry["storage_group"])
            seen.add(entry["storage_group"])
            for key in ("datastore", "storage_profile"):
                if entry[key] is not None:
                    self.check_name(option("storage_mappings"), entry[key], key.replace("_", " "))
        for flag in params["flags"] or []:
            self.check_name(option("flags"), flag, "flag")
        for name in ("network_mappings", "ovf_properties"):
            for key, value in (params[name] or {}).items():
                self.check_name(option(name), key, "key")
                if name == "network_mappings" and (not isinstance(value, str) or not value):
                    self.fail_parameter(option(name), "maps '%s' to %r; values must be network names or IDs" % (key, value))
                if name == "network_mappings":
                    self.check_name(option(name), value, "network name")
                if isinstance(value, (dict, list)):
                    self.fail_parameter(option(name), "sets '%s' to a %s; values must be scalars" % (key, type(value).__name__))


def error_text(error):
    """An error of one VM of a bulk call: the API's code and message, the operation named."""
    return str(error)


def main():
    VcenterOvfDeploy().execute()


if __name__ == "__main__":
    main()
