"""Benchmark: nsx_vmgroup_execution on many VMs, at parallel 1, 4 and 8 (not a test).

Runs the real module in-process (NSX emulator + one vcsim launcher per parallel level, each VM
with 2 vNICs mapped to 2 NSX segments) and prints, per level: wall time, relocations, SOAP round
trips (summed ``VSphere.calls`` of the module's vSphere clients, login/logout included), SOAP
calls per VM, and the per-VM slope: (calls - calls that do not grow with the VM count) / VMs, the
constant being every call but RelocateVM_Task and WaitForUpdatesEx, plus the one initial
WaitForUpdatesEx of each task watcher; then the speed-up of parallel 8 over parallel 1 and, with
``--breakdown``, the calls per SOAP method.

Targets: parallel 8 at least 6x faster than parallel 1; at most 3 SOAP calls per VM + a constant.

    .venv/bin/python bench/nsx_migration.py                      # 48 VMs, 2 s vMotion: about 2.5 min
    .venv/bin/python bench/nsx_migration.py --vms 200 --vmotion-ms 500
    .venv/bin/python bench/nsx_migration.py --vms 200 --vmotion-ms 2000   # full size: about 9 min
"""

import argparse
import collections
import json
import math
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))
sys.path.insert(0, ROOT)

from ansible_collections.hybridcloud.migration.plugins.module_utils import vsphere  # noqa: E402
from ansible_collections.hybridcloud.migration.plugins.modules import nsx_vmgroup_execution  # noqa: E402
from tests.emulators._server import Running, TLSMaterial  # noqa: E402
from tests.emulators.admin import AdminClient  # noqa: E402
from tests.emulators.nsx import DEFAULT_SEED, NsxEmulator  # noqa: E402
from tests.unit.module_runner import run_module  # noqa: E402
from tests.vcsim_fixtures import start_vcsim  # noqa: E402

VMS_PER_HOST = 8


class CountingVSphere(vsphere.VSphere):
    """VSphere that remembers its instances, so the bench can sum their SOAP calls."""
    instances = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        CountingVSphere.instances.append(self)


def run_level(parallel, vc, admin_url, ca_path):
    vms = vc.info["vms"]
    ls_ids = sorted(vc.info["nsx_dvpgs"].values())
    inventory = dict((v["instance_uuid"], [{"vnic": "4000", "ls_id": ls_ids[0]}, {"vnic": "4001", "ls_id": ls_ids[1]}])
                     for v in vms)
    AdminClient(admin_url, ca_path).reset(dict(DEFAULT_SEED, inventory=inventory))
    CountingVSphere.instances = []
    args = {"nsx_host": admin_url, "nsx_username": "admin", "nsx_password": DEFAULT_SEED["users"]["admin"],
            "nsx_ca_path": ca_path, "vcenter_hostname": vc.host, "vcenter_port": vc.port, "vcenter_username": vc.username,
            "vcenter_password": vc.password, "vcenter_ca_path": vc.cert_path, "group_id": "bench-%d" % parallel,
            "pre_migrate": {"vm_instance_ids": [v["instance_uuid"] for v in vms]}, "target_cluster": "DC0_C0",
            "backing": "dvpg", "parallel": parallel, "timeout": 3600}
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
    # Per-VM calls: the relocations and the waits, minus the one initial wait of each task watcher.
    watchers = by_method["CreatePropertyCollector"]
    per_vm = by_method["RelocateVM_Task"] + by_method["WaitForUpdatesEx"] - watchers
    return {"parallel": parallel, "vms": len(vms), "relocated": relocated, "wall_s": round(wall, 2), "soap_calls": calls,
            "soap_per_vm": round(calls / float(len(vms)), 2), "constant": calls - per_vm,
            "slope_per_vm": round(per_vm / float(len(vms)), 2), "by_method": dict(sorted(by_method.items()))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=48, help="VMs to migrate (rounded up to a multiple of 8)")
    parser.add_argument("--vmotion-ms", type=int, default=2000, help="simulated vMotion duration per VM")
    parser.add_argument("--levels", default="1,4,8", help="parallel levels to run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--breakdown", action="store_true", help="print the SOAP calls per method too")
    options = parser.parse_args()
    levels = [int(x) for x in options.levels.split(",")]
    hosts = int(math.ceil(options.vms / float(VMS_PER_HOST)))
    tmp = tempfile.mkdtemp(prefix="bench-nsx-")
    vsphere.VSphere = CountingVSphere  # the module opens its clients through vsphere.open_vsphere
    # One launcher per level: a relocated VM is already migrated for the next level.
    vcs = [start_vcsim(tmp, wait=False, name="bench-p%d" % level, tls=True, host=hosts, vm=VMS_PER_HOST, nics=2,
                       nsx_segments=2, vds_version="7.0.0", relocate_ms=options.vmotion_ms) for level in levels]
    tls = TLSMaterial(tmp)
    nsx = NsxEmulator(DEFAULT_SEED)
    server = Running(nsx, tls_material=tls)
    results = []
    try:
        for vc in vcs:
            vc.wait_ready(timeout=120)
        print("%d VMs x 2 vNICs, vMotion %d ms" % (hosts * VMS_PER_HOST, options.vmotion_ms))
        header = ("parallel", "wall (s)", "relocated", "SOAP calls", "SOAP/VM", "constant", "slope/VM")
        print("%-9s %-10s %-9s %-11s %-8s %-9s %-10s" % header)
        for level, vc in zip(levels, vcs):
            row = run_level(level, vc, server.url, tls.ca_path)
            results.append(row)
            values = tuple(row[k] for k in ("parallel", "wall_s", "relocated", "soap_calls", "soap_per_vm", "constant", "slope_per_vm"))
            print("%-9d %-10.2f %-9d %-11d %-8.2f %-9d %-10.2f" % values)
            if options.breakdown:
                print("          " + ", ".join("%s %d" % item for item in row["by_method"].items()))
    finally:
        server.stop()
        for vc in vcs:
            vc.stop()
    by_level = dict((r["parallel"], r) for r in results)
    if 1 in by_level and 8 in by_level:
        ratio = by_level[1]["wall_s"] / by_level[8]["wall_s"]
        print("speed-up parallel 8 vs 1: %.1fx (target >= 6x): %s" % (ratio, "ok" if ratio >= 6 else "MISSED"))
    worst = max(results, key=lambda r: r["slope_per_vm"])
    print("worst SOAP calls per VM: %.2f + %d/VMs (target <= 3 + constant/VMs): %s"
          % (worst["slope_per_vm"], worst["constant"], "ok" if worst["slope_per_vm"] <= 3 else "MISSED"))
    if options.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
