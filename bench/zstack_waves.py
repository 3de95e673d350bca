"""Benchmark: ZStack waves through the roles as whole ansible-playbook runs (issue 14; not a test).

Then the V2V wave: --v2v-vms conversions (default 50) of --job-seconds each (the emulator's v2v_duration)
through the zstack_v2v_import role, --v2v-parallel (default 8) at a time: the same figures (targets: wall
<= 1.3 x floor, no-op re-run <= 5 s).

Storage migration: N VMs (default 200), each PrimaryStorageMigrateVm job lasting --job-seconds
(the emulator's migrate_duration, default 5 s), through the zstack_storage_migration role with
zstack_storage_migration_parallel (default 32) as one ``ansible-playbook`` run against the ZStack
emulator (in this process, on 127.0.0.1). Prints:

* wall: the whole ansible-playbook run (interpreter start, the role's plan call, its migrate call);
* floor: ceil(N / parallel) x job seconds, what the jobs alone take at that parallelism; ratio = wall / floor
  (target <= 1.3);
* the no-op re-run of the same playbook (target <= 5 s), with the mutating calls it sent (must be 0);
* controller CPU per VM: user + sys CPU of the whole ansible-playbook process tree (os.wait4), / N
  (target <= 20 ms), for the migrating run and the re-run;
* checks from the emulator: one PrimaryStorageMigrateVm per VM, every volume on the destination.

    .venv/bin/python bench/zstack_waves.py                       # 200 VMs, 5 s jobs, parallel 32: about 1 min
    .venv/bin/python bench/zstack_waves.py --vms 50 --parallel 8 --only storage
"""

import argparse
import json
import math
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))
sys.path.insert(0, ROOT)

from tests.emulators import zstack as emu  # noqa: E402
from tests.emulators._server import Running, TLSMaterial  # noqa: E402
from tests.emulators.admin import AdminClient  # noqa: E402
from tests.integration.zstack_helpers import PASSWORD, bulk_names, many_vms_seed  # noqa: E402
from bench.playbook_timer import timed_playbook  # noqa: E402

LOGIN_AND_LOGOUT = ("/zstack/v1/accounts/login", "/zstack/v1/accounts/sessions/")


def environment(server):
    """The ZStack connection, as AWX would inject it."""
    return {"ZSTACK_HOST": "127.0.0.1", "ZSTACK_PORT": server.url.rsplit(":", 1)[1], "ZSTACK_PROTOCOL": "https",
            "ZSTACK_CA_CERT": server.ca_path, "ZSTACK_USERNAME": "admin", "ZSTACK_PASSWORD": PASSWORD}


def playbook_run(path, env, tmp):
    return timed_playbook(path, tmp, env)


def mutations(admin):
    return [e for e in admin.mutations() if not e["path"].startswith(LOGIN_AND_LOGOUT)]


def storage_wave(server, admin, options, tmp):
    seed, uuids = many_vms_seed(options.vms, prefix="wave", migrate_duration=float(options.job_seconds),
                                async_delay=0.05)
    admin.reset(seed)
    play = [{"hosts": "localhost", "gather_facts": False,
             "roles": [{"role": "hybridcloud.migration.zstack_storage_migration",
                        "vars": {"zstack_storage_migration_vms": bulk_names(options.vms, "wave"),
                                 "zstack_storage_migration_target_primary_storage": "ps-ceph-01",
                                 "zstack_storage_migration_parallel": options.parallel}}]}]
    path = os.path.join(tmp, "storage.yml")
    with open(path, "w") as handle:
        json.dump(play, handle)
    env = environment(server)
    wall, cpu, code, text = playbook_run(path, env, tmp)
    if code != 0:
        raise SystemExit("the storage wave failed:\n" + text[-4000:])
    sent = mutations(admin)
    per_vm = {}
    for entry in sent:
        per_vm[entry["path"]] = per_vm.get(entry["path"], 0) + 1
    state = admin.state()
    wanted = set(uuids)
    placed = all(v["primaryStorageUuid"] == emu.PS_CEPH for v in state["volumes"] if v["vmInstanceUuid"] in wanted)
    admin.clear_journal()
    rerun_wall, rerun_cpu, rerun_code, rerun_text = playbook_run(path, env, tmp)
    if rerun_code != 0:
        raise SystemExit("the no-op re-run failed:\n" + rerun_text[-4000:])
    floor = math.ceil(options.vms / float(options.parallel)) * options.job_seconds
    return {"workflow": "zstack_storage_migration", "vms": options.vms, "job_s": options.job_seconds,
            "parallel": options.parallel, "wall_s": round(wall, 2), "floor_s": floor, "ratio": round(wall / floor, 3),
            "cpu_ms_per_vm": round(1000 * cpu / options.vms, 1), "migrate_calls": len(sent),
            "vms_migrated_once": sum(1 for n in per_vm.values() if n == 1), "all_on_destination": placed,
            "noop_wall_s": round(rerun_wall, 2), "noop_cpu_ms_per_vm": round(1000 * rerun_cpu / options.vms, 1),
            "noop_mutating_calls": len(mutations(admin))}


