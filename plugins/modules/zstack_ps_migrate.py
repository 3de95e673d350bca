#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zstack_ps_migrate
short_description: Move a ZStack VM's volumes to another primary storage
version_added: 1.0.0
description:
  - Moves the root volume (and by default the data volumes) of a ZStack VM to another primary
    storage with C(PrimaryStorageMigrateVm). A V(Running) or V(Paused) VM is migrated live, a
    V(Stopped) VM offline; any other state is refused before any call is made.
  - Idempotent. Nothing is sent when every volume that should move is already on the destination.
    When a storage migration of the VM is already under way (the VM is V(Migrating) or
    V(VolumeMigrating), or a C(APIPrimaryStorageMigrateVmMsg) LongJob of it runs), the module waits
    for it and then decides again, instead of starting a second one.
  - When the api-job gives no clear answer (ZStack's C(SYS.1001) message timeout while the
    migration goes on, or its result already purged), the module follows the migration LongJob,
    or else the VM's state, and checks where the volumes are before it reports success or failure.
  - When the answer to the migration call itself is lost (connection reset, read timeout, a 5xx
    from ZStack or a proxy), the module asks ZStack for the api-job (its own C(X-Job-UUID)) before it
    sends anything again, and resends only when ZStack does not know it, so a migration is never
    submitted twice. When ZStack cannot be reached at all, the error names the api-job and the last
    known state; a re-run finds the migration under way (and waits for it) or done (and reports no change).
  - The migration call's C(X-Job-UUID) is derived from the VM, the request and where the volumes are,
    so it is the same on every run that would send the same call. ZStack checks and starts a call only
    after accepting it, so for a moment neither a LongJob nor the VM's state shows it; so before sending
    the call, the module asks ZStack for that api-job (one C(GET /api-jobs/<uuid>)). When it is still
    running (an earlier, interrupted run's call), it is waited for, not sent again. When ZStack does not
    know it, the call is sent with it. When it ended (the same move made before, within ZStack's api-job
    retention), the call takes the next uuid of a chain derived from it, asked about in the same way, so a
    re-run finds that call too.
    With O(vms), a call that succeeded after the VMs were read is taken as done and the VM read again;
    only if its volumes still have to move is the next call of the chain sent.
  - Every uuid and name is resolved, and the destination checked, before the migration call. A
    LocalStorage destination needs O(target_host), and O(target_host) must be in a cluster the
    destination primary storage is attached to.
  - A failed result is read again from ZStack before it is returned. C(changed) is V(true) only when
    a volume moved or the migration this run started is still under way, and RV(moved_volumes)
    lists only the volumes that are on the destination.
  - In check mode the module returns the plan (which volumes would move, live or offline) without
    changing anything; in diff mode it shows, for each volume that moves (and only those), its
    primary storage before and after, names beside shortened uuids.
author: hybridcloud.migration contributors (@hybridcloud)
options:
  vm:
    description:
      - The VM, by uuid or by name. A name must be unique.
      - A name is looked up with ZStack's query syntax, which has no escape, so a name it would misread
        is rejected (not encoded) before any call, namely an empty name, one starting with V(=), one containing
        V(!=), V(>=), V(<=), V(?=) or V(~=), or control or bidi formatting characters. Use the uuid then.
      - Exactly one of O(vm) and O(vms) is required.
    type: str
  vms:
    description:
      - Many VMs in one task, each by uuid or by unique name (checked like O(vm)); the other options
        apply to every one of them. Mutually exclusive with O(vm).
      - The VMs, their volumes and the storage migrations under way are read with a few batched queries
        (C(uuid?=), C(name?=)), every VM is checked before anything is sent (an unknown or ambiguous
        name, or the same VM twice, fails the task naming O(vms) with every problem), then at most
        O(parallel) migrations run at once and one poller follows all of them with batched reads of their
        LongJobs.
      - Each VM is decided on its own, as with O(vm) - nothing is sent for a VM whose volumes are already on
        the destination (V(unchanged)); a migration of it already under way is waited for (V(adopted)),
        never started again, and counts against O(parallel); right before a VM's call is sent, ZStack is asked
        about its C(X-Job-UUID) (see above), so the call of a killed run that ZStack accepted but does not
        show yet is found and adopted, never sent a second time. Every VM is attempted even when others fail; the task fails at
        the end naming each failed VM with ZStack's error code and message. RV(vms) has each VM's outcome.
      - With O(wait=false), up to O(parallel) migrations are started (those already under way count) and the
        other VMs are reported V(not_started); a later run starts them.
    type: list
    elements: str
  parallel:
    description:
      - With O(vms), at most this many storage migrations at a time (between 1 and 64).
    type: int
    default: 8
  target_primary_storage:
    description:
      - The destination primary storage, by uuid or by unique name (names checked like O(vm)).
    type: str
    required: true
  with_data_volumes:
    description:
      - Move the data volumes as well. V(false) moves the root volume only.
    type: bool
    default: true
  with_snapshots:
    description:
      - Move the volumes' snapshots as well.
    type: bool
    default: true
  target_host:
    description:
      - Host (uuid or unique name) that runs the VM after a live migration. For a LocalStorage
        destination it also selects the host whose local storage receives the volumes; ZStack requires
        it then, and the module fails before any call without it.
      - By uuid or unique name (names checked like O(vm)). It must be in a cluster the destination
        primary storage is attached to.
    type: str
  strategy:
    description:
      - Live migration strategy. Ignored by ZStack for offline migrations. V(no-converge) needs a recent ZStack.
    type: str
    choices: [auto-converge, no-converge]
  down_time:
    description:
      - Maximum downtime of a live migration, in the unit ZStack defines for C(downTime); passed through unchanged.
      - Must not be negative.
    type: int
  bandwidth:
    description:
      - Bandwidth limit of the migration in MB/s; V(0) means unlimited. Must not be negative.
    type: int
  wait:
    description:
      - Wait for the migration to finish. With V(false) the module returns the job uuids as soon as
        ZStack shows the migration's LongJob (ZStack processes a call only after accepting it; the module
        waits up to 60 seconds for that, and fails when ZStack refuses the call meanwhile);
        M(hybridcloud.migration.zstack_longjob_info) or a later run with O(wait=true) picks it up.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the migration (and for a migration already under way) to finish; at least 1.
        With O(vms), the deadline of the whole task.
      - On timeout the migration goes on in ZStack; the error message names its job.
    type: int
    default: 86400
