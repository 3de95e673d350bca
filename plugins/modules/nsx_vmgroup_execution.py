#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nsx_vmgroup_execution
short_description: Migrate a VM group to NSX-T with vMotion (NSX V2T "VM group" recipe)
version_added: 1.0.0
description:
  - Runs the NSX-T Manager "VM group" migration of one group of VMs, the vMotion recipe of the NSX V2T migration
    (NSX-T 3.2.2 and later).
  - Optionally calls C(pre_migrate) to create the group, reads C(get_vm_group_execution_details), relocates every VM with
    the vSphere API so that each vNIC NSX lists is backed by its NSX segment (an NSX distributed port group or an opaque
    network) and carries its VIF id as C(externalId), optionally to another host, cluster, resource pool, datastore, folder
    or vCenter, then calls C(post_migrate) with the VMs that failed, and optionally C(finalize_infra).
  - Every input is checked before the first mutating call (both vCenter logins, every placement name, the thumbprint
    format (and that it is the target's), and every VM of O(vms) found by name or instance UUID (an id that
    is a BIOS UUID is named as such)). A bad input fails naming its parameter, with nothing sent to NSX or vCenter.
  - Every VM is attempted, at most O(parallel) relocations at a time; an error of one VM's relocation (a vSphere fault, a
    dropped connection, a timeout) never stops the others. The task fails at the end, naming the VMs not migrated, if any.
  - Each VM's outcome is decided by reading the VM again once its task ended, whatever the task said. A VM whose host,
    resource pool, datastore, folder, vCenter and mapped vNIC backings and VIF ids are as asked is migrated (V(relocated)),
    even if the answer to its relocation was lost; a VM whose relocation still runs at the O(timeout) is V(in_progress),
    with the task id, and is not reported as failed (the vMotion goes on in vCenter; a later run waits for it).
  - Safe to re-run after any interruption (killed run, timeout, lost answer). Before starting a relocation, the module looks
    for a relocation of that VM already queued or running in vCenter (the VM's C(recentTask)), for example from an earlier,
    killed run, and waits for it instead of starting another, so no VM is relocated twice. A run whose relocation answer was
    lost finds the running task the same way and waits for it within the same O(timeout).
  - Idempotent. VMs already placed as asked, with every mapped vNIC already on its segment and carrying its VIF id, are not
    relocated. When every VM is in place and marked (see below), the group exists and C(finalize_infra) was sent if asked,
    nothing is sent to NSX or vCenter.
  - How a re-run knows what NSX already did. NSX keeps no readable trace of C(post_migrate) or C(finalize_infra), so the
    module keeps markers in vCenter custom attributes (a system of record the migrated VMs live in). After a
    C(post_migrate) succeeded, each VM it covered (in place, not listed as failed) gets the custom attribute
    C(hybridcloud.migration.nsx_post_migrate) set to the group id (one C(SetField) call per VM). A later run sends
    C(post_migrate) again, with C(allow_override=true) as NSX expects for a repeat, whenever a VM in place lacks that marker,
    because the earlier call failed or its answer was lost, the earlier run was killed before it, or the VM finished moving after
    it. A run that cannot be sure sends it; a run that finds every VM in place marked sends nothing. After C(finalize_infra)
    succeeded, the group id is added to the custom attribute C(hybridcloud.migration.nsx_finalize_infra) of the target
    vCenter's root folder, and C(finalize_infra) is sent again only for a group not listed there.
  - NSX looks for the group's VMs in the source vCenter, so after a cross-vCenter vMotion it may list a moved VM in
    C(failed_vm_instance_ids). A VM found on the target vCenter, placed as asked, with every vNIC on an NSX segment and
    carrying its VIF id, counts as migrated (V(unchanged)) all the same, and is not listed as failed.
  - C(post_migrate) lists exactly the VMs not in place after the re-read (and those NSX did not find). It waits while a
    relocation still runs (V(deferred)), so that a VM that is still moving is never listed as failed.
author: hybridcloud.migration contributors (@hybridcloud)
extends_documentation_fragment:
  - hybridcloud.migration.nsx
  - hybridcloud.migration.vsphere
  - hybridcloud.migration.attributes
options:
  group_id:
    description:
      - The VM group id (a string chosen by the caller in C(pre_migrate)).
      - Required unless the task only runs O(finalize_infra).
    type: str
  federation_site_id:
    description:
      - The NSX Federation site id, for Federation setups.
    type: str
  vms:
    description:
      - The VMs of the group, each by name or by vCenter B(instance) UUID (C(config.instanceUuid), not the BIOS UUID).
      - Names are resolved to instance UUIDs in the source vCenter, in one bulk read, before anything is sent; a name the
        source vCenter does not have is looked up in the target vCenter (a VM an earlier run moved there). A name several
        VMs have stands for the one of them the group already holds in NSX, if exactly one. A name that matches no VM, or
        several VMs otherwise, fails naming this option; give the instance UUID then. An id that is a VM's BIOS UUID
        fails, naming the instance UUID to give instead.
      - A VM listed more than once (also once by name and once by UUID) is sent to NSX (and migrated) once.
      - When given, the module makes sure the group holds these VMs, with C(pre_migrate) (see O(pre_migrate)). When not
        given, the group must exist in NSX; its VMs are those NSX lists.
      - The group's other VMs (NSX lists them) are migrated too.
    type: list
    elements: str
  pre_migrate:
    description:
      - Whether C(pre_migrate) may be sent to create the group of O(vms) (segment ports (VIFs) per VM and temporary
        security groups). It is sent when the group does not exist, or exists without some VM of O(vms) (then only with
        O(allow_override=true)); it is skipped when the group already holds every VM of O(vms), and never sent without
        O(vms).
      - Before it is sent, every VM of O(vms) must exist in the source or target vCenter.
      - After a C(pre_migrate) whose outcome is unknown (connection lost after sending) it is sent again with
        C(allow_override=true).
      - V(false) never sends it; the group must then exist and hold every VM of O(vms).
    type: bool
    default: true
  allow_override:
    description:
      - Allow C(pre_migrate) to run again on an existing group that lacks some VM of O(vms).
      - When false and the group exists without some of those VMs, the module fails before sending anything.
    type: bool
    default: false
  post_migrate:
    description:
      - Call C(post_migrate) after the relocations, listing the VMs NSX could not find and every VM not in place (its
        relocation failed or never started), so that NSX applies the security tags to the others only.
      - Sent once every relocation has ended, and again (with C(allow_override=true)) by a later run while a VM in place
        lacks the post_migrate marker (see the description). Needs the privileges to define and set custom attributes in
        vCenter (C(Global.ManageCustomFields), C(Global.SetCustomField)).
    type: bool
    default: true
  finalize_infra:
    description:
      - Call C(finalize_infra) at the end (after the last group), to delete the temporary NSX objects.
      - Sent when every VM of the group is in place and C(post_migrate) is done; not sent again for a group the finalize
        marker lists (see the description). Without O(group_id), the task only sends C(finalize_infra) (reported as
        changed, no marker).
    type: bool
    default: false
  target_vcenter_hostname:
    description:
      - The target vCenter of a cross-vCenter vMotion. If not set, the VMs stay in the source vCenter (O(hostname)).
      - If not set, the value of the E(VMWARE_TARGET_HOST) environment variable is used.
      - It is reached through the same proxy as the source vCenter (O(proxy_host)), when one is set.
    type: str
  target_vcenter_username:
    description:
      - The target vCenter user.
      - If not set, the value of the E(VMWARE_TARGET_USER) environment variable is used, else O(username).
    type: str
    aliases: [target_vcenter_user]
  target_vcenter_password:
    description:
      - The password of O(target_vcenter_username).
      - If not set, the value of the E(VMWARE_TARGET_PASSWORD) environment variable is used, else O(password).
    type: str
    aliases: [target_vcenter_pass, target_vcenter_pwd]
  target_vcenter_port:
    description:
      - The target vCenter HTTPS port.
      - If not set, the value of the E(VMWARE_TARGET_PORT) environment variable is used, else O(port).
    type: int
  target_vcenter_validate_certs:
    description:
      - Whether to verify the target vCenter certificate.
      - If not set, the value of the E(VMWARE_TARGET_VALIDATE_CERTS) environment variable is used, else O(validate_certs).
    type: bool
  target_vcenter_ca_cert:
    description:
      - A PEM file of CA certificates to verify the target vCenter with.
      - If not set, the value of the E(VMWARE_TARGET_CA_CERT) environment variable is used, else O(ca_cert).
    type: path
  target_vcenter_thumbprint:
    description:
      - SHA-1 thumbprint of the target vCenter certificate (20 colon-separated hex pairs, C(AB:CD:...), either case), given
        to the source vCenter for the cross-vCenter vMotion.
      - Checked before anything is sent. A malformed value, or one that is not the thumbprint of the certificate the target
        presents to this module, fails naming this parameter.
      - If not set, the value of the E(VMWARE_TARGET_THUMBPRINT) environment variable is used; if that is not set either,
        it is computed from the certificate the target presents to this module (verified unless
        O(target_vcenter_validate_certs=false)).
    type: str
  target_datacenter:
    description:
      - Datacenter (name, path or moref id) in which the other target names are looked up, when names are ambiguous.
    type: str
  target_host:
    description:
      - ESXi host to move the VMs to (name, inventory path or moref id such as V(host-42)).
      - Required, or O(target_cluster), for a cross-vCenter vMotion.
    type: str
  target_cluster:
    description:
      - Cluster to move the VMs to; its hosts are used in turn. VMs already on one of its hosts stay there.
    type: str
  target_resource_pool:
    description:
      - Resource pool to move the VMs to (name, path or moref id).
      - Defaults for a cross-vCenter vMotion to the root resource pool of the host's or cluster's compute resource. Give it
        when moving VMs to another cluster within a vCenter.
    type: str
  target_datastore:
    description:
      - Datastore to move the VMs' storage to (name, path or moref id). If not set, storage does not move.
      - Required for a cross-vCenter vMotion.
    type: str
  target_folder:
    description:
      - VM folder to put the VMs in (name, path or moref id).
      - Defaults for a cross-vCenter vMotion to the VM folder of the target host's datacenter.
    type: str
  backing:
    description:
      - How the migrated vNICs are attached to their NSX segment.
      - V(dvpg) uses the segment's NSX distributed port group (VDS 7.0 and later).
      - V(opaque) uses the segment's opaque network (N-VDS, VDS 6.x migrations).
      - V(auto) uses the NSX distributed port group when the target VDS is 7.0 or later and has one for the segment, else the
        opaque network.
      - A VM with a segment that the target vCenter does not have is reported as failed and not relocated.
    type: str
    default: auto
    choices: [auto, dvpg, opaque]
  parallel:
    description:
      - At most this many relocations in flight at a time (vSphere queues more anyway; see its vMotion limits per host and
        datastore). Between 1 and 64. Relocations adopted from an earlier run count too.
    type: int
    default: 4
  wait:
    description:
      - Wait until every relocation has ended, then send C(post_migrate) (and C(finalize_infra) if asked).
      - V(false) starts every relocation still to do (O(parallel) does not apply; vCenter queues what is beyond its limits),
        adopts those already running, reads the VMs once more and returns. Each VM still moving is V(in_progress) with
        its task id, C(post_migrate) is V(deferred) and C(finalize_infra) skipped, exactly as for a VM still moving at
        the O(timeout), but the task does not fail for them. A later run (with O(wait=true)) waits for those tasks
        instead of starting others, then sends C(post_migrate).
    type: bool
    default: true
  timeout:
    description:
      - Seconds for the whole task (at least 1), from its start, the NSX and vCenter reads included; the relocations get
        what is left of it. A VM whose relocation still runs then is reported as V(in_progress) with its task id,
        not as failed; C(post_migrate) is deferred and the task fails, saying the vMotion goes on in vCenter. A later run
        waits for that task instead of starting another.
    type: int
    default: 7200
requirements:
  - pyvmomi
  - requests
notes:
  - The VMs are found by instance UUID in one bulk read per vCenter (which also brings each VM's running tasks and
    markers), the NSX port groups in one more, and all relocation tasks are watched by one property collector. The state
    is read once more after the relocations, to decide each VM's outcome.
  - Names are looked up, never put in URLs; O(group_id) is sent as a JSON string, and rejected if empty or if it holds
    control or bidirectional formatting characters.
seealso:
  - name: NSX-T migration guide, migrating VMs with vMotion
    description: The procedure this module automates (get_vm_group_execution_details and the relocate recipe).
    link: https://developer.broadcom.com/xapis/nsx-t-data-center-rest-api/latest/
"""

EXAMPLES = r"""
- name: Migrate wave 1 to the NSX-prepared cluster
  hybridcloud.migration.nsx_vmgroup_execution:
    nsx_hostname: nsx.example.com
    nsx_username: admin
    nsx_password: "{{ nsx_password }}"
    hostname: vc.example.com
    username: administrator@vsphere.local
    password: "{{ vc_password }}"
    group_id: wave-01
    vms: [web01, web02, 50263e5d-ce6f-fac0-424c-4aa4bdf6bd56]
    target_cluster: NSX-Cluster
    backing: dvpg
    parallel: 8

- name: Cross-vCenter vMotion of an existing group, then finalize
  hybridcloud.migration.nsx_vmgroup_execution:
    group_id: wave-02
    target_vcenter_hostname: vc-new.example.com
    target_host: esx-12.example.com
    target_datastore: vsanDatastore
    target_folder: /DC1/vm/migrated
    finalize_infra: true
    timeout: 14400
  module_defaults:
    group/hybridcloud.migration.vmware:
      hostname: vc-old.example.com
    group/hybridcloud.migration.nsx:
      nsx_hostname: nsx.example.com
      nsx_auth: session

- name: Show what would be done for a group
  hybridcloud.migration.nsx_vmgroup_execution:
    group_id: wave-03
    target_host: esx-07.example.com
  check_mode: true
  diff: true
"""

RETURN = r"""
group_id:
  description: The VM group id.
  returned: always
  type: str
  sample: wave-01
pre_migrate:
  description: >-
    What happened to C(pre_migrate): V(sent), V(skipped) when the group already existed, V(failed) (NSX answered an
    error and the group, read again, does not hold every VM; an error answer after which the group holds them all counts
    as V(sent), with a warning), V(would send) (check mode) or V(not requested).
  returned: always
  type: str
  sample: sent
post_migrate:
  description: >-
    What happened to C(post_migrate): V(sent), V(skipped) (every VM in place already carries this group's marker),
    V(deferred) (a relocation still runs), V(failed) (the call failed; a later run sends it again), V(would send)
    (check mode) or V(not requested).
  returned: always
  type: str
  sample: sent
finalize_infra:
  description: >-
    What happened to C(finalize_infra): V(sent), V(skipped) (see RV(finalize_infra_reason)), V(failed), V(would send)
    (check mode) or V(not requested).
  returned: always
  type: str
  sample: skipped
finalize_infra_reason:
  description: Why C(finalize_infra) was skipped (VMs not migrated, post_migrate deferred, or already sent for this group).
  returned: when finalize_infra was skipped
  type: str
  sample: already sent for group wave-01 (finalize marker)
failed_vm_instance_ids:
  description: >-
    The VMs not in place, which C(post_migrate) lists as failed (or would, in check mode, or will once it is sent). VMs
    still moving (V(in_progress)) are not in it.
  returned: always
  type: list
  elements: str
  sample: ["5026aaaa-dead-beef-0000-000000000001"]
failed_vms:
  description: The VMs of RV(failed_vm_instance_ids), each as C(name (instance UUID)) (the UUID alone for a VM not found).
  returned: always
  type: list
  elements: str
  sample: ["db01 (5026aaaa-dead-beef-0000-000000000001)"]
vms:
  description: One entry per VM of the group, with its plan and outcome.
  returned: always
  type: list
  elements: dict
  contains:
    instance_uuid:
      description: The VM's instance UUID.
      type: str
      sample: 50263e5d-ce6f-fac0-424c-4aa4bdf6bd56
    name:
      description: The VM name, if the VM was found.
      type: str
      sample: web01
    action:
      description: >-
        V(relocate), V(adopt) (a relocation of the VM was already queued or running in vCenter, for example from an
        interrupted run: waited for, not started again), V(none) (already migrated as asked) or V(fail) (cannot be
        migrated, see RV(vms[].error)).
      type: str
      sample: relocate
    outcome:
      description: >-
        Decided from the VM as read after its task ended. V(relocated) (in place now), V(unchanged) (in place before),
        V(in_progress) (its relocation still runs in vCenter, see RV(vms[].task)), V(failed) (not in place, see
        RV(vms[].error)), V(not_started) (the O(timeout) came first). With O(wait=false), V(in_progress) is a VM whose
        relocation was started (or found running) and not yet ended when the VMs were read again. In check mode
        V(would relocate), V(unchanged),
        V(in_progress) or V(failed). In check mode a V(in_progress) VM does not fail the task: a real run waits for its
        relocation, so check mode reports what follows as if it ends in place (C(post_migrate) V(would send)).
      type: str
      sample: relocated
    error:
      description: Why the VM failed.
      type: str
      sample: "vNIC 4001: segment c5b8e3a4-... has no NSX distributed port group on the target vCenter"
    task:
      description: The relocation task (moref id) the outcome comes from, if any.
      type: str
      sample: task-123
    note:
      description: >-
        What else to know: the relocation was adopted, the vMotion goes on in vCenter, or (check mode, group not created
        yet) the vNIC backings are known once pre_migrate has created the group.
      type: str
      sample: relocation task task-123 is still running, the vMotion goes on in vCenter; a later run waits for it
    move:
      description: Whether the VM changes host, resource pool, datastore, folder or vCenter.
      type: bool
      sample: true
    placement:
      description: >-
        Where the VM is (V(before)), what of it the relocation changes (V(after): only the changing parts, with the
        vCenter host name when the VM changes vCenter) and, after a relocation, where it is V(now); each object as
        C(name (moref id)).
      type: dict
      sample: {"before": {"vcenter": "vc.example.com", "host": "esx-01 (host-29)", "resource_pool": "Resources (resgroup-21)",
                          "folder": "vm (group-v3)", "datastore": "ds-01 (datastore-14)"},
               "after": {"host": "esx-02 (host-37)"}}
    nics:
      description: >-
        Every vNIC NSX mapped, with its segment, backing before and after (with the port group or opaque network
        C(name) when known), and VIF id.
      type: list
      elements: dict
      sample: [{"key": "4000", "ls_id": "c5b8e3a4-...", "changed": true, "external_id": "50263e5d-...:4000",
                "before": {"type": "dvpg", "portgroup_key": "dvportgroup-13", "switch_uuid": "50 06 ...", "name": "VM Network"},
                "after": {"type": "dvpg", "portgroup_key": "dvportgroup-15", "switch_uuid": "50 06 ...", "name": "seg-web"}}]
  sample: []
"""

import re

from ansible.module_utils.basic import env_fallback

from ansible_collections.hybridcloud.migration.plugins.module_utils import _nsx_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import nsx, vsphere
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    AuthError, JobFailedError, MigrationError, TransportError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import Connection, MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline
from ansible_collections.hybridcloud.migration.plugins.module_utils._vsphere_tasks import run_rounds

SOURCE = ""  # the source vCenter takes the vmware group's options as they are (module_defaults, VMWARE_*)
TARGET = "target_vcenter_"
UUID = re.compile(r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){19}$")
PLACEMENT_OPTIONS = (("host", "target_host"), ("cluster", "target_cluster"), ("resource_pool", "target_resource_pool"),
                     ("datastore", "target_datastore"), ("folder", "target_folder"))
ROUNDS = 3  # relocate, then adopt what a lost answer left running, within the one timeout


class Clients:
    """The NSX and vSphere clients, each opened on first use (inside run(), so that a refused login
    names its parameter); ``close()`` closes every one."""

    def __init__(self, module):
        self.module = module
        self._nsx = None
        self.vcenters = {}

    @property
    def opened_nsx(self):
        return self._nsx

    @property
    def nsx(self):
        if self._nsx is None:
            self._nsx = nsx.nsx_client(self.module)
        return self._nsx

    def vcenter(self, prefix):
        if prefix not in self.vcenters:
            fallback = vsphere.connection_params(self.module.params, SOURCE) if prefix == TARGET else None
            self.vcenters[prefix] = vsphere.open_vsphere(self.module, prefix, fallback)
        return self.vcenters[prefix]

    def close(self):
        errors = []
        for client in [self._nsx] + list(self.vcenters.values()):
            try:
                if client is not None:
                    client.close()
            except MigrationError as error:
                errors.append(error)
        if errors:
            raise errors[0]


ARGSPEC = dict(nsx.NSX_ARGSPEC, **vsphere.vsphere_argspec(SOURCE, proxy=True))
# The target vCenter has the options docs/vocabulary.md lists for it (documented here), whatever else the
# source vCenter's builder grows (a proxy, say).
TARGET_OPTIONS = tuple(TARGET + name for name in ("hostname", "username", "password", "port", "validate_certs", "ca_cert"))
ARGSPEC.update((name, option) for name, option in vsphere.vsphere_argspec(TARGET, env="VMWARE_TARGET_", required=False,
                                                                          inherit=True).items() if name in TARGET_OPTIONS)
ARGSPEC.update(target_vcenter_thumbprint=dict(type="str", fallback=(env_fallback, ["VMWARE_TARGET_THUMBPRINT"])))
PORTS = (1, 65535)


class NsxVmgroupExecution(MigrationModule):
    connection = Connection(ARGSPEC, Clients, ranges={"nsx_port": PORTS, "port": PORTS, "target_vcenter_port": PORTS,
                                                      "proxy_port": PORTS},
                            required_together=vsphere.PROXY_REQUIRED_TOGETHER)
    ranges = {"parallel": (1, 64), "timeout": (1, None)}
    argument_spec = dict(
        group_id=dict(type="str"),
        federation_site_id=dict(type="str"),
        vms=dict(type="list", elements="str"),
        pre_migrate=dict(type="bool", default=True),
        allow_override=dict(type="bool", default=False),
        post_migrate=dict(type="bool", default=True),
        finalize_infra=dict(type="bool", default=False),
        target_datacenter=dict(type="str"),
        target_host=dict(type="str"),
        target_cluster=dict(type="str"),
        target_resource_pool=dict(type="str"),
        target_datastore=dict(type="str"),
        target_folder=dict(type="str"),
        backing=dict(type="str", default="auto", choices=list(plan.BACKINGS)),
        parallel=dict(type="int", default=4),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=7200),
    )
    module_kwargs = dict(mutually_exclusive=[("target_host", "target_cluster")])

    def run(self):
        p = self.params
        self.deadline = Deadline(p["timeout"])  # the whole task's, not only the relocations'
        self.refs = {}  # instance uuid -> the name (or id) the user gave in vms
        self.names = {}  # what read_names found: names beside the morefs in results and diffs
        self.facts = {}
        self.result.update(group_id=p["group_id"], pre_migrate="not requested", post_migrate="not requested",
                           finalize_infra="not requested", failed_vm_instance_ids=[], failed_vms=[], vms=[])
        # 1. (validate() ran before any client was opened.) Resolve everything; read the real state,
        # in-flight relocations included.
        if not p["group_id"]:
            self.finalize("send", None, None)
            return
        details = self.read_group()
        self.check_pre_migrate("check", [], details, p["vms"])  # what needs no vCenter, before logging in there
        source, target, cross = self.open_vcenters()
        clients = dict((c.content.about.instanceUuid, c) for c in (source, target))
        wanted = self.resolve_vms(clients, plan.group_ids(details)) if p["vms"] is not None else None
        pre, missing = plan.pre_migrate_decision(details, wanted, p["allow_override"])
        self.check_pre_migrate(pre, missing, details, wanted)
        placement, morefs, locator = self.placement(target, cross)
        ids = plan.group_ids(details, wanted)
        vms, in_flight = self.read_vms(clients, ids)
        if pre == "send":
            self.check_vm_ids(wanted, vms, clients)
        dvpgs, opaque = target.nsx_networks()
        pending = missing if pre == "send" else ()

        def make_plan(group, facts, running, pending_ids=()):
            return plan.plan_migration(group, facts, dvpgs, opaque, placement, p["backing"], extra_ids=wanted or (),
                                       pending_ids=pending_ids, in_flight=running)
        entries = make_plan(details, vms, in_flight, pending)
        self.bios_hints(entries, clients)
        self.names = self.read_names(entries, clients, dvpgs, opaque)

        # 2. Check mode: the plan, what NSX would be sent, nothing more.
        if self.check_mode:
            plan.predict_outcomes(entries)
            self.result["pre_migrate"] = {"send": "would send", "skip": "skipped"}.get(pre, self.result["pre_migrate"])
            if pre == "send" or any(e["action"] in ("relocate", "adopt") for e in entries):
                self.changed(*plan.diff(entries, self.names))
            self.conclude(entries, clients, target, pre == "send")
            return

        # 3. Apply: pre_migrate, then the relocations (adopting those in flight), each VM on its own.
        if pre == "send":
            details = self.send_pre_migrate(wanted, details)
            entries = make_plan(details, vms, in_flight)
        elif pre == "skip":
            self.result["pre_migrate"] = "skipped"
        work = [e for e in entries if e["action"] in ("relocate", "adopt")]
        if work:
            self.changed(*plan.diff(entries, self.names))
        self.result["vms"] = plan.readable(entries, self.names)  # the plan, should the re-read itself fail

        def reread():
            now, running = self.read_vms(clients, ids)
            return make_plan(details, now, running), running
        outcomes, after = self.relocate(work, clients, morefs, placement, locator, reread)
        # 4. Each VM's outcome from the state re-read after its task ended.
        plan.decide_outcomes(entries, after, outcomes)
        if any(e["outcome"] == "relocated" for e in entries):
            self.result["changed"] = True
        self.conclude(entries, clients, target, pre == "send")

    # -- validation: nothing is sent before all of it passed -----------------------------------
    def validate(self):
        """The checks that need no API (the base runs them before opening any client)."""
        p = self.params
        if not p["group_id"] and not p["finalize_infra"]:
            self.fail_parameter("group_id", "is required (unless the task only runs finalize_infra)")
        if p["group_id"] is not None:
            self.check_name("group_id", p["group_id"], "VM group id")
        if p["vms"] is not None:
            if not p["vms"]:
                self.fail_parameter("vms", "must list at least one VM (a name or an instance UUID)")
            for ref in p["vms"]:
                self.check_name("vms", ref, "VM name or instance UUID")
        if p["target_vcenter_hostname"] and not (p["target_host"] or p["target_cluster"]):
            self.fail_parameter("target_host", "(or target_cluster) is required for a cross-vCenter vMotion")
        if p["target_vcenter_hostname"] and not p["target_datastore"]:
            self.fail_parameter("target_datastore", "is required for a cross-vCenter vMotion")
        thumbprint = p["target_vcenter_thumbprint"]
        if thumbprint is not None and not THUMBPRINT.match(thumbprint.strip()):
            self.fail_parameter("target_vcenter_thumbprint", "must be the SHA-1 thumbprint of the target vCenter certificate, "
                                "20 colon-separated hex pairs (AB:CD:...), got '%s'" % thumbprint)

    def open_vcenters(self):
        """(source, target, cross-vCenter?) logged in; a refused login or connection names its parameter."""
        source = self.login(SOURCE)
        if not self.params["target_vcenter_hostname"]:
            return source, source, False
        target = self.login(TARGET)
        if target.content.about.instanceUuid == source.content.about.instanceUuid:
            return source, source, False
        return source, target, True

    def login(self, prefix):
        try:
            return self.client.vcenter(prefix)
        except (AuthError, TransportError) as error:
            raise vsphere.login_parameter_error(prefix, error)

    def read_group(self):
        """The group's execution details (None if NSX does not know it); the first NSX call names
        the NSX parameters when it fails for a connection or login reason."""
        p = self.params
        try:
            return self.client.nsx.get_vm_group_execution_details(p["group_id"], p["federation_site_id"], missing_ok=True)
        except (AuthError, TransportError) as error:
            raise nsx.connection_parameter_error(error, self.client.opened_nsx)

    def send_pre_migrate(self, wanted, before):
        """pre_migrate, then the group as NSX has it now. An error answer is judged by re-reading the group:
        if it holds every wanted VM, NSX acted (the answer came after it, or a retry was refused because the
        first attempt created the group) and the run goes on; otherwise the error stands."""
        p = self.params
        self.result["pre_migrate"] = "failed"
        try:
            self.client.nsx.pre_migrate(p["group_id"], wanted, p["allow_override"], p["federation_site_id"])
        except MigrationError as error:
            try:
                details = self.client.nsx.get_vm_group_execution_details(p["group_id"], p["federation_site_id"],
                                                                         missing_ok=True)
            except MigrationError:
                details = None
            if details is None or plan.pre_migrate_decision(details, wanted)[0] != "skip":
                if details is not None and details != before:
                    self.result["changed"] = True  # NSX changed the group, though not as asked
                raise error
            self.warn("%s answered with an error, but VM group %s now exists with every VM: NSX did it (%s)"
                      % (nsx.PRE_MIGRATE, p["group_id"], error))
        else:
            details = self.client.nsx.get_vm_group_execution_details(p["group_id"], p["federation_site_id"])
        self.result.update(changed=True, pre_migrate="sent")
        return details

    def placement(self, target, cross):
        """(placement, morefs, ServiceLocator or None) on the target vCenter, every name resolved."""
        p = self.params
        options = dict((kind, (option, p[option])) for kind, option in PLACEMENT_OPTIONS if p[option])
        dc = ("target_datacenter", p["target_datacenter"]) if p["target_datacenter"] else None
        placement, morefs = target.resolve_placement(options, dc, cross)
        return placement, morefs, target.checked_locator(p["target_vcenter_thumbprint"]) if cross else None

    def read_vms(self, clients, ids):
        self.facts, running = vsphere.read_vms(clients, ids)  # the latest read: markers are read and written through it
        return self.facts, running

    def resolve_vms(self, clients, members=()):
        """The instance UUIDs of O(vms), in order, each VM once: names looked up in the source vCenter
        (ONE bulk read), then, for a name it lacks, in the target (a VM an earlier run moved there).
        A name several VMs have is the one of them the group already holds (MEMBERS), if exactly one
        (after a cross-vCenter move, the target may have a VM of the same name).

        An unknown or ambiguous name fails naming ``vms``, before anything is sent. A ref that is no
        VM's name or instance UUID but has the form of a UUID is kept: ``check_vm_ids`` says more.
        """
        refs = list(dict.fromkeys(self.params["vms"]))
        found = {}
        for client in dict((id(c), c) for c in clients.values()).values():  # the source first
            left = [ref for ref in refs if ref not in found]
            if left:
                found.update(client.resolve_vms(left))
        wanted = []
        for ref in refs:
            uuids = found.get(ref)
            if uuids is None and UUID.match(ref):
                self.check_vm_ids([ref], {}, clients, bios_only=True)
                uuids = [ref]
            if uuids and len(uuids) > 1 and len([u for u in uuids if u in members]) == 1:
                uuids = [u for u in uuids if u in members]
            if not uuids:
                self.fail_parameter("vms", "lists '%s', which is the name or instance UUID of no VM in %s" % (
                    ref, " or ".join(c.target for c in clients.values())))
            if len(uuids) > 1:
                self.fail_parameter("vms", "lists '%s', the name of %d VMs (instance UUIDs %s): give the instance UUID of "
                                    "the one meant" % (ref, len(uuids), ", ".join(uuids)))
            wanted.append(uuids[0])
            self.refs[uuids[0]] = ref
        return list(dict.fromkeys(wanted))

    def check_pre_migrate(self, pre, missing, details, wanted):
        """What pre_migrate may do, checked before anything is sent."""
        p = self.params
        names = ", ".join(self.vm_label(uuid) for uuid in missing)
        if details is None and wanted is None:
            self.fail_parameter("group_id", "names VM group '%s', which NSX does not know: give vms to create it with "
                                "pre_migrate" % p["group_id"])
        if details is None and not p["pre_migrate"]:
            self.fail_parameter("group_id", "names VM group '%s', which NSX does not know, and pre_migrate is false"
                                % p["group_id"])
        if missing and not p["pre_migrate"]:
            self.fail_parameter("vms", "lists %s, which VM group '%s' does not hold, and pre_migrate is false"
                                % (names, p["group_id"]))
        if pre == "refuse":
            self.fail_parameter("allow_override", "is false, but VM group '%s' already exists without %s; set it to true "
                                "to run pre_migrate again with the new VM list" % (p["group_id"], names))

    def vm_label(self, uuid):
        """A VM for people: "web01 (4f2c...)", or the instance UUID alone when its name is unknown."""
        return plan.label((self.facts.get(uuid) or {}).get("name") or self.refs.get(uuid), uuid)

    def check_vm_ids(self, wanted, vms, clients, bios_only=False):
        """Every VM pre_migrate would list must exist, found by instance UUID (not BIOS UUID)."""
        for uuid in wanted:
            if uuid in vms:
                continue
            owner = vsphere.bios_owner(clients, uuid)
            if owner:
                self.fail_parameter("vms", "lists %s, the BIOS UUID (config.uuid) of VM %s; NSX needs "
                                    "its instance UUID (config.instanceUuid) %s" % (uuid, owner[0], owner[1]))
            if bios_only:
                continue
            self.fail_parameter("vms", "lists %s, which is the instance UUID of no VM in %s" % (
                uuid, " or ".join(c.target for c in clients.values())))

    def read_names(self, entries, clients, dvpgs, opaque):
        """The names of every object the plan names by moref, for people: ONE read per vCenter.

        {vCenter instance uuid: {moref id: name}, "vcenters": {instance uuid: host name},
        "networks": {portgroup key / opaque network id: name}}.
        """
        wanted = dict((vc, {}) for vc in clients)
        for entry in entries:
            for side in ("before", "after"):
                placed = (entry.get("placement") or {}).get(side) or {}
                ids = wanted.get(placed.get("vcenter"))
                if ids is None:
                    continue
                for kind in plan.PLACEMENT_KEYS:
                    values = str(placed.get(kind)).split(",") if kind == "datastore" and placed.get(kind) else [placed.get(kind)]
                    ids.setdefault(kind, set()).update(v for v in values if v)
        # The port groups the VMs' vNICs are on now, from the facts (the plan may not list the vNICs yet).
        for vm in self.facts.values():
            for nic in vm.get("nics") or []:
                if vm.get("vcenter") in wanted and (nic.get("backing") or {}).get("type") == "dvpg":
                    wanted[vm["vcenter"]].setdefault("dvpg", set()).add(nic["backing"].get("portgroup_key"))
        names = dict((vc, clients[vc].names(ids)) for vc, ids in wanted.items() if ids)
        names["vcenters"] = dict((vc, client.hostname if client.port == 443 else "%s:%s" % (client.hostname, client.port))
                                 for vc, client in clients.items())
        networks = dict((dvpg["key"], dvpg.get("name")) for dvpg in dvpgs.values())
        networks.update(opaque)
        for vc, ids in wanted.items():  # the portgroups the vNICs are on now (the source's, not NSX's)
            known = names.get(vc) or {}
            networks.update((key, known[key]) for key in ids.get("dvpg") or () if key in known and key not in networks)
        names["networks"] = networks
        return names

    def bios_hints(self, entries, clients):
        """A group VM found by no instance UUID: say so when the id is some VM's BIOS UUID."""
        for entry in entries:
            if entry["action"] != "fail" or entry["instance_uuid"] in self.facts:
                continue
            owner = vsphere.bios_owner(clients, entry["instance_uuid"])
            if owner:
                entry["error"] += " (it is the BIOS UUID of VM %s, whose instance UUID is %s)" % owner

    # -- apply -----------------------------------------------------------------------------
    def relocate(self, work, clients, morefs, placement, locator, reread):
        """Run the relocations (adopting those in flight), then re-read: (task outcomes, the re-read plan)."""
        vms = self.facts
        jobs = [(e["instance_uuid"], clients[vms[e["instance_uuid"]]["vcenter"]].task(e["task"]) if e["action"] == "adopt"
                 else self.starter(e, vms[e["instance_uuid"]], clients, morefs, placement, locator)) for e in work]
        return run_rounds(clients, jobs, lambda uuid: self.facts[uuid]["vcenter"], reread, self.params["parallel"],
                          self.deadline.remaining(), rounds=ROUNDS, wait=self.params["wait"])

    def starter(self, entry, vm, clients, morefs, placement, locator):
        """A callable starting ENTRY's relocation on the vCenter that holds the VM."""
        client = clients[vm["vcenter"]]
        moving_vcenter = locator is not None and vm["vcenter"] != placement["vcenter"]
        target = entry["placement"]["after"]

        def pick(key):
            return morefs.get(target.get(key)) if target.get(key) else None

        def start():
            return client.relocate(entry["instance_uuid"], entry["nics"], host=pick("host"), pool=pick("resource_pool"),
                                   datastore=pick("datastore"), folder=pick("folder") if moving_vcenter or target.get("folder") else None,
                                   service=locator if moving_vcenter else None)
        return start

    # -- post_migrate, finalize_infra, the result --------------------------------------------
    def conclude(self, entries, clients, target, pre_sent):
        """post_migrate and finalize_infra as the markers and the final outcomes require; then the result."""
        p = self.params
        self.result["vms"] = plan.readable(entries, self.names)
        self.result["failed_vm_instance_ids"] = sorted(e["instance_uuid"] for e in entries
                                                       if e["outcome"] not in plan.PLACED + ("in_progress",))
        self.name_failed(entries)
        post = {"action": "not requested", "failed": [], "mark": []}
        # Check mode decides on what a real run would reach: it waits for relocations already running.
        decided = plan.expected_outcomes(entries, p["wait"]) if self.check_mode else entries
        if p["post_migrate"]:
            post = plan.post_migrate_decision(decided, p["group_id"], self.markers(decided, clients), pre_sent)
            self.result["failed_vm_instance_ids"] = post["failed"]
            self.name_failed(entries)
            self.result["post_migrate"] = {"send": "would send" if self.check_mode else "sent",
                                           "skip": "skipped", "defer": "deferred"}[post["action"]]
            if post["action"] == "send":
                self.result["changed"] = True
            if post["action"] == "send" and not self.check_mode:
                self.result["post_migrate"] = "failed"
                self.client.nsx.post_migrate(p["group_id"], post["failed"], allow_override=post["allow_override"],
                                             federation_site_id=p["federation_site_id"])
                self.result["post_migrate"] = "sent"
                self.mark(post["mark"], clients)
        finalize, why = plan.finalize_decision(p["finalize_infra"], p["group_id"], decided, post["action"],
                                               self.finalized(target) if p["finalize_infra"] else [])
        self.finalize(finalize, why, target)
        self.fail_unless_done(decided, post)

    def name_failed(self, entries):
        """failed_vms: failed_vm_instance_ids as people read them (set before post_migrate is sent, should it fail)."""
        names = dict((e["instance_uuid"], e["name"]) for e in entries)
        self.result["failed_vms"] = [plan.label(names.get(uuid), uuid) for uuid in self.result["failed_vm_instance_ids"]]

    def markers(self, entries, clients):
        """{instance uuid: group named by its post_migrate marker} of the VMs in place (from the last read)."""
        out = {}
        for entry in entries:
            vm = self.facts.get(entry["instance_uuid"])
            if vm is None or entry.get("outcome") not in plan.PLACED:
                continue
            out[entry["instance_uuid"]] = clients[vm["vcenter"]].marker(vm, plan.POST_MIGRATE_FIELD)
        return out

    def mark(self, uuids, clients):
        """After a post_migrate that covered them: record it on each VM (one SetField per VM).

        A marker that cannot be written only costs a repeat: a later run sends post_migrate again.
        """
        for uuid in uuids:
            try:
                clients[self.facts[uuid]["vcenter"]].set_marker(uuid, plan.POST_MIGRATE_FIELD, self.params["group_id"])
            except Exception as error:  # pylint: disable=broad-except  # one VM's marker must not hide the outcome
                self.warn("%s was sent, but its marker could not be written on VM %s (a later run sends it again): "
                          "%s" % (nsx.POST_MIGRATE, self.vm_label(uuid), error))

    def finalized(self, target):
        return plan.finalized_groups(target.entity_marker(target.content.rootFolder, plan.FINALIZE_FIELD))

    def finalize(self, action, why, target):
        if action == "not requested":
            return
        if action == "skip":
            self.result["finalize_infra"] = "skipped"
            self.result["finalize_infra_reason"] = why
            return
        self.result["changed"] = True
        if self.check_mode:
            self.result["finalize_infra"] = "would send"
            return
        self.result["finalize_infra"] = "failed"
        self.client.nsx.finalize_infra()
        self.result["finalize_infra"] = "sent"
        if target is None:
            return
        try:
            target.set_marker(target.content.rootFolder, plan.FINALIZE_FIELD, plan.finalized_value(
                ",".join(self.finalized(target)), self.params["group_id"]), mo_type="Folder")
        except Exception as error:  # pylint: disable=broad-except  # costs a repeat, never the outcome
            self.warn("%s was sent, but its marker could not be written (a later run sends it again): %s"
                      % (nsx.FINALIZE_INFRA, error))

    def fail_unless_done(self, entries, post):
        moving = [e for e in entries if e["outcome"] == "in_progress"]
        failed = [e for e in entries if e["outcome"] in ("failed", "not_started")]
        if not failed and (not moving or not self.params["wait"]):
            return  # wait: false returns while the relocations run: that is what was asked
        parts = []
        if failed:
            parts.append("%d of %d VMs not migrated: %s" % (len(failed), len(entries), "; ".join(
                "%s: %s" % (plan.label(e["name"], e["instance_uuid"]), e["error"]) for e in failed)))
        if moving:
            parts.append("%d VMs still moving, their vMotion goes on in vCenter (re-run the task to finish the group): %s"
                         % (len(moving), ", ".join("%s task %s" % (plan.label(e["name"], e["instance_uuid"]), e["task"])
                                                   for e in moving)))
        if post["action"] == "defer":
            parts.append("%s deferred until every relocation has ended" % nsx.POST_MIGRATE)
        raise JobFailedError("; ".join(parts), operation="migrate VM group", resource=self.params["group_id"])


def main():
    NsxVmgroupExecution().execute()


if __name__ == "__main__":
    main()
