"""Benchmark: nsx_vmgroup_execution on many VMs, at parallel 1, 4 and 8 (not a test).

Runs the real module in-process (NSX emulator + one vcsim launcher per parallel level, each VM
with 2 vNICs mapped to 2 NSX segments) and prints, per level: wall time, relocations, SOAP round
trips (summed ``VSphere.calls`` of the module's vSphere clients, login/logout included), SOAP
calls per VM, and the per-VM slope: (calls - calls that do not grow with the VM count) / VMs, the
constant being every call but RelocateVM_Task and WaitForUpdatesEx, plus the one initial
WaitForUpdatesEx of each task watcher; then the speed-up of parallel 8 over parallel 1 and, with
``--breakdown``, the calls per SOAP method.

Then, on the launcher of the highest level (everything migrated there), the no-op re-run as a
whole ``ansible`` process (``ansible localhost -m ...``: interpreter start, module transfer,
logins, the reads, no call that changes anything: checked in the NSX journal), and the
interruption-recovery figure: on a fresh launcher, an ``ansible`` run killed (SIGKILL, the whole
process tree) once half of the relocations have started, then the wall time of the re-run that
adopts the running relocations and finishes the group (one relocation per VM: checked in the
launcher's task list).

Targets (issue 11): 200 VMs x 2 vNICs, 2 s vMotion, parallel 8 <= 60 s; at most 3 SOAP calls per
VM + a constant, plus one SetField per migrated VM for the post_migrate marker (reported apart);
the no-op re-run of 200 VMs <= 5 s as a whole ``ansible`` process; parallel 8 at least 6x faster
than parallel 1 when both levels run.

    .venv/bin/python bench/nsx_migration.py                      # 48 VMs, 2 s vMotion, levels 1,4,8: about 3 min
    .venv/bin/python bench/nsx_migration.py --vms 200 --levels 8  # the issue's size: about 3 min
    .venv/bin/python bench/nsx_migration.py --vms 200 --vmotion-ms 2000 --levels 1,4,8   # about 10 min
"""

import argparse
import collections
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))
sys.path.insert(0, ROOT)

from ansible_collections.hybridcloud.migration.plugins.module_utils import vsphere  # noqa: E402
from ansible_collections.hybridcloud.migration.plugins.modules import nsx_vmgroup_execution  # noqa: E402
from tests.emulators._server import Running, TLSMaterial  # noqa: E402
from tests.emulators.admin import AdminClient  # noqa: E402
from tests.emulators.nsx import DEFAULT_SEED, NsxEmulator  # noqa: E402
from tests.integration.playbook import _descendants  # noqa: E402
from tests.unit.module_runner import run_module  # noqa: E402
from tests.vcsim_fixtures import start_vcsim  # noqa: E402

VMS_PER_HOST = 8


class CountingVSphere(vsphere.VSphere):
    """VSphere that remembers its instances, so the bench can sum their SOAP calls."""
    instances = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        CountingVSphere.instances.append(self)


def module_args(vc, admin_url, ca_path, group, parallel):
    return {"nsx_hostname": admin_url, "nsx_username": "admin", "nsx_password": DEFAULT_SEED["users"]["admin"],
            "nsx_ca_cert": ca_path, "hostname": vc.host, "port": vc.port, "username": vc.username,
            "password": vc.password, "ca_cert": vc.cert_path, "group_id": group,
            "vms": [v["name"] for v in vc.info["vms"]], "target_cluster": "DC0_C0",  # by name: resolution measured too
            "backing": "dvpg", "parallel": parallel, "timeout": 3600}


def load_inventory(vc, admin_url, ca_path):
    ls_ids = sorted(vc.info["nsx_dvpgs"].values())
    inventory = dict((v["instance_uuid"], [{"vnic": "4000", "ls_id": ls_ids[0]}, {"vnic": "4001", "ls_id": ls_ids[1]}])
                     for v in vc.info["vms"])
    AdminClient(admin_url, ca_path).reset(dict(DEFAULT_SEED, inventory=inventory))


