"""Run real modules through ansible-playbook and read back each task's result.

    run = ansible.play([{"name": "migrate", "hybridcloud.migration.zstack_ps_migrate": {...}}], check=True)
    assert run.result("migrate")["changed"] is True

Tasks are Python dicts (written as YAML). Results come from the test-only ``record_results``
callback, so assertions see exactly what the module returned (after Ansible's no_log masking).
"""

import json
import os
import subprocess
import sys

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
        proc = subprocess.run(command, cwd=self.workdir, env=environment, capture_output=True, text=True, check=False, timeout=600)
        parsed = []
        if os.path.exists(records):
            with open(records) as handle:
                parsed = [json.loads(line) for line in handle if line.strip()]
        return PlayResult(proc.returncode, proc.stdout + proc.stderr, parsed)