extends_documentation_fragment:
  - hybridcloud.migration.zstack
  - hybridcloud.migration.attributes
"""

EXAMPLES = r"""
- name: Move web-01 (root and data volumes) to the Ceph primary storage
  hybridcloud.migration.zstack_ps_migrate:
    hostname: zstack.example.com
    username: admin
    password: "{{ zstack_password }}"
    vm: web-01
    target_primary_storage: ps-ceph-01

- name: Move only the root volume of a VM, live, with limited bandwidth
  hybridcloud.migration.zstack_ps_migrate:
    vm: f0f7aed586e55a32bd0ee16379608c2b
    target_primary_storage: ps-nfs-02
    with_data_volumes: false
    strategy: auto-converge
    bandwidth: 200

- name: Move a wave of VMs, at most 16 at a time; the task fails at the end naming any VM that failed
  hybridcloud.migration.zstack_ps_migrate:
    vms: [web-01, web-02, db-01, f0f7aed586e55a32bd0ee16379608c2b]
    target_primary_storage: ps-ceph-01
    parallel: 16
  register: wave

- name: Show each VM's outcome
  ansible.builtin.debug:
    msg: "{{ wave.vms | map(attribute='outcome') | list }}"

- name: Start a migration to local storage and come back for it later
  hybridcloud.migration.zstack_ps_migrate:
    vm: db-01
    target_primary_storage: ps-local-01
    target_host: host-kvm-02
    wait: false
  register: started

- name: Wait for it
  hybridcloud.migration.zstack_longjob_info:
    uuid: "{{ started.long_job_uuid }}"
  register: jobs
  until: jobs.long_jobs[0].state in ['Succeeded', 'Failed', 'Canceled']
  retries: 120
  delay: 30
"""

RETURN = r"""
vms:
  description:
    - With O(vms), one entry per VM, in the order of O(vms).
  returned: when O(vms) is given
  type: list
  elements: dict
  contains:
    name:
      description: VM name.
      type: str
    uuid:
      description: VM uuid.
      type: str
    outcome:
      description:
        - V(migrated) (this run moved its volumes), V(unchanged) (already on the destination), V(adopted) (a
          migration already under way was waited for and left the volumes on the destination), V(failed),
          V(in_progress) (still running when the task returned, with O(wait=false) or at the deadline),
          V(not_started) (not started, with O(wait=false) beyond O(parallel), or at the deadline).
        - In check mode what would happen - V(would migrate), V(unchanged), V(in_progress), V(failed).
      type: str
    mode:
      description: V(live) or V(offline); null when the VM's state allows neither.
      type: str
    from:
      description: The primary storages the volumes leave, names beside shortened uuids; null when nothing moves.
      type: str
    to:
      description: The destination primary storage, its name beside its shortened uuid.
      type: str
    jobs:
      description: The api-job (C(X-Job-UUID)) and LongJob uuids of its migration.
      type: list
      elements: str
    error:
      description: ZStack's error code and message (or why it is not done), else an empty string.
      type: str
    started:
      description: When this run started (or began to wait for) its migration, epoch seconds; null if it did not.
      type: float
    ended:
      description: When this run saw it end, epoch seconds; null if it did not.
      type: float
    moved_volumes:
      description: The volumes that moved (in check mode, would move), as in RV(moved_volumes).
      type: list
      elements: dict
  sample: [{"name": "web-01", "uuid": "f0f7aed586e55a32bd0ee16379608c2b", "outcome": "migrated", "mode": "live",
            "from": "ps-nfs-01 (314f2b4d\u2026)", "to": "ps-ceph-01 (d15c3212\u2026)",
            "jobs": ["b3e031bde29b46dd924aed1059fce57c", "46574bd4623d4e1c9c1e150a1bc829f5"], "error": "",
            "started": 1764892800.5, "ended": 1764892806.1, "moved_volumes": []}]
vm:
  description: The VM inventory after the migration (before it, in check mode or with O(wait=false)).
  returned: when O(vm) is given
  type: dict
  sample: {"uuid": "f0f7aed586e55a32bd0ee16379608c2b", "name": "web-01", "state": "Running",
           "allVolumes": [{"uuid": "8b120ff104995319b2edf6290476be9d", "type": "Root",
                           "primaryStorageUuid": "d15c3212fc5f5afc9474febc3deed380"}]}
moved_volumes:
  description:
    - The volumes this run moved (or would move in check mode, or is moving with O(wait=false)).
    - Empty when nothing had to move.
    - On failure, only the volumes that ZStack shows on the destination when the module read it again.
  returned: when O(vm) is given
  type: list
  elements: dict
  contains:
    uuid:
      description: Volume uuid.
      type: str
    name:
      description: Volume name.
      type: str
    type:
      description: V(Root) or V(Data).
      type: str
    from:
      description: Primary storage uuid before.
      type: str
    from_name:
      description: Name of the primary storage before.
      type: str
    to:
      description: Primary storage uuid after.
      type: str
    to_name:
      description: Name of the primary storage after.
      type: str
  sample: [{"uuid": "8b120ff104995319b2edf6290476be9d", "name": "ROOT-for-web-01", "type": "Root",
            "from": "314f2b4d28a45a4fa95c1fdc57ea6c21", "from_name": "ps-nfs-01",
            "to": "d15c3212fc5f5afc9474febc3deed380", "to_name": "ps-ceph-01"}]
