#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

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
  - Every VM is attempted, at most O(parallel) relocations at a time. The result lists each VM's outcome; the task fails at
    the end, naming the failed VMs, if any failed.
  - Idempotent. VMs already placed as asked, with every mapped vNIC already on its segment and carrying its VIF id, are not
    relocated. When no VM needs a change and the group already exists, nothing is sent to NSX either.
  - C(post_migrate) and C(finalize_infra) leave no state that can be read back, so they are sent only in a run that changed
    something; a run that finds every VM migrated does not send them again.
author: hybridcloud.migration contributors (@hybridcloud)
extends_documentation_fragment:
  - hybridcloud.migration.nsx
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
  pre_migrate:
    description:
      - Create the group first with C(pre_migrate) (segment ports (VIFs) per VM and temporary security groups).
      - Skipped when the group already exists with all these VMs. After a C(pre_migrate) whose outcome is unknown
        (connection lost after sending) it is sent again with C(allow_override=true).
      - Without this option the group must exist.
    type: dict
    suboptions:
      vm_instance_ids:
        description:
          - The vCenter B(instance) UUIDs (C(config.instanceUuid)) of the VMs of the group, not their BIOS UUIDs.
        type: list
        elements: str
        required: true
      allow_override:
        description:
          - Allow C(pre_migrate) to run again on an existing group whose VMs differ from O(pre_migrate.vm_instance_ids).
          - When false and the group exists without some of those VMs, the module fails before sending anything.
        type: bool
        default: false
  post_migrate:
    description:
      - Call C(post_migrate) after the relocations, listing the VMs NSX could not find and the VMs whose relocation failed or
        never started, so that NSX applies the security tags to the others only.
    type: bool
    default: true
  finalize_infra:
    description:
      - Call C(finalize_infra) at the end (after the last group), to delete the temporary NSX objects.
      - Not sent when any VM of this run failed. Without O(group_id), the task only sends C(finalize_infra) (reported as changed).
    type: bool
    default: false
  vcenter_hostname:
    description:
      - The source vCenter (where the VMs are). If not set, the value of the E(VMWARE_HOST) environment variable is used.
    type: str
  vcenter_username:
    description:
      - The source vCenter user. If not set, the value of the E(VMWARE_USER) environment variable is used.
    type: str
    aliases: [vcenter_user]
  vcenter_password:
    description:
      - The source vCenter password. If not set, the value of the E(VMWARE_PASSWORD) environment variable is used.
    type: str
    aliases: [vcenter_pass, vcenter_pwd]
  vcenter_port:
    description:
      - The source vCenter HTTPS port. If not set, the value of the E(VMWARE_PORT) environment variable is used.
    type: int
    default: 443
  vcenter_validate_certs:
    description:
      - Whether to verify the source vCenter certificate.
      - If not set, the value of the E(VMWARE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  vcenter_ca_path:
    description:
      - A PEM file of CA certificates to verify the source vCenter with.
    type: path
  target_vcenter_hostname:
    description:
      - The target vCenter of a cross-vCenter vMotion. If not set, the VMs stay in the source vCenter.
    type: str
  target_vcenter_username:
    description:
      - The target vCenter user. If not set, O(vcenter_username) is used.
    type: str
    aliases: [target_vcenter_user]
  target_vcenter_password:
    description:
      - The target vCenter password. If not set, O(vcenter_password) is used.
    type: str
    aliases: [target_vcenter_pass, target_vcenter_pwd]
  target_vcenter_port:
    description:
      - The target vCenter HTTPS port. If not set, O(vcenter_port) is used.
    type: int
  target_vcenter_validate_certs:
    description:
      - Whether to verify the target vCenter certificate. If not set, O(vcenter_validate_certs) is used.
    type: bool
  target_vcenter_ca_path:
    description:
      - A PEM file of CA certificates to verify the target vCenter with. If not set, O(vcenter_ca_path) is used.
    type: path
  target_vcenter_thumbprint:
    description:
      - SHA-1 thumbprint of the target vCenter certificate (C(AB:CD:...)), given to the source vCenter for the
        cross-vCenter vMotion.
      - If not set, it is computed from the certificate the target presents to this module (verified unless
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
        datastore).
    type: int
    default: 4
  timeout:
    description:
      - Seconds to wait for all relocations of this run. Relocations still running then are reported as failed
        (they may still finish; a later run sees them done).
    type: int
    default: 7200
requirements:
  - pyvmomi
  - requests
notes:
  - The VMs are found by instance UUID in one bulk read per vCenter, the NSX port groups in one more, and all relocation
    tasks are watched by one property collector.
seealso:
  - name: NSX-T migration guide, migrating VMs with vMotion
    description: The procedure this module automates (get_vm_group_execution_details and the relocate recipe).
    link: https://developer.broadcom.com/xapis/nsx-t-data-center-rest-api/latest/
"""

EXAMPLES = r"""
- name: Migrate wave 1 to the NSX-prepared cluster
  hybridcloud.migration.nsx_vmgroup_execution:
    nsx_host: nsx.example.com
    nsx_username: admin
    nsx_password: "{{ nsx_password }}"
    vcenter_hostname: vc.example.com
    vcenter_username: administrator@vsphere.local
    vcenter_password: "{{ vc_password }}"
    group_id: wave-01
    pre_migrate:
      vm_instance_ids: "{{ wave_01_instance_uuids }}"
    target_cluster: NSX-Cluster
    backing: dvpg
    parallel: 8

- name: Cross-vCenter vMotion of an existing group, then finalize
  hybridcloud.migration.nsx_vmgroup_execution:
    group_id: wave-02
    vcenter_hostname: vc-old.example.com
    target_vcenter_hostname: vc-new.example.com
    target_host: esx-12.example.com
    target_datastore: vsanDatastore
    target_folder: /DC1/vm/migrated
    finalize_infra: true
    timeout: 14400
  module_defaults:
    group/hybridcloud.migration.nsx:
      nsx_host: nsx.example.com
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
  description: What happened to C(pre_migrate) (V(sent), V(skipped) when the group already existed, V(not requested)).
  returned: always
  type: str
  sample: sent
post_migrate:
  description: What happened to C(post_migrate) (V(sent), V(skipped), V(not requested), V(failed)).
  returned: always
  type: str
  sample: sent
finalize_infra:
  description: What happened to C(finalize_infra) (V(sent), V(skipped), V(not requested)).
  returned: always
  type: str
  sample: skipped
failed_vm_instance_ids:
  description: The VMs reported to NSX as failed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["5026aaaa-dead-beef-0000-000000000001"]
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
      description: V(relocate), V(none) (already migrated as asked) or V(fail) (cannot be migrated, see RV(vms[].error)).
      type: str
      sample: relocate
    outcome:
      description: >-
        V(relocated), V(unchanged), V(failed), V(would relocate) (check mode) or V(pending pre_migrate) (check mode, group not
        created yet).
      type: str
      sample: relocated
    error:
      description: Why the VM failed.
      type: str
      sample: "vNIC 4001: segment c5b8e3a4-... has no NSX distributed port group on the target vCenter"
    move:
      description: Whether the VM changes host, resource pool, datastore, folder or vCenter.
      type: bool
      sample: true
    placement:
      description: Placement before and the moref ids put in the relocation spec.
      type: dict
      sample: {"before": {"host": "host-29", "resource_pool": "resgroup-21", "folder": "group-v3", "datastore": "datastore-14"},
               "after": {"host": "host-37", "resource_pool": null, "folder": null, "datastore": null}}
    nics:
      description: Every vNIC NSX mapped, with its segment, backing before and after, and VIF id.
      type: list
      elements: dict
      sample: [{"key": "4000", "ls_id": "c5b8e3a4-...", "changed": true, "external_id": "50263e5d-...:4000",
                "before": {"type": "dvpg", "portgroup_key": "dvportgroup-13", "switch_uuid": "50 06 ..."},
                "after": {"type": "dvpg", "portgroup_key": "dvportgroup-15", "switch_uuid": "50 06 ..."}}]
  sample: []
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import _nsx_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import nsx, vsphere
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import JobFailedError, MigrationError
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import Connection, MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Clock
from ansible_collections.hybridcloud.migration.plugins.module_utils._vsphere_tasks import run_tasks

SOURCE = "vcenter_"
TARGET = "target_vcenter_"


class Clients:
    """The NSX client and the vSphere clients opened on demand; ``close()`` closes every one."""

    def __init__(self, module):
        self.module = module
        self.nsx = nsx.nsx_client(module)
        self.vcenters = {}

    def vcenter(self, prefix):
        if prefix not in self.vcenters:
            fallback = vsphere.connection_params(self.module.params, SOURCE) if prefix == TARGET else None
            self.vcenters[prefix] = vsphere.open_vsphere(self.module, prefix, fallback)
        return self.vcenters[prefix]

    def close(self):
        errors = []
        for client in [self.nsx] + list(self.vcenters.values()):
            try:
                client.close()
            except MigrationError as error:
                errors.append(error)
        if errors:
            raise errors[0]


ARGSPEC = dict(nsx.NSX_ARGSPEC, **vsphere.vsphere_argspec(SOURCE))
ARGSPEC.update(vsphere.vsphere_argspec(TARGET, env=False))


class NsxVmgroupExecution(MigrationModule):
    connection = Connection(ARGSPEC, Clients)
    argument_spec = dict(
        group_id=dict(type="str"),
        federation_site_id=dict(type="str"),
        pre_migrate=dict(type="dict", options=dict(
            vm_instance_ids=dict(type="list", elements="str", required=True),
            allow_override=dict(type="bool", default=False))),
        post_migrate=dict(type="bool", default=True),
        finalize_infra=dict(type="bool", default=False),
        target_vcenter_thumbprint=dict(type="str"),
        target_datacenter=dict(type="str"),
        target_host=dict(type="str"),
        target_cluster=dict(type="str"),
        target_resource_pool=dict(type="str"),
        target_datastore=dict(type="str"),
        target_folder=dict(type="str"),
        backing=dict(type="str", default="auto", choices=list(plan.BACKINGS)),
        parallel=dict(type="int", default=4),
        timeout=dict(type="int", default=7200),
    )
    module_kwargs = dict(mutually_exclusive=[("target_host", "target_cluster")])

    def run(self):
        p = self.params
        self.result.update(group_id=p["group_id"], pre_migrate="not requested", post_migrate="not requested",
                           finalize_infra="not requested", failed_vm_instance_ids=[], vms=[])
        self.validate()
        if not p["group_id"]:
            self.finalize(True)
            return
        details = self.ensure_group()
        cross = bool(p["target_vcenter_hostname"])
        source = self.client.vcenter(SOURCE)
        target = self.client.vcenter(TARGET) if cross else source
        if cross and target.content.about.instanceUuid == source.content.about.instanceUuid:
            cross, target = False, source
        ids = list(plan.vnic_map(details)) + list((p["pre_migrate"] or {}).get("vm_instance_ids") or [])
        ids = [i for i in dict.fromkeys(ids) if i not in plan.nsx_failed_ids(details)]
        vms = source.vm_facts(ids)
        if cross:
            vms.update(target.vm_facts(ids))  # already moved: the target's copy is the VM now
        dvpgs, opaque = target.nsx_networks()
        placement, morefs = self.resolve_placement(target, cross)
        entries = plan.plan_migration(details, vms, dvpgs, opaque, placement, p["backing"],
                                      extra_ids=(p["pre_migrate"] or {}).get("vm_instance_ids") or ())
        to_move = [e for e in entries if e["action"] == "relocate"]
        if to_move:
            before, after = plan.diff(entries)
            self.changed(before, after)
        if self.check_mode:
            self.report(entries, {})
            if to_move and p["post_migrate"]:
                self.result["post_migrate"] = "would send"
            return
        clients = {source.content.about.instanceUuid: source, target.content.about.instanceUuid: target}
        locator = target.service_locator(p["target_vcenter_thumbprint"]) if cross and to_move else None
        jobs = [(e["instance_uuid"], self.starter(e, vms[e["instance_uuid"]], clients, morefs, placement, locator))
                for e in to_move]
        outcomes = self.relocate_all(jobs, vms, source, target)
        failed = self.report(entries, outcomes)
        something_done = bool(to_move) or self.result["pre_migrate"] == "sent"
        if p["post_migrate"]:
            if something_done:
                self.client.nsx.post_migrate(p["group_id"], self.result["failed_vm_instance_ids"],
                                             federation_site_id=p["federation_site_id"])
                self.result["post_migrate"] = "sent"
                self.result["changed"] = True
            else:
                self.result["post_migrate"] = "skipped"
        if failed:
            if p["finalize_infra"]:
                self.result["finalize_infra"] = "skipped"
            raise JobFailedError("%d of %d VMs failed: %s" % (len(failed), len(entries), "; ".join(
                "%s (%s): %s" % (e["name"] or "?", e["instance_uuid"], e["error"]) for e in failed)),
                operation="migrate VM group", resource=p["group_id"])
        self.finalize(something_done)

    # -- steps -------------------------------------------------------------------------------
    def validate(self):
        p = self.params
        if p["parallel"] < 1:
            self.fail_parameter("parallel", "must be at least 1, got %s" % p["parallel"])
        if p["timeout"] <= 0:
            self.fail_parameter("timeout", "must be a positive number of seconds, got %s" % p["timeout"])
        if not p["group_id"] and not p["finalize_infra"]:
            self.fail_parameter("group_id", "is required (unless the task only runs finalize_infra)")
        if p["pre_migrate"] is not None:
            ids = p["pre_migrate"]["vm_instance_ids"]
            if not ids or not all(i and i.strip() for i in ids):
                self.fail_parameter("pre_migrate.vm_instance_ids", "must list at least one VM instance UUID, without blanks")
        if p["target_vcenter_hostname"] and not (p["target_host"] or p["target_cluster"]):
            self.fail_parameter("target_host", "(or target_cluster) is required for a cross-vCenter vMotion")
        if p["target_vcenter_hostname"] and not p["target_datastore"]:
            self.fail_parameter("target_datastore", "is required for a cross-vCenter vMotion")

    def ensure_group(self):
        """The group's execution details, creating the group with pre_migrate when asked and needed."""
        p = self.params
        nsx_client = self.client.nsx
        details = nsx_client.get_vm_group_execution_details(p["group_id"], p["federation_site_id"], missing_ok=True)
        wanted = (p["pre_migrate"] or {}).get("vm_instance_ids")
        if wanted is None:
            if details is None:
                self.fail_parameter("group_id", "names VM group '%s', which NSX does not know: give pre_migrate to create it"
                                    % p["group_id"])
            return details
        known = set(plan.vnic_map(details)) | set(plan.nsx_failed_ids(details)) if details is not None else set()
        if details is not None and set(wanted) <= known:
            self.result["pre_migrate"] = "skipped"
            return details
        if details is not None and not p["pre_migrate"]["allow_override"]:
            # NSX refuses a second pre_migrate of a group unless told to override: say so before sending it.
            missing = sorted(set(wanted) - known)
            self.fail_parameter("pre_migrate.allow_override", "is false, but VM group '%s' already exists without %s; set it to "
                                "true to run pre_migrate again with the new VM list" % (p["group_id"], ", ".join(missing)))
        self.result["changed"] = True
        if self.check_mode:
            self.result["pre_migrate"] = "would send"
            # Plan with what NSX knows now; without a group every requested VM is pending.
            return details or {plan.MAP_KEY: [], plan.FAILED_KEY: []}
        nsx_client.pre_migrate(p["group_id"], wanted, p["pre_migrate"]["allow_override"], p["federation_site_id"])
        self.result["pre_migrate"] = "sent"
        return nsx_client.get_vm_group_execution_details(p["group_id"], p["federation_site_id"])

    def resolve_placement(self, target, cross):
        """(placement of moref ids for the planner, {moref id: moref}) on the target vCenter."""
        p = self.params
        dc = target.find("datacenter", p["target_datacenter"]) if p["target_datacenter"] else None
        found = {}
        for kind, option in (("host", "target_host"), ("cluster", "target_cluster"), ("resource_pool", "target_resource_pool"),
                             ("datastore", "target_datastore"), ("folder", "target_folder")):
            if p[option]:
                found[kind] = target.find(kind, p[option], datacenter=dc)
        derived = {}
        if "host" in found or "cluster" in found:
            derived = target.placement_facts(host=found.get("host"), cluster=found.get("cluster"))
        pool = found.get("resource_pool")
        folder = found.get("folder")
        if cross:
            pool = pool or derived.get("resource_pool")
            folder = folder or derived.get("folder")
            if pool is None or folder is None:
                self.fail_parameter("target_resource_pool" if pool is None else "target_folder",
                                    "could not be derived from the target host or cluster; give it")
        morefs = {}
        for moref in [found.get("host"), pool, found.get("datastore"), folder] + list(derived.get("hosts") or []):
            if moref is not None:
                morefs[moref._moId] = moref
        placement = {"vcenter": target.content.about.instanceUuid, "cross_vcenter": cross,
                     "host": _moid(found.get("host")), "hosts": [h._moId for h in derived.get("hosts") or []] if "cluster" in found else [],
                     "resource_pool": _moid(pool), "datastore": _moid(found.get("datastore")), "folder": _moid(folder)}
        return placement, morefs

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

    def relocate_all(self, jobs, vms, source, target):
        """Run the relocations; each task is watched on the vCenter that runs it (the source, or the
        target for a VM a previous run already moved there), all within the one timeout."""
        clock = Clock()
        deadline = clock.now() + self.params["timeout"]
        outcomes = {}
        for client in dict.fromkeys([source, target]):
            mine = [job for job in jobs if vms[job[0]]["vcenter"] == client.content.about.instanceUuid]
            if mine:
                outcomes.update(run_tasks(client, mine, self.params["parallel"], max(deadline - clock.now(), 0), clock=clock))
        return outcomes

    def report(self, entries, outcomes):
        """Fill result: vms with their outcome, failed ids for post_migrate; return the failed entries."""
        pending_pre = self.result["pre_migrate"] == "would send"
        for entry in entries:
            outcome = outcomes.get(entry["instance_uuid"])
            if entry["action"] == "fail":
                entry["outcome"] = "failed"
            elif entry["action"] == "none":
                entry["outcome"] = "unchanged"
            elif outcome is None:
                entry["outcome"] = "would relocate"
            elif outcome["state"] == "success":
                entry["outcome"] = "relocated"
            else:
                entry.update(outcome="failed", error="relocation %s: %s" % (outcome["state"], outcome["error"]))
        if pending_pre:
            requested = self.params["pre_migrate"]["vm_instance_ids"]
            mapped = set(e["instance_uuid"] for e in entries if e["nics"])
            for entry in entries:
                if entry["instance_uuid"] in requested and entry["instance_uuid"] not in mapped and entry["action"] != "fail":
                    entry.update(outcome="pending pre_migrate", error=None, action="relocate")
        failed = [e for e in entries if e["outcome"] == "failed"]
        self.result["vms"] = entries
        self.result["failed_vm_instance_ids"] = [e["instance_uuid"] for e in failed]
        return failed

    def finalize(self, something_done):
        if not self.params["finalize_infra"]:
            return
        if not something_done and self.params["group_id"]:
            self.result["finalize_infra"] = "skipped"
            return
        self.result["changed"] = True
        if self.check_mode:
            self.result["finalize_infra"] = "would send"
            return
        self.client.nsx.finalize_infra()
        self.result["finalize_infra"] = "sent"


def _moid(moref):
    return moref._moId if moref is not None else None


def main():
    NsxVmgroupExecution().execute()


if __name__ == "__main__":
    main()
