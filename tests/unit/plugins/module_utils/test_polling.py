import random

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import WaitTimeoutError
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import (
    Backoff, Deadline, FakeClock, PollBackoff, format_seconds, next_poll_delay, wait_for)


def take(iterator, n):
    return [next(iterator) for dummy in range(n)]


def test_backoff_grows_geometrically_and_caps():
    assert take(Backoff(initial=1, factor=2, maximum=5, jitter=0).delays(), 5) == [1, 2, 4, 5, 5]


def test_backoff_jitter_stays_within_bounds_and_is_seedable():
    delays = take(Backoff(initial=10, factor=1, maximum=10, jitter=0.2, rng=random.Random(1)).delays(), 200)
    assert all(8 <= d <= 12 for d in delays)
    assert len(set(delays)) > 100
    assert delays == take(Backoff(initial=10, factor=1, maximum=10, jitter=0.2, rng=random.Random(1)).delays(), 200)


@pytest.mark.parametrize("kwargs", [dict(initial=0), dict(factor=0.5), dict(initial=5, maximum=1)])
def test_backoff_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_wait_for_returns_first_value_and_sleeps_along_the_schedule():
    clock = FakeClock()
    answers = iter([None, None, None, "done"])
    assert wait_for(lambda: next(answers), timeout=100, backoff=Backoff(1, 2, 60, 0), clock=clock) == "done"
    assert clock.sleeps == [1, 2, 4]


def test_wait_for_makes_a_last_check_at_the_deadline_then_times_out():
    clock = FakeClock()
    checks = []

    def check():
        checks.append(clock.now())

    with pytest.raises(WaitTimeoutError) as info:
        wait_for(check, timeout=10, backoff=Backoff(4, 1, 4, 0), clock=clock, what="job x")
    assert checks == [0, 4, 8, 10]
    assert str(info.value) == "gave up waiting for job x after 10 s"


@pytest.mark.parametrize("seconds,text", [
    (1.990680366999868, "1.99 s"), (2.0, "2 s"), (0.25, "0.25 s"), (0.5, "0.5 s"), (12.4, "12 s"),
    (125, "2 min 5 s"), (3600, "60 min"), (None, "no time limit"),
])
def test_durations_are_printed_rounded(seconds, text):
    assert format_seconds(seconds) == text


def test_wait_for_false_and_zero_are_values_not_waiting():
    assert wait_for(lambda: False, timeout=1, clock=FakeClock()) is False
    assert wait_for(lambda: 0, timeout=1, clock=FakeClock()) == 0


def test_wait_without_deadline():
    clock = FakeClock()
    answers = iter([None] * 50 + [1])
    assert wait_for(lambda: next(answers), timeout=None, backoff=Backoff(1, 2, 30, 0), clock=clock) == 1
    assert max(clock.sleeps) == 30


# -- the long-job polling schedule ----------------------------------------------------------------
def schedule(count, initial=0.5, maximum=15.0):
    delays, previous, waited = [], None, 0.0
    for dummy in range(count):
        previous = next_poll_delay(previous, waited, initial, 2.0, maximum, 0.1)
        delays.append(previous)
        waited += previous
    return delays


def test_poll_delay_starts_at_initial_and_never_exceeds_ten_percent_of_the_wait_or_the_maximum():
    delays = schedule(400)
    assert delays[:10] == [0.5] * 10  # the first 5 s: every 0.5 s (at most 0.5 s late for short jobs)
    waited = 0.0
    for delay in delays:
        assert delay <= max(0.5, 0.1 * waited) + 1e-9 and delay <= 15.0
        waited += delay
    assert delays[-1] == 15.0


def test_poll_count_grows_logarithmically_until_the_cap():
    def polls_for(seconds):
        waited, count, previous = 0.0, 0, None
        while waited < seconds:
            previous = next_poll_delay(previous, waited, 0.5, 2.0, 15.0, 0.1)
            waited += previous
            count += 1
        return count

    five, sixty = polls_for(5), polls_for(60)
    assert five == 10
    assert sixty < 40  # linear at 0.5 s would be 120
    assert polls_for(120) - sixty < sixty - five  # each doubling of length adds fewer polls


def test_poll_delay_doubles_when_the_ratio_allows_it():
    assert next_poll_delay(1.0, 100.0, 0.5, 2.0, 15.0, 0.1) == 2.0
    assert next_poll_delay(8.0, 100.0, 0.5, 2.0, 15.0, 0.1) == 10.0
    assert next_poll_delay(None, 0, 2.0, 2.0, 15.0, 0.1) == 2.0


def test_poll_backoff_follows_next_poll_delay():
    delays = PollBackoff(initial=0.5, maximum=15.0).delays()
    assert [next(delays) for dummy in range(12)] == schedule(12)


def test_deadline_gives_what_is_left_never_below_zero():
    clock = FakeClock(100)
    deadline = Deadline(30, clock)
    clock.sleep(12)
    assert deadline.remaining() == 18
    clock.sleep(40)
    assert deadline.remaining() == 0
