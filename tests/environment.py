"""A whole local test cloud: the four API emulators and two vCenter simulators, on 127.0.0.1.

    python -m tests.environment up   [--dir build/env]   # start in the background, wait until ready
    python -m tests.environment down [--dir build/env]   # stop what `up` started

`up` writes ``<dir>/env.json`` (every URL, credential, CA path and seed id) and ``<dir>/vars.yml``
(the same as playbook variables: ``-e @build/env/vars.yml``). `make demo` and the molecule
scenarios use it; pytest uses the fixtures instead.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import yaml

from tests.emulators._server import Running, TLSMaterial
from tests.emulators.admin import AdminClient

PLATFORMS = ("zstack", "nsx", "powervc", "vcenter_rest")


VCENTER_PASSWORD = "Demo-vCenter-Secret-1"  # long enough that masking it cannot garble other output


def serve(directory):
    """Start everything in this process (emulators as threads, vcsim as children) until SIGTERM."""
    import importlib

    from tests.vcsim_fixtures import start_vcsim

    os.makedirs(directory, exist_ok=True)
    tls = TLSMaterial(os.path.join(directory))
    started = []
    info = {"ca_path": tls.ca_path, "emulators": {}}
    for platform in PLATFORMS:
        module = importlib.import_module("tests.emulators." + platform)
        emulator = module.EMULATOR(module.DEFAULT_SEED)
        running = Running(emulator, tls_material=tls)
        started.append(running)
        info["emulators"][platform] = dict(emulator.connection_info(), url=running.url, port=running.port,
                                           ca_path=tls.ca_path)
    source = start_vcsim(directory, wait=False, name="vcenter-source", tls=True, host=2, vm=1, nics=2,
                         instance_uuid=str(uuid.uuid4()), vds_version="6.6.0", relocate_ms=1500,
                         password=VCENTER_PASSWORD)
    target = start_vcsim(directory, wait=False, name="vcenter-target", tls=True, host=2, vm=1, nsx_segments=2,
                         opaque=1, instance_uuid=str(uuid.uuid4()), vds_version="7.0.0", password=VCENTER_PASSWORD)
    info["vcsim"] = {"source": source.wait_ready().info, "target": target.wait_ready().info}
    info["nsx_inventory"] = wire_nsx(started[PLATFORMS.index("nsx")], info["vcsim"])

    write(directory, info)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for running in started:
        running.stop()
    source.stop()
    target.stop()


def wire_nsx(nsx, vcsim):
    """Tell the NSX emulator which source-vCenter VMs exist and which segment each vNIC joins.

    NIC n of every source VM goes to the target's NSX segment n, so a migration re-backs it onto
    the matching NSX distributed port group of the target vCenter.
    """
    segments = sorted(vcsim["target"]["nsx_dvpgs"].values())
    inventory = {vm["instance_uuid"]: [{"vnic": str(nic["key"]), "ls_id": segments[i % len(segments)]}
                                       for i, nic in enumerate(vm["nics"])]
                 for vm in vcsim["source"]["vms"]}
    AdminClient(nsx.url, nsx.ca_path).action("inventory", inventory)
    return inventory


def playbook_vars(info):
    """Variables for playbooks/*.yml (and the molecule scenarios) pointing at this environment."""
    emulators, vcsim = info["emulators"], info["vcsim"]
    zstack, powervc, vc_rest = emulators["zstack"], emulators["powervc"], emulators["vcenter_rest"]
    source, target = vcsim["source"], vcsim["target"]
    return {
        "zstack_hostname": "127.0.0.1", "zstack_port": zstack["port"], "zstack_protocol": "https",
        "zstack_username": zstack["username"], "zstack_password": zstack["password"],
        "zstack_ca_cert": info["ca_path"],
        "zstack_storage_migration_vms": ["web-01", "db-01"],
        "zstack_storage_migration_target_primary_storage": "ps-ceph-01",
        "zstack_v2v_import_defaults": {"primary_storage": "ps-nfs-01", "l3_networks": ["l3-prod"],
                                       "conversion_host": zstack["v2v-conversion-hosts"][0]["name"]},
        "zstack_v2v_import_vms": [{"name": "erp-01", "url": zstack["v2v_url"], "cpu_num": 2, "memory_size": 4294967296}],
        "nsx_hostname": emulators["nsx"]["url"], "nsx_username": emulators["nsx"]["username"],
        "nsx_password": emulators["nsx"]["password"], "nsx_ca_cert": info["ca_path"],
        "vcenter_hostname": source["host"], "vcenter_port": source["port"], "vcenter_username": source["username"],
        "vcenter_password": source["password"], "vcenter_ca_cert": source["cert_path"],
        "target_vcenter_hostname": target["host"], "target_vcenter_port": target["port"],
        "target_vcenter_username": target["username"], "target_vcenter_password": target["password"],
        "target_vcenter_ca_cert": target["cert_path"],
        "nsx_vmgroup_migration_target_host": target["hosts"][0]["name"],
        "nsx_vmgroup_migration_target_datastore": target["datastores"][0]["name"],
        "nsx_vmgroup_migration_groups": [{"group_id": "wave-01", "vms": sorted(
            vm["name"] for vm in source["vms"] if vm["instance_uuid"] in info["nsx_inventory"])}],
        "vcenter_ovf": {"hostname": "127.0.0.1", "port": vc_rest["port"], "username": vc_rest["username"],
                        "password": vc_rest["password"], "ca_cert": info["ca_path"], "inventory_lookup": "rest"},
        "vcenter_ovf_rollout_datacenter": "DC-East",
        "vcenter_ovf_rollout_library": "Migration Templates",
        "vcenter_ovf_rollout_cluster": "Prod",
        "vcenter_ovf_rollout_folder": "Migrated",
        "vcenter_ovf_rollout_network_mappings": {"VM Network": "VM Network", "Backend": "Backend"},
        "vcenter_ovf_rollout_accept_all_eula": True,
        "vcenter_ovf_rollout_vms": [{"vm": "web-new-01", "item": "ubuntu-22.04"},
                                    {"vm": "web-new-02", "item": "ubuntu-22.04"}],
        "powervc_auth_url": powervc["auth_url"], "powervc_username": powervc["username"],
        "powervc_password": powervc["password"], "powervc_project_name": powervc["project_name"],
        "powervc_ca_cert": info["ca_path"],
        "powervc_vsn_evacuation_source_host": "prod-p10-a",
        "powervc_vsn_evacuation_target_host": "dr-p10-b",
        # ibmi-prod-01 (VSN ABCD100) leaves prod-p10-a for dr-p10-b, keeping its licence.
        "powervc_vsn_redeploy_target_host": "dr-p10-b",
        "powervc_vsn_redeploy_delete_old": True,
        "powervc_vsn_redeploy_vms": [{"vm": "ibmi-prod-01", "virtual_serial_number": "ABCD100",
                                      "image": "IBM i 7.5 base", "flavor": "ibmi-small",
                                      "networks": [{"network": "dr-vlan20"}]}],
    }


def write(directory, info):
    """env.json as is and vars.yml for playbooks; each written whole, then renamed, so `up` never reads half."""
    for name, content in (("vars.yml", yaml.safe_dump(playbook_vars(info), sort_keys=False)),
                          ("env.json", json.dumps(info, indent=2))):
        path = os.path.join(directory, name)
        with open(path + ".tmp", "w") as handle:
            handle.write(content)
        os.replace(path + ".tmp", path)


def up(directory, timeout=120):
    down(directory, quiet=True)
    os.makedirs(directory, exist_ok=True)
    env_file = os.path.join(directory, "env.json")
    if os.path.exists(env_file):
        os.remove(env_file)
    log = open(os.path.join(directory, "environment.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.environment", "serve", "--dir", directory],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    with open(os.path.join(directory, "pid"), "w") as handle:
        handle.write(str(proc.pid))
    deadline = time.monotonic() + timeout
    while not os.path.exists(env_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            with open(os.path.join(directory, "environment.log")) as handle:
                sys.stderr.write(handle.read())
            down(directory, quiet=True)
            raise SystemExit("the test environment did not start")
        time.sleep(0.1)
    return env_file


def down(directory, quiet=False):
    pid_file = os.path.join(directory, "pid")
    if not os.path.exists(pid_file):
        return
    with open(pid_file) as handle:
        pid = int(handle.read().strip() or 0)
    os.remove(pid_file)
    try:
        os.kill(pid, signal.SIGTERM)
        for dummy in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if not quiet:
        print("test environment stopped")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.environment")
    parser.add_argument("command", choices=("up", "down", "serve"))
    parser.add_argument("--dir", default=os.path.join("build", "env"))
    args = parser.parse_args(argv)
    directory = os.path.abspath(args.dir)
    if args.command == "serve":
        serve(directory)
    elif args.command == "up":
        print(up(directory))
    else:
        down(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
