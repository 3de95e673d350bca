"""One ansible-playbook run, timed: wall seconds and the CPU seconds of its whole process tree.

Shared by the wave benches. CPU comes from os.wait4 on the ansible-playbook process: the rusage of it
and of every descendant it waited for (workers, modules), nothing else of the bench's own process.
"""

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_PATH = os.path.join(ROOT, "build", "collections")
QUIET = {"ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false", "ANSIBLE_NOCOLOR": "1",
         "ANSIBLE_RETRY_FILES_ENABLED": "false"}


def timed_playbook(playbook, workdir, env=None):
    """(wall seconds, CPU seconds of the process tree, return code, output) of ansible-playbook PLAYBOOK on localhost."""
    inventory = os.path.join(workdir, "inventory.ini")
    with open(inventory, "w") as handle:
        handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                       ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "tmp"), **QUIET)
    environment.update(env or {})
    with open(os.path.join(workdir, "run-%d.txt" % time.monotonic_ns()), "w+") as output:
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, playbook]
        started = time.monotonic()
        proc = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        dummy, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, proc.returncode, output.read()