target_primary_storage:
  description: The destination primary storage O(target_primary_storage) named, resolved (null when that failed).
  returned: always
  type: dict
  sample: {"name": "ps-ceph-01", "uuid": "d15c3212fc5f5afc9474febc3deed380"}
target_host:
  description: The host O(target_host) named, resolved; null when not given.
  returned: always
  type: dict
  sample: {"name": "host-kvm-02", "uuid": "1c0e3b5a7d9f4e2b8a6c4d2e0f1a3b5c"}
msg:
  description: What happened (or would happen), with names beside the uuids.
  returned: success
  type: str
  sample: "VM web-01 (f0f7aed5\u2026): moved 2 volume(s) live from ps-nfs-01 (314f2b4d\u2026) to ps-ceph-01 (d15c3212\u2026)"
mode:
  description: V(live) (the VM is Running or Paused) or V(offline) (Stopped); null when the VM's state allows neither.
  returned: when O(vm) is given
  type: str
  sample: live
job_uuid:
  description:
    - The api-job (C(X-Job-UUID)) of the migration this run started; null when it started none
      (also on failure, when ZStack never accepted the call).
  returned: when O(vm) is given
  type: str
  sample: b3e031bde29b46dd924aed1059fce57c
long_job_uuid:
  description:
    - The LongJob of the migration this run started or waited for, when ZStack shows one.
    - Use it with M(hybridcloud.migration.zstack_longjob_info).
  returned: when O(vm) is given
  type: str
  sample: 46574bd4623d4e1c9c1e150a1bc829f5
