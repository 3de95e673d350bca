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
    after accepting it, so for a moment neither a LongJob nor the VM's state shows it; a run that finds
    that api-job still running (an earlier, interrupted run's call) waits for it instead of sending the
    call again. When that api-job ended long ago (the same move made before), the call gets a new uuid.
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
    type: str
    required: true
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
vm:
  description: The VM inventory after the migration (before it, in check mode or with O(wait=false)).
  returned: always
  type: dict
  sample: {"uuid": "f0f7aed586e55a32bd0ee16379608c2b", "name": "web-01", "state": "Running",
           "allVolumes": [{"uuid": "8b120ff104995319b2edf6290476be9d", "type": "Root",
                           "primaryStorageUuid": "d15c3212fc5f5afc9474febc3deed380"}]}
moved_volumes:
  description:
    - The volumes this run moved (or would move in check mode, or is moving with O(wait=false)).
    - Empty when nothing had to move.
    - On failure, only the volumes that ZStack shows on the destination when the module read it again.
  returned: always
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
  returned: always
  type: str
  sample: live
job_uuid:
  description:
    - The api-job (C(X-Job-UUID)) of the migration this run started; null when it started none
      (also on failure, when ZStack never accepted the call).
  returned: always
  type: str
  sample: b3e031bde29b46dd924aed1059fce57c
long_job_uuid:
  description:
    - The LongJob of the migration this run started or waited for, when ZStack shows one.
    - Use it with M(hybridcloud.migration.zstack_longjob_info).
  returned: always
  type: str
  sample: 46574bd4623d4e1c9c1e150a1bc829f5
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import zstack
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ApiError, ConflictError, JobFailedError, MigrationError, NotFoundError, TransportError, WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline, format_seconds, wait_for
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import (
    ACTIVE_JOB_STATES, MIGRATING_STATES, call_job_uuid, destination_problem, is_uuid, job_failure_code, job_failure_message,
    name_moves, named, plan_ps_migration, ps_migration_body, ps_migration_diff, ps_migration_message, query_value_problem,
    running_migration_conditions, volume_placement, volumes_moved, volumes_not_moved)

OPERATION = zstack.PRIMARY_STORAGE_MIGRATE_VM
MAX_WAITS = 3  # migrations of the same VM by others, waited for one after another
START_TIMEOUT = 60  # wait=false: how long to wait for ZStack to show the LongJob of the call it accepted
NAME_OPTIONS = (("vm", "VM"), ("target_primary_storage", "primary storage"), ("target_host", "host"))


class ZstackPsMigrate(MigrationModule):
    connection = zstack.CONNECTION
    argument_spec = dict(
        vm=dict(type="str", required=True),
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
    ranges = {"down_time": (0, None), "bandwidth": (0, None), "timeout": (1, None)}

    def run(self):
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


def main():
    ZstackPsMigrate().execute()


if __name__ == "__main__":
    main()
