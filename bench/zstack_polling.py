"""How many polls the ZStack client makes for a job, and how late it notices the job's end.

    .venv/bin/python bench/zstack_polling.py

Real time: two ZStack emulators run in-process (plain HTTP on 127.0.0.1), one with a 5 s and one
with a 60 s PrimaryStorageMigrateVm; both migrations run at once, so the bench takes about a
minute. Lateness = the moment ``call_async`` returns minus the moment the emulator completed the
api-job (its scheduled completion time). The same schedule is then evaluated as a model (pure
``next_poll_delay``, no HTTP) for longer jobs, to show how the poll count grows.

Targets: at most 1 s late for the short job, at most 10 % late for the long one, and poll counts
that grow logarithmically with the job's length (few polls added per doubling of the length)
until the 15 s cap is reached. Exit status 0 when all pass.
"""

import math
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "build", "collections")]

from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import PollBackoff, next_poll_delay  # noqa: E402
from ansible_collections.hybridcloud.migration.plugins.module_utils.zstack import ZStackClient  # noqa: E402
from tests.emulators import zstack as emu  # noqa: E402
from tests.emulators._server import Running  # noqa: E402

REAL_JOBS = (5.0, 60.0)
MODEL_JOBS = (5.0, 60.0, 600.0, 3600.0, 86400.0)
SHORT_LIMIT = 1.0  # seconds late, for the short job
LONG_RATIO = 0.10  # fraction late, for the long job
POLLS_PER_DOUBLING = 8  # the 10 % cap adds ln 2 / ln 1.1 = 7.3 polls per doubling of the length


def real_run(duration, results):
    emulator = emu.EMULATOR(dict(emu.DEFAULT_SEED, config=dict(emu.DEFAULT_SEED["config"], migrate_duration=duration)))
    server = Running(emulator, tls=False)
    try:
        backoff = PollBackoff()  # the modules' defaults: 0.5 s, doubling, <= 10 % of the wait, <= 15 s
        client = ZStackClient(server.url, account_name="admin", password="password", poll_backoff=backoff)
        client.query("hosts")  # log in first: only the submit and the polls are counted
        before = client.calls
        job, answer = client.call_async("PUT", "/zstack/v1/vm-instances/%s/actions" % emu.VM_WEB,
                                        {"primaryStorageMigrateVm": {"dstPrimaryStorageUuid": emu.PS_CEPH}},
                                        "PrimaryStorageMigrateVm", "web-01", timeout=duration * 3)
        noticed = time.time()
        polls = client.calls - before - 1
        with emulator.lock:
            done = emulator.api_jobs[job.uuid]["done"]
        assert {v["primaryStorageUuid"] for v in answer["inventory"]["allVolumes"]} == {emu.PS_CEPH}
        client.close()
        results[duration] = (polls, noticed - done)
    finally:
        server.stop()


def model(duration):
    """(polls, worst lateness) of the default schedule for a job of DURATION seconds."""
    backoff = PollBackoff()
    waited, polls, previous, worst = 0.0, 1, None, 0.0  # the first poll comes right after the submit
    while waited < duration:
        previous = next_poll_delay(previous, waited, backoff.initial, backoff.factor, backoff.maximum, backoff.ratio)
        waited += previous
        polls += 1
        worst = previous  # the job may have ended just after the previous poll
    return polls, worst


def main():
    results = {}
    threads = [threading.Thread(target=real_run, args=(d, results)) for d in REAL_JOBS]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    ok = True

    print("Real time (emulated PrimaryStorageMigrateVm, default schedule), %.0f s:" % elapsed)
    print("  %8s  %6s  %10s  %8s  %-18s  %s" % ("job", "polls", "late (s)", "late %", "target", "result"))
    for duration in REAL_JOBS:
        if duration not in results:
            print("  %7.0fs  run failed" % duration)
            ok = False
            continue
        polls, late = results[duration]
        short = duration <= 10
        passed = late <= SHORT_LIMIT if short else late <= LONG_RATIO * duration
        ok &= passed
        print("  %7.0fs  %6d  %10.2f  %7.1f%%  %-18s  %s" % (
            duration, polls, late, 100 * late / duration, "<= 1 s late" if short else "<= 10 % late",
            "PASS" if passed else "FAIL"))

    print("\nModel (same schedule, no HTTP): polls and worst-case lateness by job length:")
    print("  %8s  %6s  %12s  %8s" % ("job", "polls", "worst late", "late %"))
    for duration in MODEL_JOBS:
        polls, worst = model(duration)
        print("  %7.0fs  %6d  %11.2fs  %7.1f%%" % (duration, polls, worst, 100 * worst / duration))

    if len(results) == len(REAL_JOBS):
        (short_polls, dummy), (long_polls, dummy2) = results[REAL_JOBS[0]], results[REAL_JOBS[1]]
        per_doubling = (long_polls - short_polls) / math.log2(REAL_JOBS[1] / REAL_JOBS[0])
        fixed = REAL_JOBS[1] / PollBackoff().initial
        passed = per_doubling <= POLLS_PER_DOUBLING
        ok &= passed
        verdict = "PASS" if passed else "FAIL"
        print("\nGrowth: %.1f polls per doubling of the job length (target <= %d; a fixed %.1f s interval would "
              "poll %d times for %.0f s): %s" % (per_doubling, POLLS_PER_DOUBLING, PollBackoff().initial, fixed,
                                                 REAL_JOBS[1], verdict))
    print("\nOVERALL: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
