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
  - The LongJob's uuid is O(resource_uuid) or, when not given, derived from O(url) and O(vm), so
    the same task always means the same job. A run first looks that job up; it never submits a
    second conversion for it. After success a new run reports no change and returns the same VM;
    while the job runs, a new run waits for it; a V(Failed) or V(Canceled) job is run again
    (C(rerunLongJob)) by O(state=present).
  - When the job is gone (ZStack purged it) but a VM named O(vm) exists, that VM is taken as the
    result of the earlier conversion (with a warning), so O(vm) should be unique.
  - When the api-job of a submit, rerun or cancel gives no clear answer (ZStack's C(SYS.1001)
    message timeout, its result already purged, a lost answer, a 5xx), the LongJob's own state
    decides whether the call took effect. A lost answer is never followed by a blind resend; ZStack
    is asked for the api-job first. When ZStack cannot be reached, the error names the LongJob and
    its last known state; a re-run looks the job up by its uuid and never submits it twice.
  - The C(X-Job-UUID) of the submit (and of a rerun or cancel) is derived from the LongJob's uuid (and
    its state), the same on every run. ZStack checks and starts a call only after accepting it, so
    for a moment no LongJob shows it; a run that finds that api-job still running (an earlier,
    interrupted run's call) waits for it instead of sending the call again.
  - Before C(POST /v2vs) every object the conversion names is resolved, by uuid or by name (one query
    each), namely O(primary_storage), O(l3_networks), O(default_l3_network) (which must be one of
    O(l3_networks)), O(zone), O(cluster), O(host) (which must be in O(cluster)) and O(conversion_host).
    An unknown name or uuid, or a name several objects share, fails naming its parameter, before any call.
  - In check mode nothing is sent; the result says what would be done. In diff mode the diff shows
    only what changes, the LongJob's state before and after (and, for a new conversion, the objects
    it is placed on, names beside shortened uuids).
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
  vm:
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
  primary_storage:
    description:
      - Primary storage that receives the converted volumes, by name or uuid. Required with O(state=present).
      - A name is looked up with ZStack's query syntax, which has no escape, so a name it would misread
        is rejected before any call (as for O(vm)); use the uuid then. The same holds for every option
        below that takes a name.
    type: str
  l3_networks:
    description:
      - L3 networks of the new VM's NICs (at least one), by name or uuid. Required with O(state=present).
    type: list
    elements: str
  default_l3_network:
    description: The L3 network of the default NIC, by name or uuid; one of O(l3_networks).
    type: str
  conversion_host:
    description: V2V conversion host that does the conversion, by name or uuid.
    type: str
  zone:
    description: Zone of the new VM, by name or uuid.
    type: str
  cluster:
    description: Cluster of the new VM, by name or uuid.
    type: str
  host:
    description: KVM host of the new VM, by name or uuid; in O(cluster) when both are given.
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
      - Default, a uuid derived from O(url) and O(vm), the same on every run.
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
    vm: web-01
    cpu_num: 2
    memory_size: 4294967296
    primary_storage: ps-ceph-01
    l3_networks: [l3-prod]
    cluster: cluster-kvm-1
    conversion_host: v2v-ch-01
    strategy: JustConvert
  register: converted

- name: Start a KVM import without waiting
  hybridcloud.migration.zstack_v2v_convert:
    url: kvm://root@192.168.20.31/9b2a0a1c-6f0d-4a3e-9a55-3c7d1f0e2b11
    vm: legacy-db
    ssh_priv_key: "{{ lookup('file', 'files/v2v_id_rsa') }}"
    cpu_num: 4
    memory_size: 8589934592
    primary_storage: 314f2b4d28a45a4fa95c1fdc57ea6c21
    l3_networks: [15bf365e33ec52908dafb082f09148e0]
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
      resource, or else the unique VM named O(vm)); null otherwise.
  returned: always
  type: str
  sample: 0c5a3e8f1d2b4c6a9e7f5d3b1a2c4e6f
vm:
  description: Inventory of the converted VM, when known.
  returned: always
  type: dict
  sample: {"uuid": "0c5a3e8f1d2b4c6a9e7f5d3b1a2c4e6f", "name": "web-01", "state": "Stopped"}
