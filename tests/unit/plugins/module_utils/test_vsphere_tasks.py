"""_vsphere_tasks.run_tasks / TaskWaiter (nsx.md 6.7): outcomes, leaving recentTask, re-login, deadline.

A scripted SOAP stub stands in for vCenter (real pyVmomi objects, answers chosen per method),
so each rule is checked exactly; tests/integration and the vcsim tests below cover the launcher.
"""

import time

import pytest
from pyVmomi import vim, vmodl

from ansible_collections.hybridcloud.migration.plugins.module_utils import vsphere
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import FakeClock
from ansible_collections.hybridcloud.migration.plugins.module_utils._vsphere_tasks import run_rounds, run_tasks
from tests.vcsim_fixtures import start_vcsim

PQ = vmodl.query.PropertyCollector


def change_set(props):
    return [PQ.Change(name=name, op="assign", val=value) for name, value in props.items()]


def updates(*objects, truncated=False):
    """An UpdateSet: OBJECTS are (task id, kind, {property: value})."""
    return PQ.UpdateSet(version="v", truncated=truncated, filterSet=[PQ.FilterUpdate(
        filter=PQ.Filter("filter-x"),
        objectSet=[PQ.ObjectUpdate(obj=vim.Task(task_id), kind=kind, changeSet=change_set(props))
                   for task_id, kind, props in objects])])


RUNNING = {"info.state": "running", "info.error": None}


class FakeVCenter:
    """A pyVmomi stub: records every call; WaitForUpdatesEx answers come from ``script``."""

    def __init__(self, script, initial=None, missing=()):
        self.script = list(script)  # UpdateSet, None (timeout) or an exception, one per non-initial wait
        self.initial = list(initial or [])  # answers to the version "" waits, one per filter built
        self.missing = set(missing)  # task ids ModifyListView reports as unresolved
        self.calls = []
        self.listed = []
        self.session = 1
        self.expired = False
        self.made = 0

    def make(self, cls, prefix):
        self.made += 1
        return cls("s%d-%s-%d" % (self.session, prefix, self.made), self)

    def InvokeMethod(self, mo, info, args):  # noqa: N802 (pyVmomi's stub interface)
        name = info.wsdlName
        self.calls.append((name, mo._moId))
        if name == "Login":
            self.session += 1
            self.expired = False
            return None
        if self.expired:
            raise vim.fault.NotAuthenticated()
        if name == "CreatePropertyCollector":
            return self.make(vmodl.query.PropertyCollector, "pc")
        if name == "CreateListView":
            return self.make(vim.view.ListView, "view")
        if name == "CreateFilter":
            return self.make(PQ.Filter, "filter")
        if name == "ModifyListView":
            self.listed.extend(t._moId for t in args[0] or [])
            return [t for t in args[0] or [] if t._moId in self.missing]
        if name == "WaitForUpdatesEx":
            if args[0] == "":  # a new filter's first answer: everything in it, never None
                answer = (self.initial.pop(0) if self.initial else None) or PQ.UpdateSet(version="v0", filterSet=[])
            else:
                answer = self.script.pop(0)
            if isinstance(answer, Exception):
                if isinstance(answer, vim.fault.NotAuthenticated):
                    self.expired = True
                raise answer
            return answer
        return None  # Destroy*, Logout

    def names(self):
        return [name for name, dummy in self.calls]


def client_for(fake):
    client = vsphere.VSphere("vc.example", "user", "secret")
    client.session = 1
    client._cache["content"] = vim.ServiceInstanceContent(
        propertyCollector=vmodl.query.PropertyCollector("propertyCollector", fake),
        viewManager=vim.view.ViewManager("ViewManager", fake), taskManager=vim.TaskManager("TaskManager", fake),
        sessionManager=vim.SessionManager("SessionManager", fake), rootFolder=vim.Folder("group-d1", fake),
        about=vim.AboutInfo(instanceUuid="vc-1"))
    return client


def jobs(fake, *ids):
    return [(task_id, lambda task_id=task_id: vim.Task(task_id, fake)) for task_id in ids]


