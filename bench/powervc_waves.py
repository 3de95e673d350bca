"""Benchmark: the PowerVC roles on a wave, each as a whole ``ansible-playbook`` run (not a test).

Against the PowerVC emulator (started in this process, TLS, keystone + compute as in the tests):

1. ``powervc_vsn_evacuation`` of N VSNs (default 100) reserved on one host: the first run's wall
   time, then the no-op re-run's wall time (target <= 2 s), with the mutating calls of each run
   from the emulator's journal (first run: one move; re-run: none).
2. ``powervc_vsn_redeploy`` (default) or a bare ``powervc_server`` task with ``vms`` (``--module``)
   deploying M new VMs (default 50), each build taking a fixed time (default 5 s), ``parallel`` P
   (default 8): wall time, the floor (ceil(M / P) x build time: the builds alone, at P at a time),
   the ratio wall / floor (target <= 1.3), the creates sent (exactly M), and the no-op re-run.

Controller CPU per VM: user + sys time of the whole ansible-playbook process tree (its workers and
the modules they ran, from os.wait4 in bench/playbook_timer.py) divided by the VM (or VSN) count
(target <= 20 ms). The emulator runs in this process and is not counted.

    .venv/bin/python bench/powervc_waves.py                    # 100 VSNs, 50 VMs x 5 s, parallel 8: about 1.5 min
    .venv/bin/python bench/powervc_waves.py --vms 50 --build-s 5 --parallel 8 --module
"""

import argparse
import json
import math
import os
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))
sys.path.insert(0, ROOT)

from tests.emulators._server import Running, TLSMaterial  # noqa: E402
from tests.emulators.admin import AdminClient  # noqa: E402
from tests.emulators.powervc import DEFAULT_SEED, HOST_A, HOST_B, PowerVC  # noqa: E402
from bench.playbook_timer import timed_playbook  # noqa: E402

SOURCE, TARGET = "prod-p10-a", "dr-p10-b"


def seed(vsns, vms):
    """The default seed plus VSNS reserved on prod-p10-a and VMS + 10 free VSNs on dr-p10-b (for 'auto')."""
    data = json.loads(json.dumps(DEFAULT_SEED))
    data["reserved"] += [{"virtual_serial_number": "EV%05d" % n, "host": HOST_A, "description": "bench"}
                         for n in range(vsns)]
    for host in data["hosts"]:
        if host["name"] == HOST_B:
            host["free_vsns"] = host["free_vsns"] + ["BD%05d" % n for n in range(vms + 10)]
    return data


def playbook(tmp, name, handle, roles=None, tasks=None, play_vars=None):
    info = handle.emulator.connection_info()
    play = {"name": name, "hosts": "localhost", "gather_facts": False,
            "module_defaults": {"group/hybridcloud.migration.powervc": {
                "auth": {"auth_url": info["auth_url"], "username": info["username"], "password": info["password"],
                         "project_name": info["project_name"]}, "ca_cert": handle.ca_path}},
            "vars": play_vars or {}}
    if roles:
        play["roles"] = roles
    if tasks:
        play["tasks"] = tasks
    path = os.path.join(tmp, name + ".yml")
    with open(path, "w") as stream:
        yaml.safe_dump([play], stream, sort_keys=False)
    return path


def run(tmp, path):
    """(wall seconds, CPU seconds of the whole ansible-playbook tree) of one ansible-playbook run."""
    wall, cpu, code, output = timed_playbook(path, tmp)
    if code != 0:
        raise SystemExit("%s failed:\n%s" % (path, output[-4000:]))
    return wall, cpu


def mutations(admin):
    return [e for e in admin.mutations() if not e["path"].startswith("/v3/")]


def evacuation(tmp, handle, admin, count):
    roles = [{"role": "hybridcloud.migration.powervc_vsn_evacuation",
              "vars": {"powervc_vsn_evacuation_source_host": SOURCE, "powervc_vsn_evacuation_target_host": TARGET}}]
    path = playbook(tmp, "evacuation", handle, roles=roles)
    admin.clear_journal()
    first_wall, first_cpu = run(tmp, path)
    first_calls = len(mutations(admin))
    admin.clear_journal()
    noop_wall, noop_cpu = run(tmp, path)
    moved = len([r for r in admin.state()["reserved"] if r["virtual_serial_number"].startswith("EV")
                 and r["host"] == HOST_B])
    return {"vsns": count, "moved": moved, "first_wall_s": round(first_wall, 2),
            "first_mutating_calls": first_calls, "first_cpu_ms_per_vsn": round(1000 * first_cpu / count, 1),
            "noop_wall_s": round(noop_wall, 2), "noop_mutating_calls": len(mutations(admin)),
            "noop_cpu_ms_per_vsn": round(1000 * noop_cpu / count, 1)}