references:
  description:
    - The objects this run resolved before submitting the conversion, by option, each as its name and
      uuid (a list for O(l3_networks)); empty when this run submitted nothing.
  returned: always
  type: dict
  sample: {"primary_storage": {"name": "ps-nfs-01", "uuid": "314f2b4d28a45a4fa95c1fdc57ea6c21"},
           "l3_networks": [{"name": "l3-prod", "uuid": "15bf365e33ec52908dafb082f09148e0"}]}
msg:
  description: The conversion's state in one sentence, names beside the uuids.
  returned: success
  type: str
  sample: "VM 'web-01' from vmware://155cb773228d346ba8ed1135d48f3718: LongJob 3f1c5e0a\u2026 Succeeded, VM web-01 (0c5a3e8f\u2026)"
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import zstack
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ApiError, ConflictError, JobFailedError, MigrationError, NotFoundError, TransportError, WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline, format_seconds
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import (
    action_took_effect, call_job_uuid, derive_v2v_job_uuid, is_resource_uuid, is_uuid, job_failure_code, job_failure_message,
    named, plan_v2v, query_value_problem, V2V_REFERENCES, v2v_body, v2v_diff, v2v_message, v2v_placement_problem,
    v2v_url_problem, vm_uuid_candidates)

OPERATION = zstack.CONVERT_VM_FROM_FOREIGN_HYPERVISOR
SUBMIT_TIMEOUT = 600
PLATFORMS = ["Linux", "Windows", "WindowsVirtio", "Paravirtualization", "Other"]
UUID_OPTIONS = ("resource_uuid",)
UUID_LIST_OPTIONS = ("tag_uuids",)