"""

import time

from ansible_collections.hybridcloud.migration.plugins.module_utils import zstack
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ApiError, ConflictError, JobFailedError, MigrationError, NotFoundError, TransportError, WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline, format_seconds, wait_for
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import (
    ACTIVE_JOB_STATES, CHECK_OUTCOMES, MIGRATING_STATES, MIGRATION_JOB_NAME, TERMINAL_JOB_STATES, bulk_entry,
    bulk_failures, bulk_summary, call_job_uuid, destination_problem, in_condition_safe, is_uuid,
    job_failure_code, job_failure_message, label, match_vms, name_moves, named, next_call_uuid, plan_ps_migration,
    ps_migration_body, ps_migration_diff, ps_migration_message, query_value_problem, running_migration_conditions,
    running_migrations_by_vm, volume_placement, volumes_moved, volumes_not_moved)

OPERATION = zstack.PRIMARY_STORAGE_MIGRATE_VM
MAX_WAITS = 3  # migrations of the same VM by others, waited for one after another
POLL_FIELDS = "uuid,apiId,state"  # what the poller needs of each LongJob
START_TIMEOUT = 60  # wait=false: how long to wait for ZStack to show the LongJob of the call it accepted
NAME_OPTIONS = (("vm", "VM"), ("target_primary_storage", "primary storage"), ("target_host", "host"))


class ZstackPsMigrate(MigrationModule):
    connection = zstack.CONNECTION
    argument_spec = dict(
        vm=dict(type="str"),
        vms=dict(type="list", elements="str"),
        parallel=dict(type="int", default=8),
        target_primary_storage=dict(type="str", required=True),
        with_data_volumes=dict(type="bool", default=True),
        with_snapshots=dict(type="bool", default=True),
        target_host=dict(type="str"),
        strategy=dict(type="str", choices=["auto-converge", "no-converge"]),
        down_time=dict(type="int"),
        bandwidth=dict(type="int"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=86400),
    )
    module_kwargs = dict(mutually_exclusive=[["vm", "vms"]], required_one_of=[["vm", "vms"]])
    ranges = {"down_time": (0, None), "bandwidth": (0, None), "timeout": (1, None), "parallel": (1, 64)}

    def run(self):
        if self.params["vms"] is not None:
            return self.run_bulk()
        p = self.params
        self.deadline = Deadline(p["timeout"], self.client.clock)
        self.result.update(vm=None, moved_volumes=[], mode=None, job_uuid=None, long_job_uuid=None,
                           target_primary_storage=None, target_host=None)

        vm = self.client.resolve("vm-instances", p["vm"], "VM", "vm")
        dst = self.client.resolve("primary-storage", p["target_primary_storage"], "primary storage", "target_primary_storage")
        host = self.client.resolve("hosts", p["target_host"], "host", "target_host") if p["target_host"] else None
        problem = destination_problem(dst, host, bool(p["target_host"]))
        if problem:
            self.fail_parameter(*problem)
        self.resource = "VM '%s' (%s)" % (vm.get("name"), vm["uuid"])
        self.result.update(target_primary_storage=named(dst), target_host=named(host))
        self.storages = {dst["uuid"]: dst}

        plan = self.plan(vm, dst["uuid"])
        for dummy in range(MAX_WAITS):
            if plan["action"] != "wait" or self.check_mode or not p["wait"]:
                break
            self.wait_for_running_migration(vm, plan)
            vm = self.read_vm(vm["uuid"])
            plan = self.plan(vm, dst["uuid"])
        self.result.update(vm=vm, mode=plan["mode"])
        if plan["action"] == "blocked":
            raise ConflictError(plan["reason"], operation=OPERATION, resource=self.resource)
        if plan["volumes"]:  # the names of the primary storages the volumes leave (one query)
            self.storages.update(self.client.existing("primary-storage", [m["from"] for m in plan["volumes"]]))
            plan["volumes"] = name_moves(plan["volumes"], self.storages)
        self.result["moved_volumes"] = plan["volumes"]
        if plan["action"] == "wait":  # check mode, wait=false, or still busy after MAX_WAITS
            self.result.update(moved_volumes=[], long_job_uuid=plan.get("running_job"))
            if p["wait"] and not self.check_mode:
                raise ConflictError("still busy after waiting for %d migrations: %s" % (MAX_WAITS, plan["reason"]),
                                    operation=OPERATION, resource=self.resource)
            self.warn("a storage migration of %s is under way (%s); not starting another" % (self.resource, plan["reason"]))
            self.result["msg"] = ps_migration_message(vm, plan, dst, None)
            return
        if plan["action"] == "none":
            self.result["msg"] = ps_migration_message(vm, plan, dst, None)
            return

        self.result["changed"] = True
        if self.diff_mode:
            self.result["diff"] = ps_migration_diff(vm, plan["volumes"], self.storages)
        if self.check_mode:
            self.result["msg"] = ps_migration_message(vm, plan, dst, "would move")
            return
        body = ps_migration_body(dst["uuid"], p["with_data_volumes"], p["with_snapshots"],
                                 host["uuid"] if host else None, p["strategy"], p["down_time"], p["bandwidth"])
        path = "%s/vm-instances/%s/actions" % (zstack.API, zstack.quote_segment(vm["uuid"]))
        # Derived from the VM, the call and where its volumes are: a re-run right after a killed one
        # finds that run's call still being processed by ZStack (see DOCUMENTATION) and adopts it.
        self.call_uuid = call_job_uuid(OPERATION, vm["uuid"], body, [[m["uuid"], m["from"]] for m in plan["volumes"]])
        try:
            if not p["wait"]:
                job = self.client.submit("PUT", path, body, OPERATION, self.resource, self.call_uuid)
                self.result["job_uuid"] = job.uuid
                self.result["long_job_uuid"] = self.started(job, vm["uuid"])
                self.result["msg"] = ps_migration_message(vm, plan, dst, "started moving")
                return
            self.result["vm"] = self.migrate(path, body, vm["uuid"], plan["volumes"])
            self.result["msg"] = ps_migration_message(vm, plan, dst, "moved")
        except MigrationError as error:
            self.report_failure(error, vm["uuid"], plan["volumes"])
            raise

    def validate(self):
        """Names ZStack's query syntax cannot express are rejected (it has no escape); see DOCUMENTATION."""
        for option, kind in NAME_OPTIONS:
            value = self.params[option]
            if value is None:
                continue
            self.check_name(option, value, "%s uuid or name" % kind)
            problem = None if is_uuid(value) else query_value_problem(value)
            if problem:
                self.fail_parameter(option, "%s (got %r)" % (problem, value))
        if self.params["vms"] is not None:
            if not self.params["vms"]:
                self.fail_parameter("vms", "must list at least one VM")
            problems = []
            for value in self.params["vms"]:
                self.check_name("vms", value, "VM uuid or name")
                problem = None if is_uuid(value) else query_value_problem(value)
                if problem:
                    problems.append("%r %s" % (value, problem))
            if problems:
                self.fail_parameter("vms", "; ".join(problems))

    # -- reading and planning ----------------------------------------------------------------------
    def plan(self, vm, dst_uuid):
        running = self.client.query("longjobs", running_migration_conditions(vm["uuid"]))
        return plan_ps_migration(vm, self.volumes_of(vm), dst_uuid, self.params["with_data_volumes"], running)

    def volumes_of(self, vm):
        if isinstance(vm.get("allVolumes"), list):
            return vm["allVolumes"]
        return self.client.query("volumes", ["vmInstanceUuid=%s" % vm["uuid"]])

    def read_vm(self, vm_uuid):
        vm = self.client.get_inventory("vm-instances", vm_uuid)
        if vm is None:
            raise NotFoundError("the VM disappeared", operation=OPERATION, resource=self.resource)
        return vm

    def long_job_of(self, api_job_uuid):
        jobs = self.client.query("longjobs", ["apiId=%s" % api_job_uuid])
        return jobs[0]["uuid"] if jobs else None

    # -- waiting and applying ----------------------------------------------------------------------
    def started(self, job, vm_uuid):
        """wait=false: the migration's LongJob uuid, once ZStack has processed the call (it does so after
        the 202, api/zstack.md section 5), waited for up to START_TIMEOUT. Raises the api-job's error
        when ZStack refused the call meanwhile; None when it ended at once (nothing to move) or
        shows no LongJob in time (with a warning naming the api-job)."""
        def look():
            found = self.long_job_of(job.uuid)
            if not found:  # its apiId need not be our X-Job-UUID
                running = self.client.query("longjobs", running_migration_conditions(vm_uuid))
                found = running[0]["uuid"] if running else None
            if found:
                return found
            return "" if self.client.poll(job) is not None else None  # ended without a LongJob

        try:
            return wait_for(look, min(START_TIMEOUT, self.deadline.remaining()), backoff=self.client.poll_backoff,
                            clock=self.client.clock, what="the migration's LongJob") or None
        except WaitTimeoutError:
            self.warn("ZStack accepted the migration (api-job %s) but shows no LongJob for it yet; follow the "
                      "api-job, or run again with wait=true" % job.uuid)
            return None

    def wait_for_running_migration(self, vm, plan):
        """Wait for the migration already under way: its LongJob, or else the VM's transitional state."""
        self.result["long_job_uuid"] = plan["running_job"]
        if plan["running_job"]:
            self.client.wait_longjob(plan["running_job"], self.deadline.remaining())
            return
        self.wait_for_vm_to_settle(vm["uuid"])

    def wait_for_vm_to_settle(self, vm_uuid):
        """Wait until the VM is no longer Migrating/VolumeMigrating."""
        def settled():
            state = self.read_vm(vm_uuid).get("state")
            return state if state not in MIGRATING_STATES else None

        wait_for(settled, self.deadline.remaining(), backoff=self.client.poll_backoff, clock=self.client.clock,
                 what="the migration under way of %s" % self.resource)

    def migrate(self, path, body, vm_uuid, moves):
        """Submit, wait, verify; return the VM inventory after the migration."""
        try:
            job, answer = self.client.call_async("PUT", path, body, OPERATION, self.resource, self.deadline.remaining(),
                                                 self.call_uuid)
            self.result["job_uuid"] = job.uuid
            vm = (answer or {}).get("inventory") or self.read_vm(vm_uuid)
        except WaitTimeoutError as error:
            self.result["job_uuid"] = self.client.last_job.uuid
            self.result["long_job_uuid"] = self.long_job_of(self.client.last_job.uuid)
            error.message = "%s (timeout %s); the migration goes on in ZStack (LongJob %s)" % (
                error.message, format_seconds(self.params["timeout"]), self.result["long_job_uuid"])
            raise
        except (JobFailedError, ApiError, TransportError) as error:
            # No clear answer from the api-job: SYS.1001 (timed out while the LongJob may go on),
            # 404 (its result was purged), or its polls went unanswered (lost, 5xx). The LongJob and
            # the VM tell.
            if isinstance(error, JobFailedError) and error.code != "SYS.1001":
                raise
            if isinstance(error, ApiError) and not isinstance(error, NotFoundError) and (error.status or 0) < 500:
                raise
            if self.client.last_job.accepted is False:
                raise  # certainly never reached ZStack: the submit's error says so
            self.result["job_uuid"] = self.client.last_job.uuid
            vm, long_job_uuid = self.recover(vm_uuid)
            missing = volumes_not_moved(self.volumes_of(vm), moves)
            if missing and not long_job_uuid:  # the VM settled with volumes left behind: the api-job's word stands
                error.message = ("%s; no migration LongJob was found and volume(s) %s are not on the destination"
                                 % (error.message, ", ".join(m["uuid"] for m in missing)))
                raise
        self.result["long_job_uuid"] = self.result["long_job_uuid"] or self.long_job_of(self.result["job_uuid"])
        missing = volumes_not_moved(self.volumes_of(vm), moves)
        if missing:
            raise JobFailedError("the migration ended but volume(s) %s are not on the destination"
                                 % ", ".join(m["uuid"] for m in missing), operation=OPERATION, resource=self.resource)
        return vm

    def recover(self, vm_uuid):
        """The api-job's answer is lost or timed out: the LongJob, else the VM's state, tell how the migration ended.

        The LongJob is found by its apiId (our X-Job-UUID) or else as the migration of this VM
        under way; without one, the VM is waited for until it leaves Migrating/VolumeMigrating.
        Raises JobFailedError when the LongJob did not succeed; returns (VM inventory, LongJob uuid or None).
        """
        long_job_uuid = self.long_job_of(self.client.last_job.uuid)
        if not long_job_uuid:
            running = self.client.query("longjobs", running_migration_conditions(vm_uuid))
            long_job_uuid = running[0]["uuid"] if running else None
        if not long_job_uuid:
            self.wait_for_vm_to_settle(vm_uuid)
            return self.read_vm(vm_uuid), None
        self.result["long_job_uuid"] = long_job_uuid
        job = self.client.wait_longjob(long_job_uuid, self.deadline.remaining())
        if job.get("state") != "Succeeded":
            raise JobFailedError("the migration LongJob %s ended %s: %s" % (
                long_job_uuid, job.get("state"), job_failure_message(job)),
                operation=OPERATION, resource=self.resource, code=job_failure_code(job))
        return self.read_vm(vm_uuid), long_job_uuid

    def report_failure(self, error, vm_uuid, moves):
        """Make a failed result true: read the VM and its migration again, whatever the failure was.

        ``changed`` is true only when a volume moved or a migration this run started is still
        under way; ``moved_volumes`` lists only volumes now on the destination. The message gets
        the api-job and what ZStack shows now (or that it could not be read).
        """
        job = self.client.last_job
        self.result["job_uuid"] = job.uuid if job is not None and job.accepted is not False else None
        self.result.update(changed=False, moved_volumes=[])
        if job is None or job.accepted is False:
            self.result.pop("diff", None)  # nothing was started: the submit's own error says why
            return
        try:
            vm = self.read_vm(vm_uuid)
            long_job_uuid = self.result["long_job_uuid"] or self.long_job_of(job.uuid)
            long_job = self.client.get_longjob(long_job_uuid) if long_job_uuid else None
        except MigrationError as read_error:
            error.message = ("%s; api-job %s %s, and the migration's state could not be read (%s); a re-run "
                             "finds a migration under way or done and does not start another"
                             % (error.message, job.uuid, "was accepted by ZStack" if job.accepted
                                else "may have reached ZStack", read_error))
            self.result["changed"] = bool(job.accepted)  # accepted, and no later word that it did nothing
            return
        volumes = self.volumes_of(vm)
        moved = volumes_moved(volumes, moves)
        if "diff" in self.result:  # what is, not what was planned
            self.result["diff"]["after"] = ps_migration_diff(vm, moves, self.storages, volume_placement(volumes))["after"]
        job_state = long_job.get("state") if long_job else None
        under_way = job_state in ACTIVE_JOB_STATES or vm.get("state") in MIGRATING_STATES
        self.result.update(vm=vm, moved_volumes=moved, long_job_uuid=long_job_uuid, changed=bool(moved) or under_way)
        now = "now: VM state %s, %d of %d volume(s) on the destination" % (vm.get("state"), len(moved), len(moves))
        if long_job_uuid:
            now += ", LongJob %s %s" % (long_job_uuid, job_state or "gone")
        if job.uuid not in error.message:
            now = "api-job %s; %s" % (job.uuid, now)
        error.message = "%s (%s)" % (error.message, now)

    # -- many VMs in one task (vms) ------------------------------------------------------------------
    def run_bulk(self):
        """Plan every VM of ``vms`` from batched reads, then migrate with at most ``parallel`` in flight
        and one poller for all of them; each VM's outcome from its state read again after its job."""
        p = self.params
        self.deadline = Deadline(p["timeout"], self.client.clock)
        self.result.update(vms=[], target_primary_storage=None, target_host=None)
        dst = self.client.resolve("primary-storage", p["target_primary_storage"], "primary storage", "target_primary_storage")
        host = self.client.resolve("hosts", p["target_host"], "host", "target_host") if p["target_host"] else None
        problem = destination_problem(dst, host, bool(p["target_host"]))
        if problem:
            self.fail_parameter(*problem)
        self.dst, self.host = dst, host
        self.result.update(target_primary_storage=named(dst), target_host=named(host))

        vms = self.read_vms(p["vms"])
        volumes = self.volumes_by_vm(vms)
        running = running_migrations_by_vm(
            self.client.query_all("longjobs", ["jobName=%s" % MIGRATION_JOB_NAME, "state?=%s" % ",".join(ACTIVE_JOB_STATES)]),
            [vm["uuid"] for vm in vms])
        all_moves = {vm["uuid"]: plan_ps_migration(vm, volumes[vm["uuid"]], dst["uuid"], p["with_data_volumes"])["volumes"]
                     for vm in vms}
        self.storages = {dst["uuid"]: dst}
        self.storages.update(self.client.existing("primary-storage", [m["from"] for ms in all_moves.values() for m in ms]))

        self.work = []
        for vm in vms:
            plan = plan_ps_migration(vm, volumes[vm["uuid"]], dst["uuid"], p["with_data_volumes"], running.get(vm["uuid"], []))
            moves = name_moves(all_moves[vm["uuid"]], self.storages)
            entry = bulk_entry(vm, dict(plan, volumes=moves), dst, self.storages)
            work = {"vm": vm, "entry": entry, "moves": moves, "state": "queued", "job": None, "long_job": None,
                    "watch": None, "waits": 0, "submitted": False, "failure": None, "ends": 0}
            self.work.append(work)
            self.result["vms"].append(entry)
            if plan["action"] == "none":
                entry["outcome"], work["state"] = "unchanged", "done"
            elif plan["action"] == "blocked":
                entry.update(outcome="failed", error=plan["reason"])
                work["state"] = "done"
            elif plan["action"] == "wait":
                found = running.get(vm["uuid"]) or [{}]
                entry.update(outcome="in_progress", jobs=[plan["running_job"]] if plan["running_job"] else [])
                work.update(state="running", long_job=plan["running_job"], watch="longjob" if plan["running_job"] else "vm",
                            started=self.client.clock.now(), api_id=found[0].get("apiId"))
                entry["started"] = time.time()
            elif self.check_mode:
                entry.update(outcome=CHECK_OUTCOMES["migrate"], moved_volumes=moves)
                work["state"] = "done"
        if self.diff_mode:
            self.result["diff"] = self.bulk_diff([w for w in self.work if w["moves"] and w["entry"]["outcome"] != "unchanged"
                                                  and w["entry"]["outcome"] != "failed"])
        if not self.check_mode:
            self.migrate_all()
        self.bulk_result()

    def read_vms(self, items):
        """The VMs ITEMS name (uuids or names) with a few batched queries; fails naming ``vms`` on any
        item that matches no VM, several, or a VM named twice, before anything is sent."""
        uuids = [i for i in items if is_uuid(i)]
        names = [i for i in items if not is_uuid(i) and in_condition_safe(i)]
        found = self.client.query_in("vm-instances", "uuid", uuids) if uuids else []
        # a uuid-looking item that is no VM's uuid may still be a name
        missing = set(uuids) - set(vm.get("uuid") for vm in found)
        names += sorted(missing)
        if names:
            found += self.client.query_in("vm-instances", "name", names)
        for item in items:  # a name with a comma cannot travel in a ?= list: one query each
            if not is_uuid(item) and not in_condition_safe(item):
                found += self.client.query("vm-instances", ["name=%s" % item])
        unique = {vm["uuid"]: vm for vm in found if isinstance(vm, dict) and vm.get("uuid")}
        vms, problems = match_vms(items, list(unique.values()))
        if problems:
            self.fail_parameter("vms", "; ".join(problems))
        return vms

    def volumes_by_vm(self, vms):
        """{vm uuid: its volumes}: from the VM inventories (allVolumes), else one batched volume query."""
        volumes = {vm["uuid"]: vm["allVolumes"] for vm in vms if isinstance(vm.get("allVolumes"), list)}
        missing = [vm["uuid"] for vm in vms if vm["uuid"] not in volumes]
        if missing:
            for volume in self.client.query_in("volumes", "vmInstanceUuid", missing):
                volumes.setdefault(volume.get("vmInstanceUuid"), []).append(volume)
        return {vm["uuid"]: volumes.get(vm["uuid"], []) for vm in vms}

    def bulk_diff(self, works, placement=None):
        before, after = {}, {}
        for work in works:
            diff = ps_migration_diff(work["vm"], work["moves"], self.storages,
                                     placement.get(work["vm"]["uuid"]) if placement else None)
            before[label(work["vm"])] = diff["before"]["volumes"]
            after[label(work["vm"])] = diff["after"]["volumes"]
        return {"before": {"vms": before}, "after": {"vms": after}}

    def body(self):
        p = self.params
        return ps_migration_body(self.dst["uuid"], p["with_data_volumes"], p["with_snapshots"],
                                 self.host["uuid"] if self.host else None, p["strategy"], p["down_time"], p["bandwidth"])

    def in_flight(self):
        return [w for w in self.work if w["state"] == "running"]

    def migrate_all(self):
        """Submit up to ``parallel`` at a time and follow them all with one poller (batched reads)."""
        p = self.params
        clock = self.client.clock

        def ages():
            now = clock.now()
            return [now - w["started"] for w in self.in_flight()]

        def round_():
            self.observe()
            self.submit_some()  # right after: a slot freed in this round is filled now, not a round later
            if not p["wait"]:  # started (or found running), and ZStack shows their LongJobs
                if all(w["long_job"] or w["watch"] == "vm" for w in self.in_flight()):
                    return True
                return None
            return True if not any(w["state"] in ("queued", "running", "ending") for w in self.work) else None

        timeout = self.deadline.remaining() if p["wait"] else min(START_TIMEOUT, self.deadline.remaining())
        try:
            wait_for(round_, timeout, backoff=zstack.FleetBackoff(ages, self.client.poll_backoff), clock=clock,
                     what="the migrations")
        except WaitTimeoutError:
            if p["wait"]:
                for work in self.in_flight():
                    work["entry"]["error"] = ("still running at the deadline (timeout %s); it goes on in ZStack and "
                                              "a re-run adopts it" % format_seconds(p["timeout"]))
        pending = [w for w in self.work if w["state"] == "ending"]
        if pending:  # ended before the deadline: decided like the others
            self.decide(pending)
        for work in self.work:
            if work["state"] == "queued":
                work["entry"]["outcome"] = "not_started"
                if p["wait"]:
                    work["entry"]["error"] = "not started before the deadline (timeout %s)" % format_seconds(p["timeout"])

    def submit_some(self):
        """Start queued migrations while fewer than ``parallel`` run (adopted ones count)."""
        room = self.params["parallel"] - len(self.in_flight())
        body = self.body()
        for work in [w for w in self.work if w["state"] == "queued"][:max(room, 0)]:
            vm, entry = work["vm"], work["entry"]
            resource = "VM '%s' (%s)" % (vm.get("name"), vm["uuid"])
            path = "%s/vm-instances/%s/actions" % (zstack.API, zstack.quote_segment(vm["uuid"]))
            # Derived from the VM, the call and where its volumes are: a killed run's call that ZStack is
            # still processing is found (202 on its api-job) and adopted, never sent twice.
            call_uuid = call_job_uuid(OPERATION, vm["uuid"], body, [[m["uuid"], m["from"]] for m in work["moves"]])
            if work.get("after"):  # an identical call adopted, ended, and the VM still to move: the next one
                call_uuid = next_call_uuid(work["after"])
            work.update(started=self.client.clock.now(), long_job=None, watch="job", failed_job=None, failure=None)
            entry["started"] = entry["started"] or time.time()
            try:
                # The plan may be older than a call that ended meanwhile: one that succeeded is adopted
                # (decide reads the VM again) rather than followed by another call.
                job = self.client.submit("PUT", path, body, OPERATION, resource, call_uuid, adopt_ended=True)
            except MigrationError as error:
                job = self.client.last_job
                if job is not None and job.accepted is None:  # may have reached ZStack: the VM will tell
                    work.update(state="running", job=None, watch="vm", submitted=True, failure=error)
                    continue
                entry.update(outcome="failed", error=self.error_text(error), ended=time.time())
                work["state"] = "done"
                continue
            work.update(state="running", job=job, api_id=job.uuid, submitted=work["submitted"] or not job.adopted)
            if job.adopted:
                entry["outcome"] = "adopted"
            entry["jobs"].append(job.uuid)

    def observe(self):
        """One round of the poller: one batched read of the LongJobs answers for every migration in flight.

        Each migration is followed by the apiId of its LongJob (our X-Job-UUID, or the apiId of a job
        found running), so one ``apiId?=`` query links new jobs and tells every state at once."""
        running = self.in_flight()
        followed = [w for w in running if w["watch"] in ("job", "longjob") and w.get("api_id")]
        by_api = {}
        if followed:
            # the few fields that tell; a failed job's jobResult is read apart (job_state)
            jobs = self.client.query_in("longjobs", "apiId", [w["api_id"] for w in followed], fields=POLL_FIELDS)
            by_api = {j.get("apiId"): j for j in jobs}
        ended = []
        lost = [w for w in running if w["watch"] == "longjob" and not w.get("api_id")]  # a job without apiId
        for work in followed:
            job = by_api.get(work["api_id"])
            if job is None:
                if work["watch"] == "longjob":  # its apiId changed (rerun) or the job is gone: by uuid below
                    lost.append(work)
                continue
            if not work["long_job"]:
                work["entry"]["jobs"].append(job["uuid"])
            work.update(long_job=job["uuid"], watch="longjob")
            self.job_state(work, job, ended)
        if lost:
            found = self.client.query_in("longjobs", "uuid", [w["long_job"] for w in lost], fields=POLL_FIELDS)
            jobs = {j["uuid"]: j for j in found}
            for work in lost:
                self.job_state(work, jobs.get(work["long_job"]), ended)
        failed = [w for w in ended if w.get("failed_job")]
        if failed:  # why they failed: their jobResult (one query)
            jobs = {j["uuid"]: j for j in self.client.query_in("longjobs", "uuid", [w["failed_job"] for w in failed])}
            for work in failed:
                job = jobs.get(work["failed_job"]) or {"uuid": work["failed_job"], "state": "Failed"}
                work["failure"] = JobFailedError("the migration LongJob %s ended %s: %s" % (
                    job["uuid"], job.get("state"), job_failure_message(job)), operation=OPERATION,
                    code=job_failure_code(job))
        unlinked = [w for w in running if w["watch"] == "job"]
        for work in [w for w in unlinked if w["watch"] == "job"]:
            # No LongJob (yet): ZStack has not processed the call, or ended it without one (nothing to
            # move, or refused it). Its api-job tells; a run of many VMs rarely gets here.
            try:
                if self.client.poll(work["job"]) is not None:
                    ended.append(work)
            except zstack.JobRejectedSession:  # the session died before ZStack ran it: nothing ran
                work.update(state="queued", job=None, watch=None)
            except JobFailedError as error:
                if error.code == "SYS.1001":  # the message timed out; the migration may go on: the VM tells
                    work["watch"] = "vm"
                else:
                    work["failure"] = error
                    ended.append(work)
            except (ApiError, TransportError) as error:  # no clear answer: the VM's state tells
                work.update(watch="vm", failure=None)
                work["unclear"] = error
        watched = [w for w in running if w["watch"] == "vm" and w["state"] == "running"]
        if watched:
            states = {vm["uuid"]: vm.get("state") for vm in self.client.query_in("vm-instances", "uuid", [w["vm"]["uuid"] for w in watched])}
            if any(states.get(w["vm"]["uuid"]) in MIGRATING_STATES for w in watched):  # a job found after all?
                by_vm = running_migrations_by_vm(self.client.query_all("longjobs", [
                    "jobName=%s" % MIGRATION_JOB_NAME, "state?=%s" % ",".join(ACTIVE_JOB_STATES)]), list(states))
            else:
                by_vm = {}
            for work in watched:
                uuid_ = work["vm"]["uuid"]
                if by_vm.get(uuid_):
                    work.update(long_job=by_vm[uuid_][0]["uuid"], watch="longjob", api_id=by_vm[uuid_][0].get("apiId"))
                    work["entry"]["jobs"].append(work["long_job"])
                elif states.get(uuid_) not in MIGRATING_STATES:
                    ended.append(work)
        for work in ended:  # its slot is free now; its VM is read again with others (decide)
            work["state"] = "ending"
        pending = [w for w in self.work if w["state"] == "ending"]
        idle = not any(w["state"] in ("queued", "running") for w in self.work)
        if pending and (idle or len(pending) >= self.params["parallel"] or not self.params["wait"]):
            self.decide(pending)

    @staticmethod
    def job_state(work, job, ended):
        """Add WORK to ENDED when its LongJob JOB ended (or is gone); a job that did not succeed is its failure."""
        if job is None or job.get("state") in TERMINAL_JOB_STATES:
            work["failed_job"] = job["uuid"] if job is not None and job.get("state") != "Succeeded" else None
            ended.append(work)

    def decide(self, ended):
        """Each ended migration's outcome from its VM read again (one query for all of them)."""
        fresh = {vm["uuid"]: vm for vm in self.client.query_in("vm-instances", "uuid", [w["vm"]["uuid"] for w in ended])}
        volumes = self.volumes_by_vm(list(fresh.values()))
        for work in ended:
            vm_uuid, entry = work["vm"]["uuid"], work["entry"]
            work["ends"] += 1
            vm = fresh.get(vm_uuid)
            if vm is None:
                entry.update(outcome="failed", error="the VM disappeared", ended=time.time())
                work["state"] = "done"
                continue
            vols = volumes[vm_uuid]
            plan = plan_ps_migration(vm, vols, self.dst["uuid"], self.params["with_data_volumes"])
            moved = volumes_moved(vols, work["moves"])
            entry.update(moved_volumes=moved, mode=entry["mode"] or plan["mode"])
            work["vm"] = vm
            failure = work["failure"]
            if plan["action"] == "wait" and work["ends"] <= MAX_WAITS:  # still settling: watch the VM
                work.update(state="running", watch="vm", job=None, long_job=None)
                continue
            if failure is None and plan["action"] == "none":
                entry.update(outcome="adopted" if not work["submitted"] or entry["outcome"] == "adopted" else "migrated",
                             error="", ended=time.time())
                work["state"] = "done"
            elif failure is None and not work["submitted"] and plan["action"] == "migrate" and work["ends"] <= MAX_WAITS:
                if work["job"] is not None and work["job"].adopted:  # that call's uuid is taken: the next one
                    work["after"] = work["job"].uuid
                work.update(state="queued", job=None, long_job=None, watch=None)  # someone else's move ended: ours now
                entry["outcome"] = None
            else:
                if failure is None:
                    missing = volumes_not_moved(vols, work["moves"]) or plan["volumes"]
                    failure = JobFailedError("the migration ended but volume(s) %s are not on the destination" % ", ".join(
                        label({"name": m.get("name"), "uuid": m["uuid"]}) for m in missing), operation=OPERATION)
                entry.update(outcome="failed", error=self.error_text(failure), ended=time.time())
                work["state"] = "done"

    @staticmethod
    def error_text(error):
        """The API's error code and message, for one VM's entry."""
        code = getattr(error, "code", None)
        message = getattr(error, "api_message", None) or getattr(error, "message", None) or str(error)
        return "%s: %s" % (code, message) if code and not str(message).startswith(code) else str(message)

    def bulk_result(self):
        entries = self.result["vms"]
        p = self.params
        for work in self.work:
            if work["state"] == "running" and work["entry"]["outcome"] in (None, "adopted", "migrated"):
                work["entry"]["outcome"] = "in_progress"
        started = any(w["submitted"] and w["entry"]["outcome"] in ("migrated", "in_progress") for w in self.work)
        moved = any(e["moved_volumes"] for e in entries if e["outcome"] in ("migrated", "failed", "in_progress"))
        would = any(e["outcome"] == "would migrate" for e in entries)
        self.result["changed"] = bool(started or moved or would)
        if self.diff_mode and not self.check_mode and "diff" in self.result:
            placement = {w["vm"]["uuid"]: volume_placement(w["vm"].get("allVolumes") or []) for w in self.work
                         if w["state"] == "done" and w["moves"]}
            self.result["diff"] = self.bulk_diff([w for w in self.work if w["moves"] and w["vm"]["uuid"] in placement
                                                  and w["entry"]["outcome"] in ("migrated", "failed")], placement)
        summary = "%s to %s" % (bulk_summary(entries), label(self.dst))
        unfinished = ("not_started", "in_progress") if p["wait"] and not self.check_mode else ()
        failed = [e for e in entries if e["outcome"] == "failed" or e["outcome"] in unfinished]
        if failed:
            raise JobFailedError("%d of %d VM(s) failed: %s (%s)" % (
                len(failed), len(entries), bulk_failures(failed, ("failed", "not_started", "in_progress")), summary),
                operation=OPERATION)
        self.result["msg"] = ("would: " if self.check_mode else "") + summary


def main():
    ZstackPsMigrate().execute()


if __name__ == "__main__":
    main()
