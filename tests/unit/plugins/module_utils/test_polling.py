import random

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import WaitTimeoutError
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff, FakeClock, wait_for


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
    assert "job x" in str(info.value) and "10" in str(info.value)


def test_wait_for_false_and_zero_are_values_not_waiting():
    assert wait_for(lambda: False, timeout=1, clock=FakeClock()) is False
    assert wait_for(lambda: 0, timeout=1, clock=FakeClock()) == 0


def test_wait_without_deadline():
    clock = FakeClock()
    answers = iter([None] * 50 + [1])
    assert wait_for(lambda: next(answers), timeout=None, backoff=Backoff(1, 2, 30, 0), clock=clock) == 1
    assert max(clock.sleeps) == 30