def test_every_outcome_reported_launcher_flip_and_foreign_tasks_ignored():
    fake = FakeVCenter([
        # task-1 shows success then running again in one answer (the vcsim launcher's reset): still running.
        updates(("task-1", "enter", RUNNING), ("task-1", "modify", {"info.state": "success"}),
                ("task-1", "modify", {"info.state": "running"}), ("task-99", "enter", {"info.state": "success"}),
                ("task-2", "enter", RUNNING), ("task-3", "enter", {"info.state": "queued", "info.error": None})),
        updates(("task-2", "modify", {"info.state": "error",
                                      "info.error": vim.fault.InvalidDeviceBacking(msg="no such portgroup")})),
        None,  # a wait that times out with no change is not an error
        updates(("task-3", "modify", {"info.state": "success"}), ("task-1", "modify", {"info.state": "success"})),
    ], initial=[updates(("task-50", "enter", {"info.state": "running"}))])
    outcomes = run_tasks(client_for(fake), jobs(fake, "task-1", "task-2", "task-3"), parallel=3, timeout=60)
    assert outcomes == {"task-1": {"state": "success", "error": None, "task": "task-1"},
                        "task-2": {"state": "error", "error": "InvalidDeviceBacking: no such portgroup", "task": "task-2"},
                        "task-3": {"state": "success", "error": None, "task": "task-3"}}
    names = fake.names()
    # No call per task besides its start; all watcher objects destroyed at the end.
    assert "ModifyListView" not in names and names.count("WaitForUpdatesEx") == 5
    assert names[-3:] == ["DestroyPropertyFilter", "DestroyPropertyCollector", "DestroyView"]


def test_truncated_answers_are_read_to_the_end_before_judging():
    fake = FakeVCenter([
        updates(("task-1", "enter", RUNNING), ("task-1", "modify", {"info.state": "success"}), truncated=True),
        updates(("task-1", "modify", {"info.state": "running"})),
        updates(("task-1", "modify", {"info.state": "success"})),
    ])
    outcomes = run_tasks(client_for(fake), jobs(fake, "task-1"), parallel=1, timeout=60)
    assert outcomes["task-1"]["state"] == "success"
    assert fake.names().count("WaitForUpdatesEx") == 4  # initial + 2 (truncated, then the rest) + 1


def test_task_dropped_from_recent_tasks_is_watched_through_the_list_view():
    fake = FakeVCenter([
        updates(("task-1", "enter", RUNNING), ("task-2", "enter", RUNNING), ("task-3", "enter", RUNNING)),
        # vCenter keeps a bounded recentTask: task-1 and task-2 leave it unfinished, task-3 finished.
        updates(("task-3", "modify", {"info.state": "success"}), ("task-3", "leave", {}),
                ("task-1", "leave", {}), ("task-2", "leave", {})),
        updates(("task-1", "enter", {"info.state": "success", "info.error": None})),
    ], missing={"task-2"})
    outcomes = run_tasks(client_for(fake), jobs(fake, "task-1", "task-2", "task-3"), parallel=3, timeout=60)
    assert fake.listed == ["task-1", "task-2"]
    assert outcomes["task-1"]["state"] == outcomes["task-3"]["state"] == "success"
    assert outcomes["task-2"] == {"state": "error", "error": "task task-2 no longer exists on vCenter vc.example:443",
                                  "task": "task-2"}


def test_session_lost_during_the_wait_rebuilds_the_watch_from_the_task_morefs():
    fake = FakeVCenter([
        updates(("task-1", "enter", RUNNING), ("task-2", "enter", RUNNING)),
        vim.fault.NotAuthenticated(),
        updates(("task-2", "modify", {"info.state": "success"})),
    ], initial=[None, updates(("task-1", "enter", {"info.state": "success", "info.error": None}),
                              ("task-2", "enter", RUNNING))])
    client = client_for(fake)
    outcomes = run_tasks(client, jobs(fake, "task-1", "task-2"), parallel=2, timeout=60)
    assert outcomes == {"task-1": {"state": "success", "error": None, "task": "task-1"},
                        "task-2": {"state": "success", "error": None, "task": "task-2"}}
    assert client.session == 2 and fake.names().count("Login") == 1
    assert fake.names().count("CreatePropertyCollector") == 2 and fake.listed == ["task-1", "task-2"]
    # Only the second session's objects are destroyed: the first ones died with their session.
    destroyed = [mo for name, mo in fake.calls if name.startswith("Destroy")]
    assert destroyed and all(mo.startswith("s2-") for mo in destroyed)


