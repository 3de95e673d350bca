"""Run real modules through ansible-playbook and read back each task's result.

    run = ansible.play([{"name": "migrate", "hybridcloud.migration.zstack_ps_migrate": {...}}], check=True)
    assert run.result("migrate")["changed"] is True

Tasks are Python dicts (written as YAML). Results come from the test-only ``record_results``
callback, so assertions see exactly what the module returned (after Ansible's no_log masking).
"""

import json
import os
import signal
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS_PATH = os.path.join(ROOT, "build", "collections")


class PlayResult:
    def __init__(self, rc, output, records):
        self.rc = rc
        self.output = output
        self.records = records

    def result(self, task_name):
        """The result of the last run of TASK_NAME (a dict with changed/failed/msg...)."""
        matches = [r for r in self.records if r["task"] == task_name]
        if not matches:
            raise AssertionError("task %r did not run; output:\n%s" % (task_name, self.output[-4000:]))
        return dict(matches[-1]["result"], _status=matches[-1]["status"])

    @property
    def results(self):
        return [dict(r["result"], _status=r["status"], _task=r["task"]) for r in self.records]


class AnsibleRunner:
    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.runs = 0

    def play(self, tasks, check=False, diff=False, verbosity=0, env=None, play_vars=None, module_defaults=None,
             extra_args=()):
        command, environment, records = self._prepare(tasks, check, diff, verbosity, env, play_vars,
                                                      module_defaults, extra_args)
        proc = subprocess.run(command, cwd=self.workdir, env=environment, capture_output=True, text=True, check=False, timeout=600)
        return PlayResult(proc.returncode, proc.stdout + proc.stderr, _read_records(records))

    def start(self, tasks, check=False, diff=False, verbosity=0, env=None, play_vars=None, module_defaults=None,
              extra_args=()):
        """Start ansible-playbook in its own process group and return at once (see RunningPlay).

        For interruption tests: ``running.kill_when(predicate)`` SIGKILLs the whole process tree
        (ansible-playbook, its workers and the module) the moment PREDICATE() holds.
        """
        command, environment, records = self._prepare(tasks, check, diff, verbosity, env, play_vars,
                                                      module_defaults, extra_args)
        output = open(os.path.join(self.workdir, "output-%d.txt" % self.runs), "w+")
        proc = subprocess.Popen(command, cwd=self.workdir, env=environment, stdout=output, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        return RunningPlay(proc, output, records)

    def _prepare(self, tasks, check, diff, verbosity, env, play_vars, module_defaults, extra_args):
        self.runs += 1
        play = {"name": "integration", "hosts": "localhost", "gather_facts": False, "tasks": tasks}
        if play_vars:
            play["vars"] = play_vars
        if module_defaults:
            play["module_defaults"] = module_defaults
        playbook = os.path.join(self.workdir, "play-%d.yml" % self.runs)
        records = os.path.join(self.workdir, "results-%d.jsonl" % self.runs)
        inventory = os.path.join(self.workdir, "inventory.ini")
        with open(playbook, "w") as handle:
            yaml.safe_dump([play], handle, sort_keys=False)
        with open(inventory, "w") as handle:
            handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, playbook]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbosity:
            command.append("-" + "v" * verbosity)
        command.extend(extra_args)
        environment = dict(os.environ)
        environment.update({
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
            "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "record_results",
            "RECORD_RESULTS_FILE": records,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.workdir, "tmp"),
        })
        environment.update(env or {})
        return command, environment, records


def _read_records(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


class RunningPlay:
    """An ansible-playbook run started with ``AnsibleRunner.start``."""

    def __init__(self, proc, output, records):
        self.proc = proc
        self._output = output
        self._records = records

    def kill_when(self, predicate, timeout=120, interval=0.05):
        """SIGKILL the whole process group as soon as PREDICATE() is true; return the PlayResult.

        Fails the test if the play ends, or TIMEOUT passes, before PREDICATE() held.
        """
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                raise AssertionError("the play ended before the interruption point:\n" + self._text()[-4000:])
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("the interruption point was not reached in %s s" % timeout)
            time.sleep(interval)
        return self.kill()

    def kill(self):
        """SIGKILL every process of the run (the module too) and wait for the group leader.

        Ansible puts each worker (and so the module it runs) in a process group, even a session,
        of its own, so killing ansible-playbook's group alone would leave the module running.
        The whole tree is stopped first (no more forks), then every group in it is killed.
        """
        groups = _stop_tree(self.proc.pid)
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)
        for pgid in groups:
            _wait_group_gone(pgid)
        return self.result()

    def wait(self, timeout=600):
        self.proc.wait(timeout=timeout)
        return self.result()

    def result(self):
        return PlayResult(self.proc.returncode, self._text(), _read_records(self._records))

    def _text(self):
        self._output.flush()
        self._output.seek(0)
        return self._output.read()


def _children():
    """{ppid: [pid, ...]} of every process, read from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _stop_tree(pid):
    """SIGSTOP PID and all its descendants until no new one appears; return their process groups."""
    stopped = set()
    while True:
        children, tree, todo = _children(), [pid], [pid]
        while todo:
            for child in children.get(todo.pop(), []):
                tree.append(child)
                todo.append(child)
        new = [p for p in tree if p not in stopped]
        if not new:
            break
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
            stopped.add(p)
    groups = {pid}
    for p in stopped:
        try:
            groups.add(os.getpgid(p))
        except ProcessLookupError:
            pass
    return groups


def _wait_group_gone(pgid, timeout=10):
    """Orphans of a killed group (the module process) may take a moment to disappear."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