def ansible_process(args, tmp):
    """``ansible localhost -m hybridcloud.migration.nsx_vmgroup_execution -a <json>`` started in its own session."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m",
               "hybridcloud.migration.nsx_vmgroup_execution", "-a", json.dumps(args)]
    output = open(os.path.join(tmp, "ansible-%d.txt" % time.monotonic_ns()), "w+")
    return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True), output


def ansible_result(proc, output):
    proc.wait(timeout=3600)
    output.seek(0)
    text = output.read()
    try:  # "localhost | CHANGED => {...}" (or SUCCESS, FAILED!)
        return json.loads(text[text.index("=> {") + 3:])
    except ValueError:
        raise SystemExit("ansible run failed:\n" + text[-3000:])


def launcher_tasks(vc):
    return requests.get(vc.url.replace("/sdk", "/_launcher/tasks"), verify=vc.cert_path, timeout=30).json()


def noop_rerun(vc, admin_url, ca_path, group, parallel, tmp):
    """Wall time of the no-op re-run as a whole ansible process, and the NSX calls that changed something."""
    admin = AdminClient(admin_url, ca_path)
    admin.clear_journal()
    before = len(launcher_tasks(vc))
    started = time.monotonic()
    result = ansible_result(*ansible_process(module_args(vc, admin_url, ca_path, group, parallel), tmp))
    wall = time.monotonic() - started
    mutations = admin.mutations(ignore=[r"^/api/session/"])
    return {"wall_s": round(wall, 2), "changed": result.get("changed"), "nsx_mutations": len(mutations),
            "new_tasks": len(launcher_tasks(vc)) - before, "failed": result.get("failed", False)}


def interrupted(vc, admin_url, ca_path, parallel, tmp):
    """Kill an ansible run at half-wave (half of the relocations started), then time the re-run."""
    load_inventory(vc, admin_url, ca_path)
    args = module_args(vc, admin_url, ca_path, "bench-kill", parallel)
    half = len(vc.info["vms"]) // 2
    proc, output = ansible_process(args, tmp)
    while len(launcher_tasks(vc)) < half:
        if proc.poll() is not None:
            raise SystemExit("the run ended before half-wave")
        time.sleep(0.05)
    tree = _descendants(proc.pid)
    for pid in tree:
        os.kill(pid, signal.SIGSTOP)
    for pid in tree | _descendants(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    killed_at = len(launcher_tasks(vc))
    started = time.monotonic()
    result = ansible_result(*ansible_process(args, tmp))
    wall = time.monotonic() - started
    tasks = launcher_tasks(vc)
    per_vm = collections.Counter(t["vm"] for t in tasks)
    outcomes = collections.Counter(v["outcome"] for v in result["vms"])
    return {"killed_after_tasks": killed_at, "rerun_wall_s": round(wall, 2), "outcomes": dict(outcomes),
            "relocated_twice": sum(1 for n in per_vm.values() if n > 1), "failed": result.get("failed", False)}


def run_level(parallel, vc, admin_url, ca_path):
    vms = vc.info["vms"]
    load_inventory(vc, admin_url, ca_path)
    CountingVSphere.instances = []
    args = module_args(vc, admin_url, ca_path, "bench-%d" % parallel, parallel)
    started = time.monotonic()
    result, code = run_module(nsx_vmgroup_execution.main, args)
    wall = time.monotonic() - started
    if code != 0:
        raise SystemExit("parallel %d failed: %s" % (parallel, result.get("msg")))
    relocated = sum(1 for v in result["vms"] if v["outcome"] == "relocated")
    calls = sum(c.calls for c in CountingVSphere.instances)
    by_method = collections.Counter()
    for client in CountingVSphere.instances:
        by_method.update(client.calls_by_method)
    # Per-VM calls: the relocations and the waits, minus the one initial wait of each task watcher;
    # the post_migrate marker (SetField, one per migrated VM) is counted apart.
    watchers = by_method["CreatePropertyCollector"]
    per_vm = by_method["RelocateVM_Task"] + by_method["WaitForUpdatesEx"] - watchers
    markers = by_method["SetField"]
    return {"parallel": parallel, "vms": len(vms), "relocated": relocated, "wall_s": round(wall, 2), "soap_calls": calls,
            "soap_per_vm": round(calls / float(len(vms)), 2), "constant": calls - per_vm - markers,
            "slope_per_vm": round(per_vm / float(len(vms)), 2), "marker_per_vm": round(markers / float(len(vms)), 2),
            "by_method": dict(sorted(by_method.items()))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=48, help="VMs to migrate (rounded up to a multiple of 8)")
    parser.add_argument("--vmotion-ms", type=int, default=2000, help="simulated vMotion duration per VM")
    parser.add_argument("--levels", default="1,4,8", help="parallel levels to run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--breakdown", action="store_true", help="print the SOAP calls per method too")
    parser.add_argument("--no-rerun", action="store_true", help="skip the no-op re-run and the interruption figure")
    options = parser.parse_args()
    levels = [int(x) for x in options.levels.split(",")]
    hosts = int(math.ceil(options.vms / float(VMS_PER_HOST)))
    tmp = tempfile.mkdtemp(prefix="bench-nsx-")
    vsphere.VSphere = CountingVSphere  # the module opens its clients through vsphere.open_vsphere
    # One launcher per level: a relocated VM is already migrated for the next level.
    vcs = [start_vcsim(tmp, wait=False, name="bench-p%d" % level, tls=True, host=hosts, vm=VMS_PER_HOST, nics=2,
                       nsx_segments=2, vds_version="7.0.0", relocate_ms=options.vmotion_ms) for level in levels]
    kill_vc = None if options.no_rerun else start_vcsim(tmp, wait=False, name="bench-kill", tls=True, host=hosts,
                                                        vm=VMS_PER_HOST, nics=2, nsx_segments=2, vds_version="7.0.0",
                                                        relocate_ms=options.vmotion_ms)
    tls = TLSMaterial(tmp)
    nsx = NsxEmulator(DEFAULT_SEED)
    server = Running(nsx, tls_material=tls)
    results = []
    try:
        for vc in vcs:
            vc.wait_ready(timeout=120)
        print("%d VMs x 2 vNICs, vMotion %d ms" % (hosts * VMS_PER_HOST, options.vmotion_ms))
        header = ("parallel", "wall (s)", "relocated", "SOAP calls", "SOAP/VM", "constant", "slope/VM", "marker/VM")
        print("%-9s %-10s %-9s %-11s %-8s %-9s %-9s %-9s" % header)
        for level, vc in zip(levels, vcs):
            row = run_level(level, vc, server.url, tls.ca_path)
            results.append(row)
            values = tuple(row[k] for k in ("parallel", "wall_s", "relocated", "soap_calls", "soap_per_vm", "constant",
                                            "slope_per_vm", "marker_per_vm"))
            print("%-9d %-10.2f %-9d %-11d %-8.2f %-9d %-9.2f %-9.2f" % values)
            if options.breakdown:
                print("          " + ", ".join("%s %d" % item for item in row["by_method"].items()))
        if not options.no_rerun:
            level, vc = levels[-1], vcs[-1]
            noop = noop_rerun(vc, server.url, tls.ca_path, "bench-%d" % level, level, tmp)
            print("no-op re-run of %d VMs as a whole ansible process: %.2f s (target <= 5 s): %s; changed %s, NSX "
                  "mutating calls %d, new vCenter tasks %d" % (len(vc.info["vms"]), noop["wall_s"],
                                                               "ok" if noop["wall_s"] <= 5 else "MISSED", noop["changed"],
                                                               noop["nsx_mutations"], noop["new_tasks"]))
            kill_vc.wait_ready(timeout=120)
            kill = interrupted(kill_vc, server.url, tls.ca_path, level, tmp)
            print("interruption recovery (parallel %d): killed after %d of %d relocations started; re-run %.2f s, "
                  "outcomes %s, VMs relocated twice: %d" % (level, kill["killed_after_tasks"], len(kill_vc.info["vms"]),
                                                            kill["rerun_wall_s"], kill["outcomes"], kill["relocated_twice"]))
    finally:
        server.stop()
        for vc in vcs + ([kill_vc] if kill_vc else []):
            vc.stop()
    by_level = dict((r["parallel"], r) for r in results)
    if 1 in by_level and 8 in by_level:
        ratio = by_level[1]["wall_s"] / by_level[8]["wall_s"]
        print("speed-up parallel 8 vs 1: %.1fx (target >= 6x): %s" % (ratio, "ok" if ratio >= 6 else "MISSED"))
    worst = max(results, key=lambda r: r["slope_per_vm"])
    print("worst SOAP calls per VM: %.2f + %d/VMs (target <= 3 + constant/VMs): %s; plus %.2f SetField per VM "
          "(the post_migrate marker, one per migrated VM)"
          % (worst["slope_per_vm"], worst["constant"], "ok" if worst["slope_per_vm"] <= 3 else "MISSED",
             worst["marker_per_vm"]))
    if 8 in by_level:
        print("parallel 8 wall time: %.2f s (target <= 60 s for 200 VMs x 2 s vMotion): %s"
              % (by_level[8]["wall_s"], "ok" if by_level[8]["wall_s"] <= 60 else "MISSED"))
    if options.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
