"""How promptly every platform's waits notice that work finished: polls made and lateness.

    .venv/bin/python bench/polling.py [--platform zstack] [--jobs 5,60]

Each platform runs its real module as a whole ``ansible localhost -m ...`` process against its
emulator (in this process, HTTPS on 127.0.0.1), with the emulated operation set to last 5 s and
60 s; all runs go at once, so the bench takes a little over a minute. The emulator's request log
gives, platform-neutrally: the moment the work was submitted, every poll, and the first poll at
or after the moment the emulator completed the work. Lateness = that poll's time minus the
completion time (so Ansible's start-up and tear-down are not counted); polls = requests to the
platform's poll path from the submit to that poll.

Targets (issue 16): a 5 s operation noticed <= 1 s late; a 60 s one <= 10 % late; polls growing
with the logarithm of the length (few polls per doubling) until the schedule's cap. The schedule is
also evaluated as a model (pure ``next_poll_delay``) up to a day. Exit status 0 when all pass.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "build", "collections")]

from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import PollBackoff, next_poll_delay  # noqa: E402
from tests.emulators._server import Running, TLSMaterial  # noqa: E402

MODEL_JOBS = (5.0, 60.0, 600.0, 3600.0, 86400.0)
SHORT_LIMIT = 1.0  # seconds late, for jobs up to 10 s
LONG_RATIO = 0.10  # fraction late, for longer jobs
POLLS_PER_DOUBLING = 8  # the 10 % cap adds ln 2 / ln 1.1 = 7.3 polls per doubling of the length


class Scenario:
    """One platform's long operation: how to seed it, run it, and read its submit / polls / end."""

    platform = None
    module = None
    submit = None  # (method, path regex) of the call that starts the work
    poll = None  # path regex of the GETs that ask whether it is done, or (method, path regex)

    def emulator(self, seconds):
        """A platform emulator whose operation lasts SECONDS."""
        raise NotImplementedError

    def args(self, running):
        """The module's arguments against RUNNING."""
        raise NotImplementedError

    def prepare(self, running):
        """Anything to start before the module runs (e.g. work begun by another client)."""

    def completed_at(self, emulator):
        """The epoch time at which the emulator finished the work."""
        raise NotImplementedError


class ZStackMigration(Scenario):
    platform = "zstack"
    module = "hybridcloud.migration.zstack_ps_migrate"
    submit = ("PUT", r"/zstack/v1/vm-instances/[^/]+/actions")
    poll = r"/zstack/v1/api-jobs/"

    def emulator(self, seconds):
        from tests.emulators import zstack as emu
        config = dict(emu.DEFAULT_SEED["config"], migrate_duration=seconds)
        return emu.EMULATOR(dict(emu.DEFAULT_SEED, config=config))

    def args(self, running):
        from tests.emulators import zstack as emu
        return {"hostname": "127.0.0.1", "port": running.port, "protocol": "https", "ca_cert": running.ca_path,
                "username": "admin", "password": "password", "vm": emu.VM_WEB,
                "target_primary_storage": emu.PS_CEPH, "timeout": 600}

    def completed_at(self, emulator):
        with emulator.lock:
            return max(job["done"] for job in emulator.api_jobs.values() if job["done"] is not None)


class PowerVCScenario(Scenario):
    """PowerVC shows a VSN change only after a delay: the module polls until the listing shows it."""

    setting = None

    def emulator(self, seconds):
        from tests.emulators import powervc as emu
        settings = dict(emu.DEFAULT_SEED["settings"], **{self.setting: seconds})
        return emu.EMULATOR(dict(emu.DEFAULT_SEED, settings=settings))

    def connection(self, running):
        info = running.emulator.connection_info()
        return {"auth": {"auth_url": info["auth_url"], "username": info["username"], "password": info["password"],
                         "project_name": info["project_name"]},
                "ca_cert": running.ca_path, "timeout": 600}


class PowerVCMove(PowerVCScenario):
    platform = "powervc-move"
    module = "hybridcloud.migration.powervc_vsn"
    submit = ("PUT", r"/virtual-serial-number\Z")
    poll = r"/virtual-serial-number\Z"
    setting = "move_delay"

    def args(self, running):
        return dict(self.connection(running), state="moved", source_host="prod-p10-a", target_host="dr-p10-b",
                    vsns=["CDF0002", "CDF0003"])

    def completed_at(self, emulator):
        with emulator.lock:
            return max(r["visible_at"] for r in emulator.vsns.values() if r["moved_from"])