def test_task_vanished_during_a_session_loss_is_an_error_not_a_hang():
    fake = FakeVCenter([updates(("task-1", "enter", RUNNING)), vim.fault.NotAuthenticated()],
                       initial=[None, None], missing={"task-1"})
    outcomes = run_tasks(client_for(fake), jobs(fake, "task-1"), parallel=1, timeout=60)
    assert outcomes["task-1"]["state"] == "error" and "no longer exists" in outcomes["task-1"]["error"]


def test_deadline_reports_running_and_unstarted_tasks():
    fake = FakeVCenter([updates(("task-1", "enter", RUNNING))] + [None] * 1000)
    outcomes = run_tasks(client_for(fake), jobs(fake, "task-1", "task-2"), parallel=1, timeout=0.05, clock=FakeClock())
    assert outcomes["task-1"]["state"] == "timeout" and outcomes["task-2"]["state"] == "not_started"
    assert fake.names()[-3:] == ["DestroyPropertyFilter", "DestroyPropertyCollector", "DestroyView"]


def test_start_failure_does_not_stop_the_others():
    fake = FakeVCenter([updates(("task-2", "enter", {"info.state": "success", "info.error": None}))])

    def broken():
        raise vsphere._errors.ApiError("boom", operation="RelocateVM_Task", resource="vm-1")
    outcomes = run_tasks(client_for(fake), [("vm-1", broken)] + jobs(fake, "task-2"), parallel=1, timeout=60)
    assert outcomes["vm-1"]["state"] == "error" and "boom" in outcomes["vm-1"]["error"]
    assert outcomes["task-2"]["state"] == "success"


def test_untyped_start_failure_is_that_jobs_alone():
    """A dropped connection raises http.client errors, not vim faults: still one job's outcome."""
    import http.client
    fake = FakeVCenter([updates(("task-2", "enter", {"info.state": "success", "info.error": None}))])

    def dropped():
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    outcomes = run_tasks(client_for(fake), [("vm-1", dropped)] + jobs(fake, "task-2"), parallel=1, timeout=60)
    assert outcomes["vm-1"] == {"state": "error", "task": None,
                                "error": "RemoteDisconnected: Remote end closed connection without response"}
    assert outcomes["task-2"]["state"] == "success"


def test_adopted_task_known_from_the_first_answer_is_not_listed():
    """A relocation started by an earlier run is waited for; seen in recentTask, it costs no call."""
    fake = FakeVCenter([updates(("task-7", "modify", {"info.state": "success"}))],
                       initial=[updates(("task-7", "enter", RUNNING))])
    outcomes = run_tasks(client_for(fake), [("vm-7", vim.Task("task-7", fake))], parallel=1, timeout=60)
    assert outcomes == {"vm-7": {"state": "success", "error": None, "task": "task-7"}}
    assert fake.listed == [] and "RelocateVM_Task" not in fake.names()


def test_adopted_task_of_another_session_is_listed_and_its_end_seen():
    """Not in this session's recentTask (another session started it): the ListView brings it in."""
    fake = FakeVCenter([updates(("task-8", "enter", {"info.state": "error", "info.error": vmodl.fault.InvalidArgument()}))])
    outcomes = run_tasks(client_for(fake), [("vm-8", vim.Task("task-8", fake))], parallel=1, timeout=60)
    assert fake.listed == ["task-8"] and outcomes["vm-8"]["state"] == "error"


def test_a_broken_watch_leaves_tasks_unknown_not_failed():
    import socket
    fake = FakeVCenter([updates(("task-1", "enter", RUNNING)), socket.timeout("timed out")])
    outcomes = run_tasks(client_for(fake), jobs(fake, "task-1"), parallel=1, timeout=60)
    assert outcomes["task-1"]["state"] == "unknown" and "timed out" in outcomes["task-1"]["error"]