def v2v_wave(server, admin, options, tmp):
    """zstack_v2v_import with --v2v-vms conversions of --job-seconds each, --v2v-parallel at a time."""
    seed, dummy = many_vms_seed(0, v2v_duration=float(options.job_seconds), v2v_start_delay=0.1, async_delay=0.05)
    admin.reset(seed)
    count, parallel = options.v2v_vms, options.v2v_parallel
    vms = [{"name": "imp-%03d" % i, "url": "vmware://%032x" % (0x7e570000 + i)} for i in range(count)]
    play = [{"hosts": "localhost", "gather_facts": False,
             "roles": [{"role": "hybridcloud.migration.zstack_v2v_import",
                        "vars": {"zstack_v2v_import_vms": vms, "zstack_v2v_import_parallel": parallel,
                                 "zstack_v2v_import_defaults": {
                                     "cpu_num": 2, "memory_size": 4 * 1024 ** 3, "primary_storage": "ps-nfs-01",
                                     "l3_networks": ["l3-prod"], "conversion_host": "v2v-ch-01",
                                     "strategy": "JustConvert"}}}]}]
    path = os.path.join(tmp, "v2v.yml")
    with open(path, "w") as handle:
        json.dump(play, handle)
    env = environment(server)
    wall, cpu, code, text = playbook_run(path, env, tmp)
    if code != 0:
        raise SystemExit("the V2V wave failed:\n" + text[-4000:])
    sent = mutations(admin)
    state = admin.state()
    created = set(v["name"] for v in state["vm-instances"]) >= set(v["name"] for v in vms)
    admin.clear_journal()
    rerun_wall, rerun_cpu, rerun_code, rerun_text = playbook_run(path, env, tmp)
    if rerun_code != 0:
        raise SystemExit("the no-op re-run failed:\n" + rerun_text[-4000:])
    floor = math.ceil(count / float(parallel)) * options.job_seconds
    return {"workflow": "zstack_v2v_import", "vms": count, "job_s": options.job_seconds, "parallel": parallel,
            "wall_s": round(wall, 2), "floor_s": floor, "ratio": round(wall / floor, 3),
            "cpu_ms_per_vm": round(1000 * cpu / count, 1), "migrate_calls": len(sent),
            "vms_migrated_once": sum(1 for e in sent if e["path"] == "/zstack/v1/v2vs"), "all_on_destination": created,
            "noop_wall_s": round(rerun_wall, 2), "noop_cpu_ms_per_vm": round(1000 * rerun_cpu / count, 1),
            "noop_mutating_calls": len(mutations(admin))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--job-seconds", type=float, default=5.0)
    parser.add_argument("--parallel", type=int, default=32)
    parser.add_argument("--v2v-vms", type=int, default=50)
    parser.add_argument("--v2v-parallel", type=int, default=8)
    parser.add_argument("--only", choices=("storage", "v2v"), help="run one of the two waves")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    options = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-zstack-")
    server = Running(emu.ZStack(emu.DEFAULT_SEED), tls_material=TLSMaterial(tmp))
    admin = AdminClient(server.url, server.ca_path)
    try:
        results = []
        if options.only != "v2v":
            results.append(storage_wave(server, admin, options, tmp))
        if options.only != "storage":
            results.append(v2v_wave(server, admin, options, tmp))
    finally:
        server.stop()
    for r in results:
        print("%s: %d VMs, %g s jobs, parallel %d" % (r["workflow"], r["vms"], r["job_s"], r["parallel"]))
        print("  wall %.1f s, floor %g s, ratio %.2f (target <= 1.3)" % (r["wall_s"], r["floor_s"], r["ratio"]))
        print("  controller CPU %.1f ms/VM (target <= 20)" % r["cpu_ms_per_vm"])
        if r["workflow"] == "zstack_v2v_import":
            print("  calls: %d mutating, %d POST /v2vs, every VM created: %s"
                  % (r["migrate_calls"], r["vms_migrated_once"], r["all_on_destination"]))
        else:
            print("  calls: %d mutating, %d VMs migrated exactly once, every volume on the destination: %s"
                  % (r["migrate_calls"], r["vms_migrated_once"], r["all_on_destination"]))
        print("  no-op re-run: wall %.2f s (target <= 5), CPU %.1f ms/VM, %d mutating calls"
              % (r["noop_wall_s"], r["noop_cpu_ms_per_vm"], r["noop_mutating_calls"]))
    if options.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
