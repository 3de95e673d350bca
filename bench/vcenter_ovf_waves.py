"""Benchmark: vcenter_ovf_deploy with many VMs in one task (``vms`` + ``parallel``), not a test.

Starts the vCenter REST emulator with a fixed deploy duration, then runs ``ansible-playbook`` (the
whole process: interpreter start, module transfer, login, lookups) with one bulk task deploying
N VMs at most P at a time, and prints:

* wall: the whole ``ansible-playbook`` run;
* floor: ceil(N / P) x the deploy duration (what the emulator needs however fast the client is),
  plus the wall of a trivial ``ansible-playbook`` run (a ``ping``) measured in the same run;
* ratio: wall / floor;
* the no-op re-run: the same playbook again (every VM there: one read per folder, no deploy; the
  emulator journal must show zero mutating calls);
* controller CPU per VM: user+sys CPU of the whole ansible-playbook process tree
  (os.wait4, bench/playbook_timer.py) divided by N, for the deploy run and the re-run.

    .venv/bin/python bench/vcenter_ovf_waves.py                            # 50 VMs, 5 s deploys, parallel 8
    .venv/bin/python bench/vcenter_ovf_waves.py --vms 200 --parallel 32 --deploy-seconds 5
"""

import argparse
import math
import os
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.emulators._server import Running, TLSMaterial  # noqa: E402
from tests.emulators.admin import AdminClient  # noqa: E402
from tests.emulators.vcenter_rest import DEFAULT_SEED, VcenterRestEmulator  # noqa: E402
from bench.playbook_timer import timed_playbook  # noqa: E402

DEPLOY = "hybridcloud.migration.vcenter_ovf_deploy"


def play(workdir, name, tasks, module_defaults=None):
    entry = {"name": name, "hosts": "localhost", "gather_facts": False, "tasks": tasks}
    if module_defaults:
        entry["module_defaults"] = module_defaults
    path = os.path.join(workdir, name + ".yml")
    with open(path, "w") as handle:
        yaml.safe_dump([entry], handle, sort_keys=False)
    return path


def run(workdir, playbook):
    """(wall seconds, CPU seconds of the process tree, rc, output) of one ansible-playbook run."""
    return timed_playbook(playbook, workdir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--vms", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--deploy-seconds", type=float, default=5.0)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="bench-ovf-")
    running = Running(VcenterRestEmulator(DEFAULT_SEED), tls_material=TLSMaterial(workdir))
    try:
        admin = AdminClient(running.url, running.ca_path)
        admin.action("deploy-duration", {"seconds": args.deploy_seconds})
        user = DEFAULT_SEED["users"][0]
        defaults = {"group/hybridcloud.migration.vmware": {
            "hostname": "127.0.0.1", "port": int(running.url.rsplit(":", 1)[1]), "username": user["username"],
            "password": user["password"], "ca_cert": running.ca_path, "inventory_lookup": "rest"}}
        task = {"name": "wave", DEPLOY: {
            "library": "Migration Templates", "item": "ubuntu-22.04", "datacenter": "DC-East", "cluster": "Prod",
            "folder": "Migrated", "datastore": "east-vsan", "accept_all_eula": True,
            "network_mappings": {"VM Network": "Backend"}, "parallel": args.parallel, "timeout": 3600,
            "vms": [{"vm": "bench-%03d" % n} for n in range(1, args.vms + 1)]}}
        trivial = play(workdir, "trivial", [{"name": "ping", "ansible.builtin.ping": {}}])
        wave = play(workdir, "wave", [task], defaults)

        overhead, dummy, rc, output = run(workdir, trivial)
        assert rc == 0, output
        wall, cpu, rc, output = run(workdir, wave)
        assert rc == 0, output[-3000:]
        deployed = [vm for vm in admin.state()["vms"] if vm["name"].startswith("bench-")]
        assert len(deployed) == args.vms, len(deployed)
        admin.clear_journal()
        noop_wall, noop_cpu, rc, output = run(workdir, wave)
        assert rc == 0 and "changed=0" in output, output[-3000:]
        # deploys and power-ons (find, filter and login are POSTs that change nothing)
        mutating = [e for e in admin.journal() if e["method"] in ("POST", "PUT", "PATCH", "DELETE")
                    and (("/ovf/library-item" in e["path"] and "filter" not in e["query"]) or "/power" in e["path"])]
        assert not mutating, mutating
        calls = len(admin.journal())
    finally:
        running.stop()

    rounds = math.ceil(args.vms / args.parallel)
    floor = rounds * args.deploy_seconds + overhead
    print("vcenter_ovf_deploy bulk: %d VMs, %.1f s deploys, parallel %d (%d rounds)"
          % (args.vms, args.deploy_seconds, args.parallel, rounds))
    print("  wall               %7.1f s" % wall)
    print("  floor              %7.1f s  (%d x %.1f s + %.1f s for a trivial ansible-playbook run)"
          % (floor, rounds, args.deploy_seconds, overhead))
    print("  ratio              %7.2f" % (wall / floor))
    print("  no-op re-run wall  %7.1f s  (%d journalled POST/DELETE calls: login, finds, logout; 0 deploys or "
          "power-ons)" % (noop_wall, calls))
    print("  controller CPU/VM  %7.1f ms  (deploy run, whole ansible-playbook tree)" % (1000 * cpu / args.vms))
    print("  controller CPU/VM  %7.1f ms  (no-op re-run)" % (1000 * noop_cpu / args.vms))


if __name__ == "__main__":
    main()
