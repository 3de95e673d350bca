"""How many polls vcenter_ovf_deploy makes while it waits for a running deploy, and how late it notices its end.

    .venv/bin/python bench/vcenter_ovf_polling.py

The deploy call itself is synchronous: a run that sends it is answered the moment vCenter finishes
(nothing to poll). Polling happens when a run finds a deploy still running (an earlier run was
killed, timed out or lost its answer): vCenter refuses to power the VM on until its deploy ends,
and ``start_when_free`` tries again on the collection's schedule (``_polling.PollBackoff``).

Real time: two vCenter REST emulators run in-process (plain HTTP on 127.0.0.1), one with a 5 s and
one with a 60 s deploy, at once (about a minute). A background client starts the deploy; the
measured client finds the VM by name, then calls ``start_when_free``. Polls = start calls made;
lateness = the moment the VM was powered on minus the moment the emulator ended the deploy.

Targets: at most 1 s late for the 5 s deploy, at most 10 % late for the 60 s one. Exit status 0
when both pass.
"""

import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "build", "collections")]

from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import (  # noqa: E402
    RestInventory, start_when_free)
from ansible_collections.hybridcloud.migration.plugins.module_utils.vcenter_rest import VcenterRestClient  # noqa: E402
from tests.emulators import vcenter_rest as emu  # noqa: E402
from tests.emulators._server import Running  # noqa: E402

DEPLOYS = (5.0, 60.0)
SHORT_LIMIT = 1.0  # seconds late, for the short deploy
LONG_RATIO = 0.10  # fraction late, for the long one
UBUNTU = "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"
TARGET = {"resource_pool_id": "resgroup-22", "folder_id": "group-v40"}


def client_for(server):
    user = emu.DEFAULT_SEED["users"][0]
    client = VcenterRestClient("127.0.0.1", user["username"], user["password"], port=server.port, api_family="api",
                               scheme="http")
    client.login()
    return client


def measure(duration, results):
    """Deploy for DURATION seconds; results[duration] = (polls, seconds late)."""
    seed = dict(emu.DEFAULT_SEED, settings=dict(emu.DEFAULT_SEED["settings"], deploy_seconds=duration))
    emulator = emu.EMULATOR(seed)
    server = Running(emulator, tls=False)
    deployer = client_for(server)
    try:
        spec = {"name": "bench-vm", "accept_all_EULA": True}
        thread = threading.Thread(target=deployer.deploy, args=(UBUNTU, TARGET, spec), kwargs={"timeout": duration + 60})
        thread.start()
        client = client_for(server)
        inventory = RestInventory(client)
        found = []
        while not found:  # registered when the deploy starts
            found = inventory.vms_in_folder("bench-vm", "group-v40")
            time.sleep(0.05)
        outcome, polls = start_when_free(inventory, found[0], duration * 3)
        noticed = time.time()
        with emulator.lock:
            ended = emulator.objects["vms"][found[0]]["deploying_until"]
        assert outcome == "started", outcome
        results[duration] = (polls, noticed - ended)
        thread.join()
        client.close()
    finally:
        deployer.close()
        server.stop()


def main():
    results = {}
    threads = [threading.Thread(target=measure, args=(d, results)) for d in DEPLOYS]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("vCenter OVF deploy found running, waited for through power-on (PollBackoff), %.0f s:"
          % (time.monotonic() - start))
    print("  %8s  %6s  %10s  %8s  %-14s  %s" % ("deploy", "polls", "late (s)", "late %", "target", "result"))
    ok = True
    for duration in DEPLOYS:
        if duration not in results:
            print("  %7.0fs  run failed" % duration)
            ok = False
            continue
        polls, late = results[duration]
        short = duration <= 10
        passed = late <= SHORT_LIMIT if short else late <= LONG_RATIO * duration
        ok &= passed
        print("  %7.0fs  %6d  %10.2f  %7.1f%%  %-14s  %s" % (
            duration, polls, late, 100 * late / duration, "<= 1 s late" if short else "<= 10 % late",
            "PASS" if passed else "FAIL"))
    print("OVERALL: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