def test_rounds_adopt_what_a_lost_answer_left_running():
    """The start's answer was lost but the task runs: the re-read finds it, round 2 waits for it (no second start)."""
    import http.client
    fake = FakeVCenter([updates(("task-5", "modify", {"info.state": "success"}))],
                       initial=[None, updates(("task-5", "enter", RUNNING))])
    client = client_for(fake)
    starts = []

    def lost():
        starts.append(1)
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    rereads = iter([("state-1", {"vm-5": "task-5"}), ("state-2", {})])
    outcomes, state = run_rounds({"vc": client}, [("vm-5", lost)], lambda key: "vc", lambda: next(rereads),
                                 parallel=2, timeout=60)
    assert starts == [1] and state == "state-2"
    assert outcomes == {"vm-5": {"state": "success", "error": None, "task": "task-5"}}


def test_rounds_stop_when_nothing_runs_and_never_readopt_a_settled_task():
    fake = FakeVCenter([updates(("task-1", "enter", {"info.state": "error", "info.error": None}))])
    client = client_for(fake)
    # The re-read still lists task-1 (a stale recentTask): it ended already, so it is not waited for again.
    rereads = iter([("state-1", {"vm-1": "task-1"})])
    outcomes, state = run_rounds({"vc": client}, jobs(fake, "task-1"), lambda key: "vc", lambda: next(rereads),
                                 parallel=1, timeout=60)
    assert state == "state-1" and outcomes["task-1"]["state"] == "error"
    assert fake.names().count("CreatePropertyCollector") == 1


class FactsOnly:
    """A VSphere stand-in for read_vms: fixed facts and running relocations."""

    def __init__(self, facts, running):
        self.facts, self.running = facts, running

    def vm_facts(self, uuids):
        return dict((u, f) for u, f in self.facts.items() if u in uuids)

    def relocations_in_flight(self, facts):
        return dict((u, t) for u, t in self.running.items() if u in facts)


def test_read_vms_a_vm_being_moved_belongs_to_the_vcenter_running_its_relocation():
    source = FactsOnly({"a": {"vcenter": "src"}, "b": {"vcenter": "src"}}, {"a": "task-1"})
    target = FactsOnly({"a": {"vcenter": "dst"}, "b": {"vcenter": "dst"}}, {})
    vms, running = vsphere.read_vms({"src": source, "dst": target}, ["a", "b"])
    assert vms["a"]["vcenter"] == "src" and vms["b"]["vcenter"] == "dst" and running == {"a": "task-1"}


# -- against the vcsim launcher ---------------------------------------------------------------
@pytest.fixture(scope="module")
def idle_vc(tmp_path_factory):
    """Sessions end after 1-2 s idle; relocations take 4 s, longer than a session stays idle."""
    inst = start_vcsim(tmp_path_factory.mktemp("vc-idle"), name="vc-idle", tls=True, host=1, vm=3,
                       relocate_ms=4000, session_idle="1s")
    yield inst
    inst.stop()


def connect(inst):
    return vsphere.VSphere(inst.host, inst.username, inst.password, port=inst.port, ca_path=inst.cert_path).connect()


def test_wave_survives_session_timeouts(idle_vc):
    """A session ends during a long wait (re-login in the waiter) and before a start (re-login in relocate)."""
    client = connect(idle_vc)
    uuids = [vm["instance_uuid"] for vm in idle_vc.info["vms"]]
    try:
        assert len(client.vm_facts(uuids)) == 3

        def start(uuid, idle=0):
            def run():
                time.sleep(idle)  # let the session expire before this start
                return client.relocate(uuid, [])
            return run
        jobs = [(uuids[0], start(uuids[0])), (uuids[1], start(uuids[1], idle=3)), (uuids[2], start(uuids[2]))]
        started = time.monotonic()
        # max_wait 3 s: the waits outlast the idle limit, so one comes back to a dead session.
        outcomes = run_tasks(client, jobs, parallel=2, timeout=60, max_wait=3)
        assert time.monotonic() - started < 30
        assert all(o["state"] == "success" and o["error"] is None and o["task"] for o in outcomes.values()), outcomes
        assert sorted(outcomes) == sorted(uuids)
        calls = client.calls_by_method
        # The start after the idle pause was refused once and resent after a re-login; the session
        # also ended during B's wait (re-login there): 3 logins, 3 watchers (two rebuilt ones).
        assert calls["RelocateVM_Task"] == 4 and calls["Login"] >= 3 and calls["CreatePropertyCollector"] >= 3, calls
        assert client.session == calls["Login"]
    finally:
        client.close()  # a session that already ended is not a logout failure