class PowerVCAssign(PowerVCScenario):
    platform = "powervc-assign"
    module = "hybridcloud.migration.powervc_vsn"
    submit = ("POST", r"/servers/[^/]+/action\Z")
    poll = r"/servers\Z"
    setting = "assign_delay"

    def args(self, running):
        return dict(self.connection(running), state="assigned", vm="ibmi-test-02", vsn="auto")

    def completed_at(self, emulator):
        with emulator.lock:
            return max(s["vsn_visible_at"] for s in emulator.servers.values())


class PowerVCBuild(PowerVCScenario):
    platform = "powervc-build"
    module = "hybridcloud.migration.powervc_server"
    submit = ("POST", r"/servers\Z")
    poll = r"/servers/[^/]+\Z"
    setting = "build_time"

    def args(self, running):
        return dict(self.connection(running), vm="bench-build-01", image="IBM i 7.5 base", flavor="ibmi-small",
                    networks=[{"network": "prod-vlan10"}], virtual_serial_number="none")

    def completed_at(self, emulator):
        with emulator.lock:
            return max(s.get("build_until", 0) for s in emulator.servers.values())


class VcenterDeployAdopted(Scenario):
    """An OVF deploy is one synchronous call: nothing to poll when the module sends it. It polls when it
    finds a deploy still running (an earlier run was killed): vCenter refuses to power the VM on until
    the deploy ends, and the module tries again on the schedule. Another client starts the deploy here."""

    platform = "vcenter-deploy"
    module = "hybridcloud.migration.vcenter_ovf_deploy"
    submit = ("POST", r"/vm/[^/]+/power\Z")  # the first power-on attempt starts the wait
    poll = ("POST", r"/vm/[^/]+/power\Z")
    item = "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"  # ubuntu-22.04 in the emulator's seed

    def emulator(self, seconds):
        from tests.emulators import vcenter_rest as emu
        return emu.EMULATOR(dict(emu.DEFAULT_SEED, settings=dict(emu.DEFAULT_SEED["settings"], deploy_seconds=seconds)))

    def prepare(self, running):
        import requests
        info = running.emulator.connection_info()
        auth = (info["username"], info["password"])
        token = requests.post(running.url + "/api/session", auth=auth, verify=running.ca_path, timeout=10).json()
        body = {"target": {"resource_pool_id": "resgroup-22", "folder_id": "group-v40"},
                "deployment_spec": {"name": "bench-vm", "accept_all_EULA": True}}

        def deploy():  # held open for the whole deploy, like vCenter's synchronous call
            requests.post(running.url + "/api/vcenter/ovf/library-item/%s?action=deploy" % self.item, json=body,
                          headers={"vmware-api-session-id": token}, verify=running.ca_path, timeout=600)
        threading.Thread(target=deploy, daemon=True).start()
        while not [p for t, m, p in list(running.emulator.request_log) if m == "POST" and p.endswith(self.item)]:
            time.sleep(0.02)
        time.sleep(0.2)  # registered: the VM exists from the start of the deploy

    def args(self, running):
        info = running.emulator.connection_info()
        return {"hostname": "127.0.0.1", "port": running.port, "username": info["username"],
                "password": info["password"], "ca_cert": running.ca_path, "inventory_lookup": "rest",
                "library": "Migration Templates", "item": "ubuntu-22.04", "vm": "bench-vm", "datacenter": "DC-East",
                "cluster": "Prod", "folder": "Migrated", "accept_all_eula": True, "network_mappings": {"VM Network": "Backend"},
                "power_on": True, "timeout": 600}

    def completed_at(self, emulator):
        with emulator.lock:
            return max(vm.get("deploying_until") or 0 for vm in emulator.objects["vms"].values())


SCENARIOS = {s.platform: s for s in (ZStackMigration(), PowerVCMove(), PowerVCAssign(), PowerVCBuild(), VcenterDeployAdopted())}


