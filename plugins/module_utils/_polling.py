# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one waiting primitive: a backoff schedule, a deadline and an injectable clock.

HTTP retries and job polling both use ``Backoff``; everything that waits for work to finish
uses ``wait_for``. Tests pass a ``FakeClock`` so that nothing really sleeps.
"""

from __future__ import annotations

import random
import time

from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import WaitTimeoutError


class Clock:
    """Real time. ``now`` is monotonic: wall-clock jumps must not end a wait early."""

    def now(self):
        return time.monotonic()

    def sleep(self, seconds):
        if seconds > 0:
            time.sleep(seconds)


class FakeClock(Clock):
    """A clock for tests: ``sleep`` only advances ``now``; ``sleeps`` records every call."""

    def __init__(self, start=0.0):
        self.current = start
        self.sleeps = []

    def now(self):
        return self.current

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.current += max(seconds, 0)


class Backoff:
    """Delays ``initial``, ``initial*factor``, ... capped at ``maximum``, each with +-``jitter`` (a fraction).

    Jitter spreads out many clients retrying at once; a seeded ``rng`` makes it repeatable in tests.
    """

    def __init__(self, initial=1.0, factor=2.0, maximum=60.0, jitter=0.1, rng=None):
        if initial <= 0 or factor < 1 or maximum < initial:
            raise ValueError("backoff needs initial > 0, factor >= 1 and maximum >= initial")
        self.initial = initial
        self.factor = factor
        self.maximum = maximum
        self.jitter = jitter
        self.rng = rng or random.Random()

    def delays(self):
        """An endless iterator of delays."""
        delay = self.initial
        while True:
            spread = delay * self.jitter
            yield max(0.0, delay + self.rng.uniform(-spread, spread)) if spread else delay
            delay = min(delay * self.factor, self.maximum)


def next_poll_delay(previous, waited, initial, factor, maximum, ratio):
    """The next delay between two polls of a job.

    Starts at ``initial`` and grows by ``factor``, but never beyond ``ratio`` x the time already
    waited (so completion is noticed at most ``ratio`` late, or ``initial`` for short jobs) nor
    beyond ``maximum``. The number of polls then grows with the logarithm of the job's length
    until the ``maximum`` is reached.
    """
    if previous is None:
        return initial
    return min(previous * factor, maximum, max(initial, ratio * waited))


class PollBackoff(Backoff):
    """The schedule for polling long jobs: noticed at most ``ratio`` of the waited time late.

    See ``next_poll_delay``. No jitter: each client polls its own job, there is no herd to spread.
    """

    def __init__(self, initial=0.5, maximum=15.0, factor=2.0, ratio=0.1):
        super().__init__(initial=initial, factor=factor, maximum=max(maximum, initial), jitter=0)
        self.ratio = ratio

    def delays(self):
        delay, waited = None, 0.0
        while True:
            delay = next_poll_delay(delay, waited, self.initial, self.factor, self.maximum, self.ratio)
            waited += delay
            yield delay


class Deadline:
    """A whole operation's deadline (a module's ``timeout``): every call and wait takes what is left."""

    def __init__(self, seconds, clock=None):
        self.clock = clock or Clock()
        self.seconds = seconds
        self.at = self.clock.now() + seconds

    def remaining(self):
        """Seconds left, never below 0."""
        return max(self.at - self.clock.now(), 0.0)


def format_seconds(seconds):
    """A duration for people: "2 s", "1.5 s", "0.25 s", "2 min 5 s" (never 1.990680366999868)."""
    if seconds is None:
        return "no time limit"
    seconds = float(seconds)
    if seconds >= 120:
        minutes, rest = divmod(int(round(seconds)), 60)
        return "%d min %d s" % (minutes, rest) if rest else "%d min" % minutes
    if seconds >= 10:
        return "%d s" % round(seconds)
    return "%s s" % ("%.2f" % seconds).rstrip("0").rstrip(".")


def wait_for(check, timeout, backoff=None, clock=None, what="the operation"):
    """Call ``check()`` until it returns something other than None; return that value.

    Sleeps between calls along ``backoff``, never past the deadline: the last sleep is shortened
    so that a final check happens right at the deadline. Raises WaitTimeoutError after that.
    ``timeout`` None means wait without a deadline.
    """
    clock = clock or Clock()
    backoff = backoff or Backoff()
    deadline = None if timeout is None else clock.now() + timeout
    delays = backoff.delays()
    while True:
        value = check()
        if value is not None:
            return value
        delay = next(delays)
        if deadline is not None:
            remaining = deadline - clock.now()
            if remaining <= 0:
                raise WaitTimeoutError("gave up waiting for %s after %s" % (what, format_seconds(timeout)))
            delay = min(delay, remaining)
        clock.sleep(delay)
