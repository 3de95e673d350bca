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

PLATFORMS = ("zstack", "nsx", "powervc", "vcenter_rest")


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
    source = start_vcsim(directory, wait=False, name="vcenter-source", tls=True, nics=2,
                         instance_uuid=str(uuid.uuid4()), vds_version="6.6.0", relocate_ms=1500)
    target = start_vcsim(directory, wait=False, name="vcenter-target", tls=True, vm=1,
                         instance_uuid=str(uuid.uuid4()), nsx_segments=3, opaque=2, vds_version="7.0.0")
    info["vcsim"] = {"source": source.wait_ready().info, "target": target.wait_ready().info}

    write(directory, info)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for running in started:
        running.stop()
    source.stop()
    target.stop()


def write(directory, info):
    """env.json as is, and vars.yml flattened for playbooks (the temporary file makes `up` see it whole)."""
    emulators, vcsim = info["emulators"], info["vcsim"]
    variables = {
        "demo_ca_path": info["ca_path"],
        "zstack_host": "127.0.0.1", "zstack_port": emulators["zstack"]["port"],
        "nsx_host": "127.0.0.1:%s" % emulators["nsx"]["port"],
        "powervc_auth_url": emulators["powervc"]["url"] + "/v3",
        "vcenter_rest_port": emulators["vcenter_rest"]["port"],
        "vcenter_source": {k: vcsim["source"][k] for k in ("host", "port", "username", "password", "cert_path")},
        "vcenter_target": {k: vcsim["target"][k] for k in ("host", "port", "username", "password", "cert_path")},
        "emulators": emulators,
    }
    for name, content in (("vars.yml", yaml.safe_dump(variables, sort_keys=False)), ("env.json", json.dumps(info, indent=2))):
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