class ZstackV2vConvert(MigrationModule):
    connection = zstack.CONNECTION
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "canceled"]),
        url=dict(type="str"),
        vm=dict(type="str"),
        description=dict(type="str"),
        cpu_num=dict(type="int"),
        memory_size=dict(type="int"),
        primary_storage=dict(type="str"),
        l3_networks=dict(type="list", elements="str"),
        default_l3_network=dict(type="str"),
        conversion_host=dict(type="str"),
        zone=dict(type="str"),
        cluster=dict(type="str"),
        host=dict(type="str"),
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
        required_if=[["state", "present", ["url", "vm", "cpu_num", "memory_size", "primary_storage", "l3_networks"]]],
    )

    def run(self):
        p = self.params
        self.client.redact.add(p["ssh_priv_key"])  # also in its JSON-escaped and URL-encoded forms
        self.deadline = Deadline(p["timeout"], self.client.clock)
        job_uuid = p["resource_uuid"] or derive_v2v_job_uuid(p["url"], p["vm"])
        self.job_uuid = job_uuid
        self.resource = "VM '%s' from %s" % (p["vm"], p["url"]) if p["vm"] else "LongJob %s" % job_uuid
        self.resolved = {}
        self.result.update(job_uuid=job_uuid, long_job=None, vm_uuid=None, vm=None, references={})

        job = self.client.get_longjob(job_uuid)
        vms_named = self.vms_named() if job is None and p["state"] == "present" else []
        plan = plan_v2v(p["state"], job, vms_named)
        self.result["long_job"] = self.client.shown(job)
        action = plan["action"]
        if action == "blocked":
            raise ConflictError(plan["reason"], operation=OPERATION, resource=self.resource)
        if action == "adopt":
            self.warn("no conversion LongJob %s found; the existing VM named %r (%s) is taken as its result"
                      % (job_uuid, p["vm"], vms_named[0]["uuid"]))
            self.result.update(vm_uuid=vms_named[0]["uuid"], vm=vms_named[0])
            self.result["msg"] = v2v_message(self.resource, "adopt", job_uuid, None, vms_named[0], False)
            return
        if action == "submit":
            self.check_references()
            self.result["references"] = {option: [named(item) for item in value] if isinstance(value, list)
                                         else named(value) for option, value in self.resolved.items()}
        if action in ("submit", "rerun", "cancel"):
            self.changed()
            if self.diff_mode:
                self.result["diff"] = v2v_diff(self.resource, job_uuid, action, job, self.resolved, p["wait"])
            if self.check_mode:
                self.result["msg"] = v2v_message(self.resource, action, job_uuid, job and job.get("state"), None, True,
                                                 self.resolved)
                return
            job = self.apply(action, job_uuid, job)
            self.result["long_job"] = self.client.shown(job)
        if action == "wait" and self.check_mode:
            self.result["msg"] = v2v_message(self.resource, action, job_uuid, job.get("state"), None, False)
            return  # reading is allowed in check mode, but not hours of waiting
        if action != "none" and p["wait"] and job.get("state") not in ("Succeeded", "Failed", "Canceled"):
            job = self.wait(job)
        if p["state"] == "present" and job is not None:
            self.report(job)
        self.result["msg"] = v2v_message(self.resource, action, job_uuid, job.get("state") if job else None,
                                         self.result["vm"], False)

    def validate(self):
        """Every parameter checked before any call (see DOCUMENTATION for what is rejected and why)."""
        p = self.params
        if p["state"] == "canceled" and not p["resource_uuid"] and not (p["url"] and p["vm"]):
            self.fail_parameter("resource_uuid", "or both url and vm are required with state=canceled")
        if p["url"] is not None:
            self.check_name("url", p["url"], "source URL")
            problem = v2v_url_problem(p["url"])
            if problem:
                self.fail_parameter("url", problem)
        if p["vm"] is not None:
            # The name is looked up with vm-instances?q=name=...: it must mean itself to the query parser.
            self.check_name("vm", p["vm"], "VM name")
            problem = query_value_problem(p["vm"])
            if problem:
                self.fail_parameter("vm", "%s (got %r)" % (problem, p["vm"]))
        for name in ("long_job_name", "description", "long_job_description", "root_file_system"):
            if p[name] is not None:
                self.check_name(name, p[name], name.replace("_", " "))
        if p["l3_networks"] is not None and not p["l3_networks"]:
            self.fail_parameter("l3_networks", "must name at least one L3 network")
        for option, dummy, kind, dummy2 in V2V_REFERENCES:  # names ZStack's query syntax would misread
            values = p[option] if isinstance(p[option], list) else [p[option]] if p[option] is not None else []
            for value in values:
                self.check_name(option, value, "%s uuid or name" % kind)
                problem = None if is_uuid(value) else query_value_problem(value)
                if problem:
                    self.fail_parameter(option, "%s (got %r)" % (problem, value))
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
        """Resolve every object the conversion names (by uuid or unique name, one query each) and check
        that they fit together, before POST /v2vs.

        ZStack checks them only after accepting the call (SYS.1007 on the api-job poll).
        """
        for option, collection, kind, dummy in V2V_REFERENCES:
            value = self.params[option]
            if isinstance(value, list):
                self.resolved[option] = [self.client.resolve(collection, item, kind, option) for item in value]
            elif value is not None:
                self.resolved[option] = self.client.resolve(collection, value, kind, option)
        problem = v2v_placement_problem(self.resolved)
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
                answer = self.client.call_async("POST", zstack.API + "/v2vs", v2v_body(self.params, self.resolved, job_uuid),
                                                OPERATION, self.resource, timeout, call_job_uuid(OPERATION, job_uuid))[1]
                job = (answer or {}).get("inventory")
            else:
                operation = zstack.RERUN_LONG_JOB if action == "rerun" else zstack.CANCEL_LONG_JOB
                identity = zstack.LONG_JOB_ACTIONS[operation]  # the action key: same X-Job-UUIDs as before
                self.client.longjob_action(job_uuid, operation, timeout,
                                           call_job_uuid(identity, job_uuid, before.get("state"), before.get("apiId")))
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
                    self.result["diff"]["after"] = {"long_job": job["state"]} if job else {}
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
            vm = self.client.get_inventory("vm-instances", vm_uuid)
            if vm is not None:
                break
        if vm is None:
            named = self.vms_named()
            vm = named[0] if len(named) == 1 else None
        self.result.update(vm=vm, vm_uuid=vm["uuid"] if vm else None)

    def vms_named(self):
        return self.client.query("vm-instances", ["name=%s" % self.params["vm"]]) \
            if self.params["vm"] else []


def main():
    ZstackV2vConvert().execute()


if __name__ == "__main__":
    main()