def test_relogin_with_a_changed_password_is_an_auth_error(idle_vc):
    client = connect(idle_vc)
    client.password = "wrong"
    time.sleep(2.5)
    with pytest.raises(vsphere._errors.AuthError) as info:
        client.with_session(client.content.viewManager.CreateListView, obj=[])
    assert info.value.operation == "login"
    client.si = None  # its session is gone: nothing to log out of


def test_a_wait_ends_before_the_soap_socket_timeout(tmp_path_factory):
    """WaitForUpdatesEx blocks on the server for maxWaitSeconds; pyVmomi's socket timeout (the client's
    connect_timeout) bounds every read. A wait as long as that timeout (30 s each by default) broke the watch
    of every vMotion longer than it ("read operation timed out"), ending a wave early as in_progress."""
    inst = start_vcsim(tmp_path_factory.mktemp("vc-slow-task"), name="vc-slow-task", tls=True, host=2, vm=1,
                       relocate_ms=5000)
    client = vsphere.VSphere(inst.host, inst.username, inst.password, port=inst.port, ca_path=inst.cert_path,
                             connect_timeout=3).connect()
    try:
        vm = inst.info["vms"][0]
        client.vm_facts([vm["instance_uuid"]])
        host = client.find("host", inst.info["hosts"][1]["moref"])
        outcomes = run_tasks(client, [(vm["instance_uuid"], lambda: client.relocate(vm["instance_uuid"], [], host=host))],
                             parallel=2, timeout=60)  # the default max_wait (30 s) is longer than the 3 s socket timeout
        assert outcomes[vm["instance_uuid"]]["state"] == "success", outcomes
    finally:
        client.close()
        inst.stop()


def launcher_fault(inst, **spec):
    import json
    import urllib.request
    request = urllib.request.Request(inst.url.replace("/sdk", "/_launcher/fault"), data=json.dumps(spec).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, context=inst.ssl_context()).read()


def test_a_read_whose_connection_drops_is_read_again_then_a_typed_error(tmp_path_factory):
    """A lost or timed-out answer to a read (the re-read after the relocations, the markers) was an untyped
    http.client / socket exception: a traceback and no per-VM outcome. A read is safe to repeat: once, then
    a TransportError naming the call."""
    inst = start_vcsim(tmp_path_factory.mktemp("vc-read-drop"), name="vc-read-drop", tls=True, host=1, vm=1)
    client = connect(inst)
    uuid = inst.info["vms"][0]["instance_uuid"]
    try:
        launcher_fault(inst, call={"method": "RetrievePropertiesEx", "count": 1, "drop": True, "after": True})
        assert list(client.vm_facts([uuid])) == [uuid]
        launcher_fault(inst, call={"method": "RetrievePropertiesEx", "count": 2, "drop": True})
        with pytest.raises(vsphere._errors.TransportError) as info:
            client.vm_facts([uuid])
        assert info.value.operation == "RetrievePropertiesEx" and "connection lost" in str(info.value)
        assert list(client.vm_facts([uuid])) == [uuid]  # the client works on afterwards
    finally:
        client.close()
        inst.stop()


def test_run_rounds_without_wait_starts_all_and_waits_for_nothing():
    """wait: false: every job started (PARALLEL does not apply), adopted tasks kept, one re-read, no watcher."""
    started = []

    def start(key):
        def go():
            if key == "bad":
                raise OSError("connection reset")
            started.append(key)
            return vim.Task("task-%s" % key)
        return go
    jobs = [("a", start("a")), ("b", start("b")), ("bad", start("bad")), ("old", vim.Task("task-old"))]
    rereads = []

    def reread():
        rereads.append(1)
        return "state", {}
    outcomes, state = run_rounds({"vc": object()}, jobs, lambda key: "vc", reread, parallel=1, timeout=5, wait=False)
    assert started == ["a", "b"] and state == "state" and len(rereads) == 1
    assert outcomes["a"] == {"state": "started", "error": None, "task": "task-a"}
    assert outcomes["old"] == {"state": "running", "error": None, "task": "task-old"}
    assert outcomes["bad"]["state"] == "error" and "OSError: connection reset" in outcomes["bad"]["error"]
