# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting for many vSphere tasks at once (nsx.md 6.7): bounded parallel starts, one watcher for all.

``run_tasks(client, jobs, parallel, timeout)`` starts the jobs with at most PARALLEL in flight and
reports every task's outcome; ``TaskWaiter`` is the one private PropertyCollector behind it;
``run_rounds`` runs jobs on several vCenters and then adopts what a lost answer left running.
"""

from __future__ import annotations

import math

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff, Clock, format_seconds, wait_for
from ansible_collections.hybridcloud.migration.plugins.module_utils.vsphere import HAS_PYVMOMI, fault_message

if HAS_PYVMOMI:
    from pyVmomi import vim, vmodl


def run_tasks(client, jobs, parallel, timeout, clock=None, max_wait=30):
    """Start JOBS on CLIENT (a VSphere) with at most PARALLEL tasks in flight; wait for every one; report every outcome.

    JOBS: [(key, start)] where ``start()`` returns a vim.Task, or ``start`` IS a vim.Task already
    running (adopted: a relocation an earlier, interrupted run started; waited for, never restarted).
    Returns {key: {"state": "success"|"error"|"timeout"|"not_started"|"unknown", "error": message|None,
    "task": task id|None}}. One private PropertyCollector watches all tasks (``TaskWaiter``: no call
    per task besides its start); no failure stops the others, whatever its type: an exception from
    one start (a dropped connection raises http.client errors, not vmodl faults) is that job's
    "error", and a watch that breaks leaves its tasks "unknown". The caller decides from the real
    state afterwards. TIMEOUT (seconds, None: no limit) bounds the whole run; tasks still running
    then are "timeout", with their task id.
    """
    waiter = TaskWaiter(client, max_wait=max_wait)
    outcomes, in_flight = {}, {}
    pending = list(jobs)
    clock = clock or Clock()
    deadline = None if timeout is None else clock.now() + timeout
    broken = None
    try:
        # Adopted tasks first: they are running already and count against PARALLEL.
        for key, start in [job for job in pending if not callable(job[1])]:
            in_flight[start._moId] = key
            waiter.adopt(start)
        pending = [job for job in pending if callable(job[1])]
        while pending or in_flight:
            # Fill every free slot before waiting: one wait then serves all of them.
            while pending and len(in_flight) < max(1, parallel) and (deadline is None or clock.now() < deadline):
                key, start = pending.pop(0)
                try:
                    task = start()
                except Exception as exc:  # pylint: disable=broad-except  # any start failure is that job's alone
                    outcomes[key] = {"state": "error", "error": _describe(exc), "task": None}
                    continue
                in_flight[task._moId] = key
                waiter.add(task)
            if not in_flight:
                break

            # The blocking happens inside WaitForUpdatesEx (at most max_wait per call); wait_for only
            # repeats it until something finished and enforces the deadline, hence the tiny backoff.
            def check():
                remaining = None if deadline is None else deadline - clock.now()
                return waiter.wait(remaining) or None
            try:
                done = wait_for(check, None if deadline is None else max(deadline - clock.now(), 0),
                                backoff=Backoff(initial=0.01, factor=1.0, maximum=0.01, jitter=0), clock=clock,
                                what="%d vSphere tasks" % len(in_flight))
            except _errors.WaitTimeoutError:
                break
            except Exception as exc:  # pylint: disable=broad-except  # the caller re-reads the real state
                broken = _describe(exc)
                break
            for task_id, state, error in done:
                key = in_flight.pop(task_id, None)
                if key is not None:
                    outcomes[key] = {"state": state, "error": error, "task": task_id}
    finally:
        try:
            waiter.close()
        except Exception:  # pylint: disable=broad-except  # the collector dies with the session anyway
            pass
    for task_id, key in in_flight.items():
        if broken:
            outcomes[key] = {"state": "unknown", "error": "watching task %s failed: %s" % (task_id, broken), "task": task_id}
        else:
            outcomes[key] = {"state": "timeout", "task": task_id,
                             "error": "task %s still running after %s" % (task_id, format_seconds(timeout))}
    for key, start in pending:
        outcomes[key] = {"state": "not_started", "task": None,
                         "error": "not started: the %s timeout was reached" % format_seconds(timeout)}
    return outcomes


def start_tasks(client, jobs):
    """Start JOBS on CLIENT without waiting (a module's ``wait: false``): {key: {"state", "error", "task"}}.

    "started" (with the task id), "running" (an adopted task, not started again) or "error" (the
    start failed; the caller re-reads, since a lost answer may still have started it).
    """
    outcomes = {}
    for key, start in jobs:
        if not callable(start):
            outcomes[key] = {"state": "running", "error": None, "task": start._moId}
            continue
        try:
            outcomes[key] = {"state": "started", "error": None, "task": start()._moId}
        except Exception as exc:  # pylint: disable=broad-except  # any start failure is that job's alone
            outcomes[key] = {"state": "error", "error": _describe(exc), "task": None}
    return outcomes


def run_rounds(clients, jobs, vcenter_of, reread, parallel, timeout, rounds=3, clock=None, wait=True):
    """Run JOBS on the vCenters of CLIENTS, re-read the state, and adopt relocations left running.

    CLIENTS: {vCenter instance uuid: VSphere}; JOBS: [(key, start or task)] as for ``run_tasks``;
    VCENTER_OF(key): the instance uuid of the vCenter holding KEY's VM; REREAD(): (state, {key:
    task id running now}). A job whose answer was lost (or whose watch broke) may have started a
    task that runs on: the re-read finds it, and the next round waits for it (never starts
    another), within the one TIMEOUT. WAIT False: start every job (PARALLEL does not apply: vCenter
    queues what is beyond its limits), re-read once, wait for nothing. Returns (outcomes, the last
    re-read state).
    """
    if not wait:
        outcomes = {}
        for instance, client in clients.items():
            outcomes.update(start_tasks(client, [job for job in jobs if vcenter_of(job[0]) == instance]))
        state, dummy = reread()
        return outcomes, state
    clock = clock or Clock()
    deadline = clock.now() + timeout
    keys = set(key for key, dummy in jobs)
    outcomes, settled, state = {}, set(), None
    for dummy in range(rounds):
        for instance, client in clients.items():
            mine = [job for job in jobs if vcenter_of(job[0]) == instance]
            if not mine:
                continue
            try:
                outcomes.update(run_tasks(client, mine, parallel, max(deadline - clock.now(), 0), clock=clock))
            except Exception as exc:  # pylint: disable=broad-except  # e.g. the watcher could not be set up
                # Whatever was started goes on in vCenter: the re-read decides.
                for key, dummy2 in mine:
                    outcomes.setdefault(key, {"state": "unknown", "task": None,
                                              "error": "relocating on %s failed: %s" % (client.target, _describe(exc))})
        settled.update(o["task"] for o in outcomes.values() if o.get("task") and o["state"] in ("success", "error"))
        state, running = reread()
        jobs = [(key, clients[vcenter_of(key)].task(task)) for key, task in running.items()
                if key in keys and task not in settled]
        if not jobs or clock.now() >= deadline:
            break
    return outcomes, state


def _describe(exc):
    """A typed error as it prints; anything else (http.client, socket) with its type name."""
    if isinstance(exc, _errors.MigrationError):
        return str(exc)
    return "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__


class TaskWaiter:
    """Watch many tasks with one private PropertyCollector (nsx.md 6.7): WaitForUpdatesEx, never polling.

    The filter follows ``TaskManager.recentTask``: a task started after the filter exists enters
    it by itself, so watching a task costs no call of its own (per task: its start, the update
    showing it running, the one showing it done). recentTask also lists earlier tasks and other
    sessions' ones; their states are kept (one of them may be adopted) but only tasks given to
    ``add`` or ``adopt`` are tracked and reported.

    A ListView in the same filter, normally empty, holds tracked tasks that recentTask dropped
    before they ended (vCenter keeps a bounded list), adopted tasks this session's recentTask
    does not show (started by another session, e.g. a killed run) and, after a re-login, every
    unfinished tracked task: the collector dies with its session and is rebuilt from the stored morefs.
    """

    # Not info.progress: every percent would wake the wait, a round trip each.
    PROPERTIES = ["info.state", "info.error"]

    def __init__(self, client, max_wait=30):
        self.client = client
        # The server holds WaitForUpdatesEx for up to maxWaitSeconds, and pyVmomi's socket timeout (the
        # client's connect_timeout) bounds every read: a wait as long as that timeout breaks the watch.
        socket_timeout = getattr(client, "connect_timeout", None)
        self.max_wait = max(1, min(max_wait, int(socket_timeout * 2 / 3))) if socket_timeout else max_wait
        self.tracked = {}  # task id -> moref, until its outcome is reported
        self.states = {}  # task id -> {property: value}, every task the filter reported
        self.gone = {}  # task id -> why it can no longer be watched
        self.collector = self.view = self.filter = None
        self.session = None
        try:
            self.client.with_session(self._build)
        except vmodl.MethodFault as exc:
            raise self.client.fault(exc, "CreatePropertyCollector", "the task watcher")

    def _build(self):
        """A new collector, view and filter in the current session; then the current state of it all."""
        pq = vmodl.query.PropertyCollector
        content = self.client.content
        self.session = self.client.session
        self.version = ""
        self.collector = self.view = self.filter = None
        self.collector = content.propertyCollector.CreatePropertyCollector()
        self.view = content.viewManager.CreateListView(obj=[])
        recent = pq.TraversalSpec(name="recent", type=vim.TaskManager, path="recentTask", skip=False)
        listed = pq.TraversalSpec(name="listed", type=vim.view.ListView, path="view", skip=False)
        spec = pq.FilterSpec(objectSet=[pq.ObjectSpec(obj=content.taskManager, skip=True, selectSet=[recent]),
                                        pq.ObjectSpec(obj=self.view, skip=True, selectSet=[listed])],
                             propSet=[pq.PropertySpec(type=vim.Task, pathSet=self.PROPERTIES)])
        self.filter = self.collector.CreateFilter(spec, partialUpdates=False)
        if self.tracked:
            self._list(list(self.tracked.values()))
        seen = self._fetch(0)  # version "": every object in the filter, as it is now
        for task_id in list(self.tracked):
            if task_id not in seen and task_id not in self.gone:
                self.gone[task_id] = "task %s no longer exists on %s" % (task_id, self.client.target)

    def _rebuild(self):
        """After a re-login: the old collector, filter and view went with the old session."""
        self.states = {}
        self._build()

    def add(self, task):
        """Track TASK (a vim.Task this session just started). No SOAP call: recentTask brings it in."""
        self.tracked[task._moId] = task

    def adopt(self, task):
        """Track TASK, started before this watcher existed (perhaps by another session).

        Its state is known if the filter's first answer showed it (it is in recentTask); otherwise
        it is put in the ListView, and the next wait reports it.
        """
        self.tracked[task._moId] = task
        if "info.state" not in self.states.get(task._moId, {}):
            self._list([task])

    def _list(self, tasks):
        """Put TASKS in the ListView; those that no longer exist are reported as gone."""
        try:
            unresolved = self.view.ModifyListView(add=tasks) or []
        except vmodl.fault.ManagedObjectNotFound as exc:
            # vcsim's answer for a missing object (vCenter lists it as unresolved): drop it, list the rest
            missing = exc.obj._moId if exc.obj is not None else None
            if missing is None or missing not in self.tracked:
                raise
            self.gone[missing] = "task %s no longer exists on %s" % (missing, self.client.target)
            rest = [t for t in tasks if t._moId != missing]
            if rest:
                self._list(rest)
            return
        for task in unresolved:
            self.gone[task._moId] = "task %s no longer exists on %s" % (task._moId, self.client.target)

    def wait(self, remaining=None):
        """[(task id, "success"|"error", error message)] of tasks newly finished; [] if none within the wait."""
        # maxWaitSeconds 0 means "compute once and return": used when the deadline is (almost) here.
        seconds = self.max_wait if remaining is None else max(0, min(self.max_wait, int(math.ceil(remaining))))
        try:
            if self.session != self.client.session:  # a new session was opened meanwhile (e.g. by relocate)
                self._rebuild()
            else:
                try:
                    self._fetch(seconds)
                except vim.fault.NotAuthenticated:
                    # The session expired or was ended: log in again and rebuild the watch from the
                    # stored task morefs. The rebuilt filter's first answer is every task's state now.
                    self.client.relogin()
                    self._rebuild()
        except vmodl.MethodFault as exc:
            raise self.client.fault(exc, "WaitForUpdatesEx", "%d tasks" % len(self.tracked))
        return self._done()

    def _fetch(self, seconds):
        """One WaitForUpdatesEx (more only while the server truncates); the task ids it reported."""
        options = vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=seconds)
        seen, left = set(), []
        while True:
            update = self.collector.WaitForUpdatesEx(self.version, options)
            if update is None:  # the wait timed out with no change: not an error
                break
            self.version = update.version
            for filter_update in update.filterSet or []:
                for object_update in filter_update.objectSet or []:
                    task_id = object_update.obj._moId
                    seen.add(task_id)  # also another session's tasks: one may be adopted later
                    if object_update.kind == "leave":
                        if task_id in self.tracked:
                            left.append(object_update.obj)
                        else:
                            self.states.pop(task_id, None)
                        continue
                    props = self.states.setdefault(task_id, {})
                    for change in object_update.changeSet or []:
                        props[change.name] = change.val
            if not update.truncated:
                break
        # Dropped from recentTask before its end: watch it through the ListView instead.
        unfinished = [t for t in left if self.states.get(t._moId, {}).get("info.state") not in ("success", "error")]
        if unfinished:
            self._list(unfinished)
        return seen

    def _done(self):
        done = []
        for task_id in list(self.tracked):
            props = self.states.get(task_id, {})
            state = props.get("info.state")
            if state in ("success", "error"):
                done.append((task_id, state, fault_message(props.get("info.error")) if state == "error" else None))
            elif task_id in self.gone:
                done.append((task_id, "error", self.gone.pop(task_id)))
            else:
                continue
            del self.tracked[task_id]
            self.states.pop(task_id, None)
        return done

    def close(self):
        if self.session != self.client.session:
            return  # they died with their session
        for obj, method in ((self.filter, "DestroyPropertyFilter"), (self.collector, "DestroyPropertyCollector"),
                            (self.view, "DestroyView")):
            if obj is None:
                continue
            try:
                getattr(obj, method)()
            except Exception:  # pylint: disable=broad-except  # best effort: they die with the session
                pass
