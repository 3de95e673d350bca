#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zstack_v2v_convert
short_description: Import a VMware or KVM VM into ZStack (ConvertVmFromForeignHypervisor)
version_added: 1.0.0
description:
  - Starts, adopts, waits for or cancels a ZStack V2V conversion (C(ConvertVmFromForeignHypervisor),
    the "Migration Service (Plus)"), which runs as a ZStack LongJob.
  - The LongJob's uuid is O(resource_uuid) or, when not given, derived from O(url) and O(name), so
    the same task always means the same job. A run first looks that job up; it never submits a
    second conversion for it. After success a new run reports no change and returns the same VM;
    while the job runs, a new run waits for it; a V(Failed) or V(Canceled) job is run again
    (C(rerunLongJob)) by O(state=present).
  - When the job is gone (ZStack purged it) but a VM named O(name) exists, that VM is taken as the
    result of the earlier conversion (with a warning), so O(name) should be unique.
  - When the api-job of a submit, rerun or cancel gives no clear answer (ZStack's C(SYS.1001)
    message timeout, its result already purged, a lost answer, a 5xx), the LongJob's own state
    decides whether the call took effect. A lost answer is never followed by a blind resend; ZStack
    is asked for the api-job first. When ZStack cannot be reached, the error names the LongJob and
    its last known state; a re-run looks the job up by its uuid and never submits it twice.
  - The C(X-Job-UUID) of the submit (and of a rerun or cancel) is derived from the LongJob's uuid (and
    its state), the same on every run. ZStack checks and starts a call only after accepting it, so
    for a moment no LongJob shows it; a run that finds that api-job still running (an earlier,
    interrupted run's call) waits for it instead of sending the call again.
  - Before C(POST /v2vs) every object the conversion names is looked up (one query per kind), namely
    the primary storage, the L3 networks, the default L3 network (which must be one of
    O(l3_network_uuids)), the cluster, the host (which must be in O(cluster_uuid)), the zone and the
    conversion host. A uuid that is well formed but unknown fails naming its parameter, before any call.
  - A failed result says C(changed=true) only when this run's submit, rerun or cancel took effect
    (the LongJob shows it), for example a conversion job that was created and then failed.
author: hybridcloud.migration contributors (@hybridcloud)
options:
  state:
    description:
      - V(present) starts the conversion (or adopts the running or finished one) and, with O(wait), waits for it.
      - V(canceled) cancels the conversion job if it is still under way. A job that already
        Succeeded cannot be canceled (the module fails); a Failed one is left alone.
    type: str
    choices: [present, canceled]
    default: present
  url:
    description:
      - The source VM. For VMware, V(vmware://<ZStack uuid of the vCenter VM>) after the vCenter was
        added to ZStack and synced; for KVM, a V(kvm://) URL in the form your ZStack release expects.
      - The rest is passed to ZStack as given, but a URL that could make ZStack read another source
        than the one named is rejected (not encoded, which would silently change the source), namely
        characters outside the URL set (spaces, quotes, control characters, V(?), V(#), backslash),
        a V(%) that starts no escape, and V(.) or V(..) path segments, also percent-encoded.
      - Required with O(state=present), and with O(state=canceled) unless O(resource_uuid) is given.
    type: str
  name:
    description:
      - Name of the new ZStack VM. Should be unique (see the description).
      - It is looked up with ZStack's query syntax, which has no escape, so a name it would misread is
        rejected (not encoded) before any call, namely an empty name, one starting with V(=), one containing
        V(!=), V(>=), V(<=), V(?=) or V(~=), longer than 255 characters, or with control or bidi
        formatting characters.
      - Required with O(state=present), and with O(state=canceled) unless O(resource_uuid) is given.
    type: str
  description:
    description: Description of the new VM.
    type: str
  cpu_num:
    description: CPU count of the new VM (1-1024). Required with O(state=present).
    type: int
  memory_size:
    description: Memory of the new VM, in bytes (at least 1). Required with O(state=present).
    type: int
  primary_storage_uuid:
    description: Primary storage that receives the converted volumes. Required with O(state=present).
    type: str
  l3_network_uuids:
    description: L3 networks of the new VM's NICs (at least one). Required with O(state=present).
    type: list
    elements: str
  default_l3_network_uuid:
    description: The L3 network of the default NIC.
    type: str
  conversion_host_uuid:
    description: V2V conversion host that does the conversion.
    type: str
  zone_uuid:
    description: Zone of the new VM.
    type: str
  cluster_uuid:
    description: Cluster of the new VM.
    type: str
  host_uuid:
    description: Host of the new VM.
    type: str
  platform:
    description: Guest platform of the new VM.
    type: str
    choices: [Linux, Windows, WindowsVirtio, Paravirtualization, Other]
  vm_type:
    description: ZStack VM type (the API's C(type) field).
    type: str
    choices: [UserVm, ApplianceVm]
  strategy:
    description: V(InstantStart) (ZStack's default) starts the new VM when converted; V(JustConvert) leaves it stopped.
    type: str
    choices: [InstantStart, JustConvert]
  convert_strategy:
    description: V(CapacityOptimized) (ZStack's default) or V(EfficiencyFirst).
    type: str
    choices: [CapacityOptimized, EfficiencyFirst]
  pause_vm:
    description: Pause the source VM before the conversion (ZStack's default is V(false)).
    type: bool
  volume_filters:
    description: Volume filters, passed to ZStack's C(volumeFilters) unchanged.
    type: list
    elements: raw
  root_file_system:
    description: Root file system hint, passed to ZStack's C(rootFileSystem).
    type: str
  ssh_priv_key:
    description:
      - Private key ZStack uses to reach a KVM source over SSH.
      - Masked in every result, warning and error, also where ZStack echoes it JSON-escaped (for
        example in a LongJob's C(jobData)) or URL-encoded.
    type: str
  long_job_name:
    description: Name of the conversion LongJob.
    type: str
  long_job_description:
    description: Description of the conversion LongJob.
    type: str
  tag_uuids:
    description: Tags to attach to the new VM.
    type: list
    elements: str
  system_tags:
    description: ZStack system tags sent with the call.
    type: list
    elements: str
  user_tags:
    description: ZStack user tags sent with the call.
    type: list
    elements: str
  resource_uuid:
    description:
      - Uuid of the conversion LongJob (32 lowercase hex characters, a UUID of version 1 to 5 without
        dashes, as C(uuid.uuid4().hex) makes; ZStack refuses other layouts for a new job).
      - Default, a uuid derived from O(url) and O(name), the same on every run.
    type: str
  wait:
    description:
      - Wait until the conversion (or the cancellation) has ended. With V(false) the module returns
        the job uuid as soon as ZStack has accepted the job;
        M(hybridcloud.migration.zstack_longjob_info) or a later run with O(wait=true) picks it up.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the conversion to end (at least 1). Submitting itself is bounded by 600 seconds.
      - On timeout the conversion goes on in ZStack.
    type: int
    default: 43200
extends_documentation_fragment:
  - hybridcloud.migration.zstack
  - hybridcloud.migration.attributes
"""

EXAMPLES = r"""
- name: Import a vCenter VM into ZStack and wait for it
  hybridcloud.migration.zstack_v2v_convert:
    hostname: zstack.example.com
    username: admin
    password: "{{ zstack_password }}"
    url: vmware://155cb773228d346ba8ed1135d48f3718
    name: web-01
    cpu_num: 2
    memory_size: 4294967296
    primary_storage_uuid: 314f2b4d28a45a4fa95c1fdc57ea6c21
    l3_network_uuids: [15bf365e33ec52908dafb082f09148e0]
    cluster_uuid: 540866de03575972a191168cf9878e68
    conversion_host_uuid: 8d3c7a3fe8c25f7bb49c1a1a32a9e47c
    strategy: JustConvert
  register: converted

- name: Start a KVM import without waiting
  hybridcloud.migration.zstack_v2v_convert:
    url: kvm://root@192.168.20.31/9b2a0a1c-6f0d-4a3e-9a55-3c7d1f0e2b11
    name: legacy-db
    ssh_priv_key: "{{ lookup('file', 'files/v2v_id_rsa') }}"
    cpu_num: 4
    memory_size: 8589934592
    primary_storage_uuid: 314f2b4d28a45a4fa95c1fdc57ea6c21
    l3_network_uuids: [15bf365e33ec52908dafb082f09148e0]
    wait: false
  register: started

- name: Cancel that import
  hybridcloud.migration.zstack_v2v_convert:
    resource_uuid: "{{ started.job_uuid }}"
    state: canceled
"""

RETURN = r"""
job_uuid:
  description: Uuid of the conversion LongJob (O(resource_uuid) or the derived one).
  returned: always
  type: str
  sample: 3f1c5e0a9d7b5e2c8f4a6b1d0e9c7a52
long_job:
  description: The conversion LongJob as ZStack last showed it; null when there is none (check mode before the first run).
  returned: always
  type: dict
  sample: {"uuid": "3f1c5e0a9d7b5e2c8f4a6b1d0e9c7a52", "name": "APIConvertVmFromForeignHypervisorMsg",
           "jobName": "APIConvertVmFromForeignHypervisorMsg", "state": "Succeeded",
           "targetResourceUuid": "0c5a3e8f1d2b4c6a9e7f5d3b1a2c4e6f"}
vm_uuid:
  description:
    - Uuid of the converted VM when it can be determined (from the job's result, its target
      resource, or else the unique VM named O(name)); null otherwise.
  returned: always
  type: str
  sample: 0c5a3e8f1d2b4c6a9e7f5d3b1a2c4e6f
vm:
  description: Inventory of the converted VM, when known.
  returned: always
  type: dict
  sample: {"uuid": "0c5a3e8f1d2b4c6a9e7f5d3b1a2c4e6f", "name": "web-01", "state": "Stopped"}
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import zstack
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ApiError, ConflictError, JobFailedError, MigrationError, NotFoundError, TransportError, WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline, format_seconds
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import (
    action_took_effect, call_job_uuid, derive_v2v_job_uuid, is_resource_uuid, is_uuid, job_failure_code, job_failure_message,
    plan_v2v, query_value_problem, v2v_body, v2v_reference_problem, v2v_referenced_uuids,
    v2v_url_problem, vm_uuid_candidates)

OPERATION = "ConvertVmFromForeignHypervisor"
SUBMIT_TIMEOUT = 600
PLATFORMS = ["Linux", "Windows", "WindowsVirtio", "Paravirtualization", "Other"]
UUID_OPTIONS = ("primary_storage_uuid", "default_l3_network_uuid", "conversion_host_uuid", "zone_uuid",
                "cluster_uuid", "host_uuid", "resource_uuid")
UUID_LIST_OPTIONS = ("l3_network_uuids", "tag_uuids")


class ZstackV2vConvert(MigrationModule):
    connection = zstack.CONNECTION
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "canceled"]),
        url=dict(type="str"),
        name=dict(type="str"),
        description=dict(type="str"),
        cpu_num=dict(type="int"),
        memory_size=dict(type="int"),
        primary_storage_uuid=dict(type="str"),
        l3_network_uuids=dict(type="list", elements="str"),
        default_l3_network_uuid=dict(type="str"),
        conversion_host_uuid=dict(type="str"),
        zone_uuid=dict(type="str"),
        cluster_uuid=dict(type="str"),
        host_uuid=dict(type="str"),
        platform=dict(type="str", choices=PLATFORMS),
        vm_type=dict(type="str", choices=["UserVm", "ApplianceVm"]),
        strategy=dict(type="str", choices=["InstantStart", "JustConvert"]),
        convert_strategy=dict(type="str", choices=["CapacityOptimized", "EfficiencyFirst"]),
        pause_vm=dict(type="bool"),
        volume_filters=dict(type="list", elements="raw"),
        root_file_system=dict(type="str"),
        ssh_priv_key=dict(type="str", no_log=True),
        long_job_name=dict(type="str"),
        long_job_description=dict(type="str"),
        tag_uuids=dict(type="list", elements="str"),
        system_tags=dict(type="list", elements="str"),
        user_tags=dict(type="list", elements="str"),
        resource_uuid=dict(type="str"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=43200),
    )
    ranges = {"cpu_num": (1, 1024), "memory_size": (1, None), "timeout": (1, None)}
    module_kwargs = dict(
        required_if=[["state", "present", ["url", "name", "cpu_num", "memory_size", "primary_storage_uuid",
                                           "l3_network_uuids"]]],
    )

    def run(self):
        p = self.params
        self.client.redact.add(p["ssh_priv_key"])  # also in its JSON-escaped and URL-encoded forms
        self.deadline = Deadline(p["timeout"], self.client.clock)
        job_uuid = p["resource_uuid"] or derive_v2v_job_uuid(p["url"], p["name"])
        self.job_uuid = job_uuid
        self.resource = "VM '%s' from %s" % (p["name"], p["url"]) if p["name"] else "LongJob %s" % job_uuid
        self.result.update(job_uuid=job_uuid, long_job=None, vm_uuid=None, vm=None)

        job = self.client.get_longjob(job_uuid)
        vms_named = self.vms_named() if job is None and p["state"] == "present" else []
        plan = plan_v2v(p["state"], job, vms_named)
        self.result["long_job"] = self.client.shown(job)
        action = plan["action"]
        if action == "blocked":
            raise ConflictError(plan["reason"], operation=OPERATION, resource=self.resource)
        if action == "adopt":
            self.warn("no conversion LongJob %s found; the existing VM named %r (%s) is taken as its result"
                      % (job_uuid, p["name"], vms_named[0]["uuid"]))
            self.result.update(vm_uuid=vms_named[0]["uuid"], vm=vms_named[0])
            return
        if action == "submit":
            self.check_references()
        if action in ("submit", "rerun", "cancel"):
            self.changed({"long_job": job.get("state") if job else None},
                         {"long_job": "Canceled" if action == "cancel" else "Succeeded"})
            if self.check_mode:
                return
            job = self.apply(action, job_uuid, job)
            self.result["long_job"] = self.client.shown(job)
        if action == "wait" and self.check_mode:
            return  # reading is allowed in check mode, but not hours of waiting
        if action != "none" and p["wait"] and job.get("state") not in ("Succeeded", "Failed", "Canceled"):
            job = self.wait(job)
        if p["state"] == "present" and job is not None:
            self.report(job)

    def validate(self):
        """Every parameter checked before any call (see DOCUMENTATION for what is rejected and why)."""
        p = self.params
        if p["state"] == "canceled" and not p["resource_uuid"] and not (p["url"] and p["name"]):
            self.fail_parameter("resource_uuid", "or both url and name are required with state=canceled")
        if p["url"] is not None:
            self.check_name("url", p["url"], "source URL")
            problem = v2v_url_problem(p["url"])
            if problem:
                self.fail_parameter("url", problem)
        if p["name"] is not None:
            # The name is looked up with vm-instances?q=name=...: it must mean itself to the query parser.
            self.check_name("name", p["name"], "VM name")
            problem = query_value_problem(p["name"])
            if problem:
                self.fail_parameter("name", "%s (got %r)" % (problem, p["name"]))
        for name in ("long_job_name", "description", "long_job_description", "root_file_system"):
            if p[name] is not None:
                self.check_name(name, p[name], name.replace("_", " "))
        if p["l3_network_uuids"] is not None and not p["l3_network_uuids"]:
            self.fail_parameter("l3_network_uuids", "must name at least one L3 network")
        for name in UUID_OPTIONS:
            if p[name] is not None and not is_uuid(p[name]):
                self.fail_parameter(name, "must be a ZStack uuid (32 lowercase hex characters), got %r" % p[name])
        for name in UUID_LIST_OPTIONS:
            bad = [value for value in p[name] or [] if not is_uuid(value)]
            if bad:
                self.fail_parameter(name, "must hold ZStack uuids (32 lowercase hex characters); not: %s" % ", ".join(bad))
        if p["state"] == "present" and p["resource_uuid"] is not None and not is_resource_uuid(p["resource_uuid"]):
            self.fail_parameter("resource_uuid", "must be a UUID of version 1-5 without dashes (like uuid4().hex), "
                                                 "got %r" % p["resource_uuid"])

    def check_references(self):
        """Every object the conversion names exists (one query per kind), before POST /v2vs.

        ZStack checks them only after accepting the call (SYS.1007 on the api-job poll).
        """
        found = {collection: self.client.existing(collection, uuids, collection)
                 for collection, uuids in v2v_referenced_uuids(self.params).items()}
        problem = v2v_reference_problem(self.params, found)
        if problem:
            self.fail_parameter(*problem)

    # -- applying ------------------------------------------------------------------------------------
    def apply(self, action, job_uuid, before):
        """Submit, rerun or cancel; return the LongJob as it is right after.

        Whatever the answer, a doubtful one is settled by reading the LongJob <job_uuid>. On a
        failure, ``changed`` says whether the call took effect all the same.
        """
        timeout = min(SUBMIT_TIMEOUT, self.deadline.remaining())
        try:
            if action == "submit":
                # X-Job-UUIDs derived from the LongJob (and its state): see DOCUMENTATION.
                answer = self.client.call_async("POST", zstack.API + "/v2vs", v2v_body(self.params, job_uuid), OPERATION,
                                                self.resource, timeout, call_job_uuid(OPERATION, job_uuid))[1]
                job = (answer or {}).get("inventory")
            else:
                name = "rerunLongJob" if action == "rerun" else "cancelLongJob"
                self.client.longjob_action(job_uuid, name, timeout,
                                           call_job_uuid(name, job_uuid, before.get("state"), before.get("apiId")))
                job = None
        except (JobFailedError, NotFoundError, WaitTimeoutError, TransportError, ApiError) as error:
            # No clear answer from the api-job: SYS.1001 (its message timed out while the LongJob
            # goes on), 404 (its result was purged), our own timeout, lost answers, a 5xx, or
            # SYS.1007 because a parallel run created the job meanwhile. The LongJob tells.
            try:
                job = self.client.get_longjob(job_uuid)
            except MigrationError as read_error:
                self.result["changed"] = False
                self.result.pop("diff", None)  # what is now is unknown
                error.message = ("%s; LongJob %s (state before: %s) could not be read afterwards (%s); a re-run "
                                 "looks it up by this uuid and does not submit it twice"
                                 % (error.message, job_uuid, before.get("state") if before else "none", read_error))
                raise error
            if not action_took_effect(action, job):
                self.result["changed"] = False
                self.result["long_job"] = self.client.shown(job)
                if "diff" in self.result:  # what is, not what was planned
                    self.result["diff"]["after"] = {"long_job": job.get("state") if job else None}
                raise
            return job
        return job if isinstance(job, dict) and job.get("state") else self.client.get_longjob(job_uuid)

    def wait(self, job):
        """Wait for the LongJob to end; a lost connection or the deadline fails naming it and its last state."""
        try:
            job = self.client.wait_longjob(job["uuid"], self.deadline.remaining())
        except (WaitTimeoutError, TransportError, ApiError) as error:
            if isinstance(error, WaitTimeoutError):
                error.message = "%s (timeout %s)" % (error.message, format_seconds(self.params["timeout"]))
            error.message = "%s; LongJob %s was %s when last read; it goes on in ZStack" % (
                error.message, job["uuid"], job.get("state"))
            raise
        self.result["long_job"] = self.client.shown(job)
        return job

    def report(self, job):
        """Fail for a failed or canceled conversion; else find the new VM (api/zstack.md section 12 order)."""
        state = job.get("state")
        if state in ("Failed", "Canceled"):
            raise JobFailedError("the conversion LongJob %s ended %s: %s" % (job["uuid"], state, job_failure_message(job)),
                                 operation=OPERATION, resource=self.resource, code=job_failure_code(job))
        if state != "Succeeded":
            return  # wait=false: still running
        vm = None
        for vm_uuid in vm_uuid_candidates(job):
            vm = self.client.get_inventory("vm-instances", vm_uuid, operation="Get converted VM")
            if vm is not None:
                break
        if vm is None:
            named = self.vms_named()
            vm = named[0] if len(named) == 1 else None
        self.result.update(vm=vm, vm_uuid=vm["uuid"] if vm else None)

    def vms_named(self):
        return self.client.query("vm-instances", ["name=%s" % self.params["name"]], operation="Find VMs by name") \
            if self.params["name"] else []


def main():
    ZstackV2vConvert().execute()


if __name__ == "__main__":
    main()