def deploy(tmp, handle, admin, count, build_s, parallel, module):
    admin.action("settings", {"build_time": build_s})
    vms = [{"vm": "bench-%03d" % n, "virtual_serial_number": "auto", "image": "IBM i 7.5 base", "flavor": "ibmi-small",
            "networks": [{"network": "dr-vlan20"}]} for n in range(count)]
    if module:
        task = {"name": "deploy", "hybridcloud.migration.powervc_server": {
            "vms": [dict(v, host=TARGET) for v in vms], "parallel": parallel, "timeout": 3600}}
        path = playbook(tmp, "deploy", handle, tasks=[task])
    else:
        roles = [{"role": "hybridcloud.migration.powervc_vsn_redeploy",
                  "vars": {"powervc_vsn_redeploy_target_host": TARGET, "powervc_vsn_redeploy_vms": vms,
                           "powervc_vsn_redeploy_parallel": parallel, "powervc_vsn_redeploy_timeout": 3600}}]
        path = playbook(tmp, "redeploy", handle, roles=roles)
    admin.clear_journal()
    wall, cpu = run(tmp, path)
    creates = len([e for e in mutations(admin) if e["method"] == "POST" and e["path"].endswith("/servers")])
    active = len([s for s in admin.state()["servers"] if s["name"].startswith("bench-") and s["status"] == "ACTIVE"])
    floor = math.ceil(count / float(parallel)) * build_s
    admin.clear_journal()
    noop_wall, noop_cpu = run(tmp, path)
    return {"how": "powervc_server vms" if module else "powervc_vsn_redeploy role", "vms": count,
            "build_s": build_s, "parallel": parallel, "active": active, "creates": creates,
            "wall_s": round(wall, 2), "floor_s": round(floor, 2), "ratio": round(wall / floor, 3),
            "cpu_ms_per_vm": round(1000 * cpu / count, 1), "noop_wall_s": round(noop_wall, 2),
            "noop_mutating_calls": len(mutations(admin)), "noop_cpu_ms_per_vm": round(1000 * noop_cpu / count, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vsns", type=int, default=100, help="VSNs to evacuate")
    parser.add_argument("--vms", type=int, default=50, help="VMs to deploy")
    parser.add_argument("--build-s", type=float, default=5.0, help="build time of each VM (emulator)")
    parser.add_argument("--parallel", type=int, default=8, help="builds at a time")
    parser.add_argument("--module", action="store_true", help="deploy with a bare powervc_server task, not the role")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    options = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-powervc-")
    handle = Running(PowerVC(seed(options.vsns, options.vms)), tls_material=TLSMaterial(tmp))
    admin = AdminClient(handle.url, handle.ca_path)
    try:
        evac = evacuation(tmp, handle, admin, options.vsns)
        print("evacuation of %(vsns)d VSNs (role, whole ansible-playbook): first run %(first_wall_s)s s "
              "(%(first_mutating_calls)d mutating call(s), %(first_cpu_ms_per_vsn)s ms CPU/VSN, %(moved)d moved); "
              "no-op re-run %(noop_wall_s)s s (target <= 2 s; %(noop_mutating_calls)d mutating calls, "
              "%(noop_cpu_ms_per_vsn)s ms CPU/VSN)" % evac)
        dep = deploy(tmp, handle, admin, options.vms, options.build_s, options.parallel, options.module)
        print("deploy of %(vms)d VMs (%(how)s), %(build_s)s s builds, parallel %(parallel)d: wall %(wall_s)s s, "
              "floor %(floor_s)s s, ratio %(ratio)s (target <= 1.3); %(creates)d creates, %(active)d ACTIVE; "
              "controller CPU %(cpu_ms_per_vm)s ms/VM (target <= 20); no-op re-run %(noop_wall_s)s s "
              "(%(noop_mutating_calls)d mutating calls, %(noop_cpu_ms_per_vm)s ms CPU/VM)" % dep)
        if options.json:
            print(json.dumps({"evacuation": evac, "deploy": dep}, indent=2))
    finally:
        handle.stop()


if __name__ == "__main__":
    main()
