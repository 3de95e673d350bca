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
    for a moment no LongJob shows it; so before sending the call the module asks ZStack for that api-job
    (one C(GET /api-jobs/<uuid>)). When it is still running (an earlier, interrupted run's call), it is
    waited for, not sent again; when ZStack does not know it, the call is sent with it; when it ended, the
    call takes the next uuid of a chain derived from it, asked about in the same way. With O(vms), a submit
    that already succeeded is taken as done and its LongJob followed.
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
      - Mutually exclusive with O(vms) (give it per item there).
    type: str
  vms:
    description:
      - Many conversions in one task (O(state=present) only). Each item is a dict of the options of one
        conversion as the single form takes them (V(url), V(vm), V(cpu_num), V(memory_size),
        V(primary_storage), V(l3_networks), V(default_l3_network), V(conversion_host), V(zone), V(cluster),
        V(host), V(platform), V(vm_type), V(strategy), V(convert_strategy), V(pause_vm), V(volume_filters),
        V(root_file_system), V(ssh_priv_key), V(long_job_name), V(long_job_description), V(tag_uuids),
        V(system_tags), V(user_tags), V(resource_uuid)); the top-level options are the defaults of every item.
        An item's problem fails the task naming it, for example C(vms[3].url), before anything is sent.
      - The LongJobs, the VMs already named so and the objects the conversions name are read with a few batched
        queries; at most O(parallel) conversions run at once (those already under way count), and one poller
        follows all of them with one LongJob query per round. Each conversion is decided as in the single
        form - a Succeeded LongJob is V(unchanged), a running one is waited for (V(adopted)), a failed or canceled
        one is run again; before a submit is sent, ZStack is asked about its C(X-Job-UUID), so the submit of a
        killed run that ZStack accepted but shows no LongJob for yet is adopted, never sent a second time.
        Every conversion is attempted; the task fails at the end naming each failed one.
        RV(vms) has each conversion's outcome.
      - With O(wait=false), up to O(parallel) conversions are started and the others reported V(not_started).
    type: list
    elements: dict
  parallel:
    description:
      - With O(vms), at most this many conversions at a time (between 1 and 64).
    type: int
    default: 8
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
vms:
  description: With O(vms), one entry per conversion, in the order of O(vms).
  returned: when O(vms) is given
  type: list
  elements: dict
  contains:
    name:
      description: Name of the new VM.
      type: str
    uuid:
      description: Uuid of the new VM, once it exists (null before).
      type: str
    outcome:
      description:
        - V(converted) (this run submitted or reran it and it Succeeded), V(unchanged) (already done), V(adopted)
          (a conversion under way was waited for), V(failed), V(in_progress), V(not_started).
        - In check mode what would happen - V(would convert), V(would convert again), V(in_progress), V(unchanged),
          V(failed).
      type: str
    from:
      description: The source (O(url)).
      type: str
    to:
      description: The primary storage, its name beside its shortened uuid.
      type: str
    jobs:
      description: The conversion LongJob uuid.
      type: list
      elements: str
    error:
      description: ZStack's error code and message, else an empty string.
      type: str
    started:
      description: When this run started or began to wait for it, epoch seconds; null if it did not.
      type: float
    ended:
      description: When this run saw it end, epoch seconds; null if it did not.
      type: float
  sample: [{"name": "web-01", "uuid": "f0f7aed586e55a32bd0ee16379608c2b", "outcome": "converted",
            "from": "vmware://155cb773228d346ba8ed1135d48f3718", "to": "ps-nfs-01 (314f2b4d\u2026)",
            "jobs": ["3f1c5e0a9d7b5e2c8f4a6b1d0e9c7a52"], "error": "", "started": 1764892800.5, "ended": 1764892806.1}]
job_uuid:
  description: Uuid of the conversion LongJob (O(resource_uuid) or the derived one).
  returned: when O(vms) is not given
  type: str
  sample: 3f1c5e0a9d7b5e2c8f4a6b1d0e9c7a52
long_job:
  description: The conversion LongJob as ZStack last showed it; null when there is none (check mode before the first run).
  returned: when O(vms) is not given
  type: dict
  sample: {"uuid": "3f1c5e0a9d7b5e2c8f4a6b1d0e9c7a52", "name": "APIConvertVmFromForeignHypervisorMsg",
           "jobName": "APIConvertVmFromForeignHypervisorMsg", "state": "Succeeded",
           "targetResourceUuid": "0c5a3e8f1d2b4c6a9e7f5d3b1a2c4e6f"}
vm_uuid:
  description:
    - Uuid of the converted VM when it can be determined (from the job's result, its target
      resource, or else the unique VM named O(vm)); null otherwise.
  returned: when O(vms) is not given
  type: str
  sample: 0c5a3e8f1d2b4c6a9e7f5d3b1a2c4e6f
vm:
  description: Inventory of the converted VM, when known.
  returned: when O(vms) is not given
  type: dict
  sample: {"uuid": "0c5a3e8f1d2b4c6a9e7f5d3b1a2c4e6f", "name": "web-01", "state": "Stopped"}
references:
  description:
    - The objects this run resolved before submitting the conversion, by option, each as its name and
      uuid (a list for O(l3_networks)); empty when this run submitted nothing.
  returned: when O(vms) is not given
  type: dict
  sample: {"primary_storage": {"name": "ps-nfs-01", "uuid": "314f2b4d28a45a4fa95c1fdc57ea6c21"},
           "l3_networks": [{"name": "l3-prod", "uuid": "15bf365e33ec52908dafb082f09148e0"}]}
msg:
  description: The conversion's state in one sentence, names beside the uuids.
  returned: success
  type: str
  sample: "VM 'web-01' from vmware://155cb773228d346ba8ed1135d48f3718: LongJob 3f1c5e0a\u2026 Succeeded, VM web-01 (0c5a3e8f\u2026)"
"""

import time

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.hybridcloud.migration.plugins.module_utils import zstack
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ApiError, ConflictError, JobFailedError, MigrationError, NotFoundError, ParameterError, TransportError,
    WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline, format_seconds, wait_for
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import (
    TERMINAL_JOB_STATES, action_took_effect, bulk_failures, bulk_summary, call_job_uuid, derive_v2v_job_uuid,
    in_condition_safe, is_resource_uuid, is_uuid, job_failure_code, job_failure_message, label, named, pick_unique,
    plan_v2v, query_value_problem, V2V_REFERENCES, v2v_body, v2v_diff, v2v_message, v2v_placement_problem,
    v2v_url_problem, vm_uuid_candidates)

OPERATION = zstack.CONVERT_VM_FROM_FOREIGN_HYPERVISOR
SUBMIT_TIMEOUT = 600
PLATFORMS = ["Linux", "Windows", "WindowsVirtio", "Paravirtualization", "Other"]
UUID_OPTIONS = ("resource_uuid",)
UUID_LIST_OPTIONS = ("tag_uuids",)
REQUIRED = ("url", "vm", "cpu_num", "memory_size", "primary_storage", "l3_networks")  # with state=present
# What one item of vms may set (the single form's options of one conversion); the top-level values are its defaults.
ITEM_OPTIONS = ("url", "vm", "description", "cpu_num", "memory_size", "primary_storage", "l3_networks",
                "default_l3_network", "conversion_host", "zone", "cluster", "host", "platform", "vm_type", "strategy",
                "convert_strategy", "pause_vm", "volume_filters", "root_file_system", "ssh_priv_key", "long_job_name",
                "long_job_description", "tag_uuids", "system_tags", "user_tags", "resource_uuid")


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
        vms=dict(type="list", elements="dict"),
        parallel=dict(type="int", default=8),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=43200),
    )
    ranges = {"cpu_num": (1, 1024), "memory_size": (1, None), "timeout": (1, None), "parallel": (1, 64)}
    module_kwargs = dict(mutually_exclusive=[["vms", "resource_uuid"]])

    def run(self):
        if self.params["vms"] is not None:
            return self.run_bulk()
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
        """Every parameter checked before any call (see DOCUMENTATION for what is rejected and why);
        with ``vms``, every item merged over the top-level options, named ``vms[i].<option>``."""
        p = self.params
        if p["vms"] is None:
            missing = [name for name in REQUIRED if p[name] is None] if p["state"] == "present" else []
            if missing:
                raise ParameterError("state is present but all of the following are missing: %s (or give vms)"
                                     % ", ".join(missing))
            return self.validate_one(p, "")
        if p["state"] != "present":
            self.fail_parameter("vms", "is only for state=present")
        for item in p["vms"]:  # the argspec cannot mark a key of a list item no_log: masked here, first thing
            if isinstance(item, dict) and item.get("ssh_priv_key"):
                self.register_secret(item["ssh_priv_key"])
        if not p["vms"]:
            self.fail_parameter("vms", "must list at least one conversion")
        for index, item in enumerate(p["vms"]):
            unknown = sorted(set(item or {}) - set(ITEM_OPTIONS))
            if unknown:
                self.fail_parameter("vms[%d]" % index, "has unknown option(s) %s; an item takes %s" % (
                    ", ".join(unknown), ", ".join(ITEM_OPTIONS)))
        self.items = self.item_params()
        seen = {}
        for prefix, item in self.items:
            self.coerce(prefix, item)
            missing = [prefix + name for name in REQUIRED if item[name] is None]
            if missing:
                raise ParameterError("vms: missing required option(s) %s" % ", ".join(missing))
            self.validate_one(item, prefix)
            for key, what in (((item["url"], item["vm"]), "source and name"), ((item["resource_uuid"],), "resource_uuid")):
                if None not in key and key in seen:
                    self.fail_parameter(prefix.rstrip("."), "has the same %s as %s" % (what, seen[key]))
                if None not in key:
                    seen[key] = prefix.rstrip(".")

    def coerce(self, prefix, item):
        """An item's values to the types of the top-level options (the argspec checks only those)."""
        spec = self.module.argument_spec
        for option in ITEM_OPTIONS:
            value, kind = item[option], spec[option]["type"]
            if value is None:
                continue
            try:
                if kind == "int":
                    if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
                        raise ValueError("%r is not an integer" % (value,))
                    item[option] = int(value)
                elif kind == "bool":
                    item[option] = boolean(value, strict=True)
                elif kind == "list":
                    item[option] = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
                elif kind == "str" and not isinstance(value, str):
                    item[option] = str(value)
            except (TypeError, ValueError) as error:
                self.fail_parameter(prefix + option, "must be of type %s (%s)" % (kind, error))
            choices = spec[option].get("choices")
            if choices and item[option] not in choices:
                self.fail_parameter(prefix + option, "must be one of %s, got %r" % (", ".join(choices), item[option]))

    def validate_one(self, p, prefix):
        """The checks of one conversion's parameters P; messages name PREFIX + option."""
        def fail(name, problem):
            self.fail_parameter(prefix + name, problem)

        for name, (low, high) in self.ranges.items():
            if prefix and name in ITEM_OPTIONS and p[name] is not None and (p[name] < low or (high and p[name] > high)):
                fail(name, "must be %s, got %s" % ("at least %s" % low if high is None else "between %s and %s" % (low, high),
                                                   p[name]))
        if p["state"] == "canceled" and not p["resource_uuid"] and not (p["url"] and p["vm"]):
            fail("resource_uuid", "or both url and vm are required with state=canceled")
        if p["url"] is not None:
            self.check_name(prefix + "url", p["url"], "source URL")
            problem = v2v_url_problem(p["url"])
            if problem:
                fail("url", problem)
        if p["vm"] is not None:
            # The name is looked up with vm-instances?q=name=...: it must mean itself to the query parser.
            self.check_name(prefix + "vm", p["vm"], "VM name")
            problem = query_value_problem(p["vm"])
            if problem:
                fail("vm", "%s (got %r)" % (problem, p["vm"]))
        for name in ("long_job_name", "description", "long_job_description", "root_file_system"):
            if p[name] is not None:
                self.check_name(prefix + name, p[name], name.replace("_", " "))
        if p["l3_networks"] is not None and not p["l3_networks"]:
            fail("l3_networks", "must name at least one L3 network")
        for option, dummy, kind, dummy2 in V2V_REFERENCES:  # names ZStack's query syntax would misread
            values = p[option] if isinstance(p[option], list) else [p[option]] if p[option] is not None else []
            for value in values:
                self.check_name(prefix + option, value, "%s uuid or name" % kind)
                problem = None if is_uuid(value) else query_value_problem(value)
                if problem:
                    fail(option, "%s (got %r)" % (problem, value))
        for name in UUID_OPTIONS:
            if p[name] is not None and not is_uuid(p[name]):
                fail(name, "must be a ZStack uuid (32 lowercase hex characters), got %r" % p[name])
        for name in UUID_LIST_OPTIONS:
            bad = [value for value in p[name] or [] if not is_uuid(value)]
            if bad:
                fail(name, "must hold ZStack uuids (32 lowercase hex characters); not: %s" % ", ".join(bad))
        if p["state"] == "present" and p["resource_uuid"] is not None and not is_resource_uuid(p["resource_uuid"]):
            fail("resource_uuid", "must be a UUID of version 1-5 without dashes (like uuid4().hex), got %r"
                 % p["resource_uuid"])

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

    # -- many conversions in one task (vms) ---------------------------------------------------------
    def item_params(self):
        """Each item of ``vms`` merged over the top-level options (its defaults), with its parameter prefix."""
        p = self.params
        items = []
        for index, item in enumerate(p["vms"]):
            merged = dict({option: p[option] for option in ITEM_OPTIONS}, state="present")
            merged.update((key, value) for key, value in (item or {}).items() if value is not None)
            items.append(("vms[%d]." % index, merged))
        return items

    def run_bulk(self):
        """Plan every conversion from batched reads, then run them with at most ``parallel`` at a time and
        one poller (one LongJob query per round); each conversion's outcome from its LongJob."""
        p = self.params
        self.deadline = Deadline(p["timeout"], self.client.clock)
        self.result.update(vms=[])
        works = []
        for prefix, item in self.items:
            self.client.redact.add(item["ssh_priv_key"])
            job_uuid = item["resource_uuid"] or derive_v2v_job_uuid(item["url"], item["vm"])
            works.append({"prefix": prefix, "item": item, "job_uuid": job_uuid, "state": "done", "job": None,
                          "resolved": {}, "submitted": False, "failure": None,
                          "entry": {"name": item["vm"], "uuid": None, "outcome": None, "from": item["url"],
                                    "to": item["primary_storage"], "jobs": [job_uuid], "error": "", "started": None,
                                    "ended": None}})
        jobs = {j["uuid"]: j for j in self.client.query_in("longjobs", "uuid", [w["job_uuid"] for w in works])}
        names = [w["item"]["vm"] for w in works if w["job_uuid"] not in jobs]
        named_vms = {}
        for vm in self.client.query_in("vm-instances", "name", [n for n in names if in_condition_safe(n)]):
            named_vms.setdefault(vm.get("name"), []).append(vm)
        for name in [n for n in names if not in_condition_safe(n)]:
            named_vms[name] = self.client.query("vm-instances", ["name=%s" % name])
        for work in works:
            job = jobs.get(work["job_uuid"])
            work["before"] = job
            work["plan"] = plan_v2v("present", job, named_vms.get(work["item"]["vm"], []) if job is None else [])
        self.resolve_all([w for w in works if w["plan"]["action"] == "submit"])
        for work in works:
            action, entry = work["plan"]["action"], work["entry"]
            self.result["vms"].append(entry)
            if action in ("none", "adopt"):
                entry["outcome"] = "unchanged"
                if action == "adopt":
                    vm = named_vms[work["item"]["vm"]][0]
                    entry["uuid"] = vm["uuid"]
                    self.warn("%s: no conversion LongJob %s found; the existing VM %s is taken as its result"
                              % (work["item"]["vm"], work["job_uuid"], label(vm)))
            elif action == "blocked":
                entry.update(outcome="failed", error=work["plan"]["reason"])
            elif self.check_mode:
                entry["outcome"] = {"submit": "would convert", "rerun": "would convert again", "wait": "in_progress"}[action]
            elif action == "wait":
                entry.update(outcome="adopted", started=time.time())
                work["state"] = "running"
            else:
                work["state"] = "queued"
        if not self.check_mode:
            self.convert_all(works)
        self.bulk_outcome(works)

    def resolve_all(self, works):
        """Resolve the objects the conversions name with one or two queries per kind of object, and check
        each conversion's placement; fails naming ``vms[i].<option>`` before anything is sent."""
        for option, collection, kind, dummy in V2V_REFERENCES:
            values = set()
            for work in works:
                value = work["item"][option]
                values.update(value if isinstance(value, list) else [value] if value is not None else [])
            if not values:
                continue
            found = self.client.query_in(collection, "uuid", [v for v in values if is_uuid(v)]) if any(
                is_uuid(v) for v in values) else []
            found += self.client.query_in(collection, "name", [v for v in values if in_condition_safe(v)])
            for work in works:
                value = work["item"][option]
                picked = []
                for one in (value if isinstance(value, list) else [value] if value is not None else []):
                    by_uuid = [f for f in found if f.get("uuid") == one] if is_uuid(one) else []
                    record, problem = pick_unique(by_uuid or [f for f in found if f.get("name") == one], kind, one)
                    if problem:
                        raise ParameterError("parameter '%s%s': %s" % (work["prefix"], option, problem))
                    picked.append(record)
                if picked:
                    work["resolved"][option] = picked if isinstance(value, list) else picked[0]
        for work in works:
            problem = v2v_placement_problem(work["resolved"])
            if problem:
                raise ParameterError("parameter '%s%s' %s" % (work["prefix"], problem[0], problem[1]))
            if work["resolved"].get("primary_storage"):
                work["entry"]["to"] = label(work["resolved"]["primary_storage"])

    def convert_all(self, works):
        """Submit (or rerun) up to ``parallel`` at a time; one LongJob query per round follows them all."""
        p = self.params
        clock = self.client.clock
        started = {}

        def running():
            return [w for w in works if w["state"] == "running"]

        def round_():
            self.observe_conversions(running())
            room = p["parallel"] - len(running())
            for work in [w for w in works if w["state"] == "queued"][:max(room, 0)]:
                self.start_conversion(work)
                started[work["job_uuid"]] = clock.now()
            if not p["wait"]:
                return True if all(w["job"] is not None or w["state"] != "running" for w in works) else None
            return True if not any(w["state"] in ("queued", "running") for w in works) else None

        def ages():
            now = clock.now()
            return [now - started.get(w["job_uuid"], now) for w in running()]

        timeout = self.deadline.remaining() if p["wait"] else min(SUBMIT_TIMEOUT, self.deadline.remaining())
        try:
            wait_for(round_, timeout, backoff=zstack.FleetBackoff(ages, self.client.poll_backoff), clock=clock,
                     what="the conversions")
        except WaitTimeoutError:
            for work in running():
                work["entry"]["error"] = ("still running at the deadline (timeout %s); it goes on in ZStack and a "
                                          "re-run adopts it" % format_seconds(p["timeout"]))
        for work in works:
            if work["state"] == "queued":
                work["entry"]["outcome"] = "not_started"
                if p["wait"]:
                    work["entry"]["error"] = "not started before the deadline (timeout %s)" % format_seconds(p["timeout"])

    def start_conversion(self, work):
        item, job_uuid, entry = work["item"], work["job_uuid"], work["entry"]
        resource = "VM '%s' from %s" % (item["vm"], item["url"])
        entry["started"] = time.time()
        work.update(state="running", submitted=True, api_job=None)
        try:
            if work["plan"]["action"] == "submit":
                work["api_job"] = self.client.submit(
                    "POST", zstack.API + "/v2vs", v2v_body(item, work["resolved"], job_uuid), OPERATION, resource,
                    call_job_uuid(OPERATION, job_uuid), adopt_ended=True)  # its LongJob tells how it went
                if work["api_job"].adopted:
                    work["submitted"] = False
            else:
                before = work["before"] or {}
                identity = zstack.LONG_JOB_ACTIONS[zstack.RERUN_LONG_JOB]
                self.client.longjob_action(job_uuid, zstack.RERUN_LONG_JOB, min(SUBMIT_TIMEOUT, self.deadline.remaining()),
                                           call_job_uuid(identity, job_uuid, before.get("state"), before.get("apiId")))
        except MigrationError as error:
            job = None
            try:  # a doubtful answer: the LongJob tells whether it started all the same
                job = self.client.get_longjob(job_uuid)
            except MigrationError:
                pass
            if not action_took_effect(work["plan"]["action"], job):
                entry.update(outcome="failed", error=self.error_text(error), ended=time.time())
                work.update(state="done", submitted=False)

    def observe_conversions(self, running):
        if not running:
            return
        jobs = {j["uuid"]: j for j in self.client.query_in("longjobs", "uuid", [w["job_uuid"] for w in running],
                                                           fields="uuid,state")}
        for work in running:
            job = jobs.get(work["job_uuid"])
            if job is None:  # not created yet: the api-job tells when ZStack refused the call
                if work.get("api_job") is not None:
                    try:
                        self.client.poll(work["api_job"])
                    except JobFailedError as error:
                        work["entry"].update(outcome="failed", error=self.error_text(error), ended=time.time())
                        work.update(state="done", submitted=False)
                    except (ApiError, TransportError):
                        pass  # no answer: the LongJob is looked for again next round
                continue
            work["job"] = job
            if job.get("state") in TERMINAL_JOB_STATES:
                work["state"] = "ended"
                work["entry"]["ended"] = time.time()

    def bulk_outcome(self, works):
        """Each conversion's outcome from its LongJob (one query), the new VMs found (one or two), the result."""
        ended = [w for w in works if w["state"] == "ended" or (w["plan"]["action"] == "none")]
        jobs = {j["uuid"]: j for j in self.client.query_in("longjobs", "uuid", [w["job_uuid"] for w in ended])} if ended else {}
        candidates = {}
        for work in ended:
            job = jobs.get(work["job_uuid"]) or {}
            state = job.get("state")
            if state == "Succeeded":
                candidates[work["job_uuid"]] = vm_uuid_candidates(job)
                if work["entry"]["outcome"] is None:
                    work["entry"]["outcome"] = "converted" if work["submitted"] else "adopted"
            else:
                work["entry"].update(outcome="failed", error="%s: the conversion LongJob %s ended %s: %s" % (
                    job_failure_code(job) or state, work["job_uuid"], state, job_failure_message(job)))
            work["state"] = "done"
        wanted = set(u for us in candidates.values() for u in us)
        vms = {vm["uuid"]: vm for vm in self.client.query_in("vm-instances", "uuid", wanted)} if wanted else {}
        missing = [w for w in ended if w["job_uuid"] in candidates
                   and not any(u in vms for u in candidates[w["job_uuid"]])]
        by_name = {}
        if missing:
            for vm in self.client.query_in("vm-instances", "name", [w["item"]["vm"] for w in missing
                                                                    if in_condition_safe(w["item"]["vm"])]):
                by_name.setdefault(vm.get("name"), []).append(vm)
        for work in ended:
            if work["job_uuid"] in candidates:
                found = [vms[u] for u in candidates[work["job_uuid"]] if u in vms] or (
                    by_name.get(work["item"]["vm"]) if len(by_name.get(work["item"]["vm"]) or []) == 1 else [])
                work["entry"]["uuid"] = found[0]["uuid"] if found else None
        for work in works:
            if work["state"] == "running" and work["entry"]["outcome"] in (None, "adopted"):
                work["entry"]["outcome"] = "in_progress"
        entries = self.result["vms"]
        self.result["changed"] = any(w["submitted"] for w in works) or any(
            e["outcome"] in ("would convert", "would convert again") for e in entries)
        summary = bulk_summary(entries)
        unfinished = ("not_started", "in_progress") if self.params["wait"] and not self.check_mode else ()
        failed = [e for e in entries if e["outcome"] == "failed" or e["outcome"] in unfinished]
        if failed:
            raise JobFailedError("%d of %d conversion(s) failed: %s (%s)" % (
                len(failed), len(entries), bulk_failures(failed, ("failed",) + unfinished), summary), operation=OPERATION)
        self.result["msg"] = ("would: " if self.check_mode else "") + summary

    @staticmethod
    def error_text(error):
        code = getattr(error, "code", None)
        message = getattr(error, "api_message", None) or getattr(error, "message", None) or str(error)
        return "%s: %s" % (code, message) if code and not str(message).startswith(code) else str(message)


def main():
    ZstackV2vConvert().execute()


if __name__ == "__main__":
    main()