def measure(scenario, seconds, tls, results):
    """Run SCENARIO's module once against an emulator whose operation lasts SECONDS."""
    emulator = scenario.emulator(seconds)
    running = Running(emulator, tls_material=tls)
    try:
        scenario.prepare(running)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m", scenario.module,
                   "-a", json.dumps(scenario.args(running))]
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1")
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds * 5 + 120, check=False)
        if proc.returncode != 0:
            results[(scenario.platform, seconds)] = "module failed: " + proc.stdout[-600:] + proc.stderr[-600:]
            return
        log = list(emulator.request_log)
        done = scenario.completed_at(emulator)
        method, path = scenario.submit
        submitted = next(t for t, m, p in log if m == method and re.search(path, p))
        poll_method, poll_path = scenario.poll if isinstance(scenario.poll, tuple) else ("GET", scenario.poll)
        polls = [t for t, m, p in log if m == poll_method and re.search(poll_path, p) and t >= submitted]
        noticed = next((t for t in polls if t >= done), None)
        if noticed is None:
            results[(scenario.platform, seconds)] = "no poll after the completion"
            return
        # waited: from the submit (or the first poll of work found running) to the poll that noticed the end
        results[(scenario.platform, seconds)] = (len([t for t in polls if t <= noticed]), noticed - done, noticed - submitted)
    finally:
        running.stop()


def model(seconds):
    """(polls, worst lateness) of the default schedule for a job of SECONDS."""
    backoff = PollBackoff()
    waited, polls, previous, worst = 0.0, 1, None, 0.0  # the first poll comes right after the submit
    while waited < seconds:
        previous = next_poll_delay(previous, waited, backoff.initial, backoff.factor, backoff.maximum, backoff.ratio)
        waited += previous
        polls += 1
        worst = previous  # the job may have ended just after the previous poll
    return polls, worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--platform", action="append", choices=sorted(SCENARIOS), help="default: all")
    parser.add_argument("--jobs", default="5,60", help="operation lengths in seconds (default 5,60)")
    options = parser.parse_args()
    platforms = options.platform or sorted(SCENARIOS)
    jobs = [float(j) for j in options.jobs.split(",")]
    tls = TLSMaterial()
    results = {}
    threads = [threading.Thread(target=measure, args=(SCENARIOS[p], j, tls, results)) for p in platforms for j in jobs]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = True
    print("Real time (real modules through `ansible`, emulated operations, default schedule), %.0f s:"
          % (time.monotonic() - start))
    print("  %-14s  %6s  %6s  %9s  %7s  %-13s  %s" % ("platform", "job", "polls", "late (s)", "late %", "target", "result"))
    for platform in platforms:
        for job in jobs:
            outcome = results.get((platform, job), "run failed")
            if isinstance(outcome, str):
                print("  %-14s  %5.0fs  %s" % (platform, job, outcome.replace("\n", " ")))
                ok = False
                continue
            polls, late, waited = outcome
            short = job <= 10
            passed = late <= SHORT_LIMIT if short else late <= LONG_RATIO * job
            ok &= passed
            print("  %-14s  %5.0fs  %6d  %9.2f  %6.1f%%  %-13s  %s" % (
                platform, job, polls, late, 100 * late / job, "<= 1 s late" if short else "<= 10 % late",
                "PASS" if passed else "FAIL"))
        outcomes = [results.get((platform, j)) for j in (min(jobs), max(jobs))]
        if len(jobs) > 1 and all(isinstance(o, tuple) for o in outcomes) and outcomes[0][2] < 1.0:
            # Work found running (vCenter): Ansible's start-up can take most of a short job.
            print("  %-14s  growth: n/a (the short run waited only %.1f s)" % (platform, outcomes[0][2]))
        elif len(jobs) > 1 and all(isinstance(o, tuple) for o in outcomes):
            # per doubling of the time the module itself waited (work found running is waited for only in part)
            per_doubling = (outcomes[1][0] - outcomes[0][0]) / math.log2(outcomes[1][2] / outcomes[0][2])
            passed = per_doubling <= POLLS_PER_DOUBLING
            ok &= passed
            print("  %-14s  growth: %.1f polls per doubling of the time waited (%.1f s -> %.1f s; target <= %d): %s"
                  % (platform, per_doubling, outcomes[0][2], outcomes[1][2], POLLS_PER_DOUBLING, "PASS" if passed else "FAIL"))

    print("\nModel (same schedule, no HTTP): polls and worst-case lateness by job length:")
    print("  %8s  %6s  %12s  %8s" % ("job", "polls", "worst late", "late %"))
    for seconds in MODEL_JOBS:
        polls, worst = model(seconds)
        print("  %7.0fs  %6d  %11.2fs  %7.1f%%" % (seconds, polls, worst, 100 * worst / seconds))
    print("\nOVERALL: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
