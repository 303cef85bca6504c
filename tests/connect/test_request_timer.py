"""`observe_request` records what `Histogram.observe` would (it skips observe's own calls)."""

from __future__ import annotations

import math

from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from connect.ops.metrics import HTTP_SECONDS, RequestTimer, observe_request

BOUNDS = tuple(HTTP_SECONDS._upper_bounds)
DURATIONS = (0.0, 0.0004, 0.001, 0.0010001, 0.0025, 0.007, 0.01, 0.5, 1.0, 9.99, 10.0, 11.0, 3600.0)


def samples(registry: CollectorRegistry, name: str, **labels: str) -> dict[tuple[str, str], float]:
    return {
        (sample.name.removeprefix(name), sample.labels.get("le", "")): sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name.startswith(name)
        and not sample.name.endswith("_created")
        and all(sample.labels.get(key) == value for key, value in labels.items())
    }


def test_every_duration_lands_in_the_bucket_and_sum_that_observe_gives() -> None:
    """On every bound, between them, below the first and past the last (+Inf)."""
    expected = CollectorRegistry()
    observed = Histogram("t", "t", buckets=BOUNDS[:-1], registry=expected)
    for seconds in DURATIONS:
        observed.observe(seconds)
        observe_request("/a-route-of-the-timer-test", 200, seconds)
    timed = samples(REGISTRY, HTTP_SECONDS._name, route="/a-route-of-the-timer-test")
    assert timed == samples(expected, "t")
    assert timed[("_count", "")] == len(DURATIONS)


def test_the_timer_holds_one_increment_per_bucket_up_to_inf() -> None:
    timer = RequestTimer.of(HTTP_SECONDS.labels("/another-route-of-the-test", "2xx"))
    assert timer.upper_bounds == BOUNDS and timer.upper_bounds[-1] == math.inf
    assert len(timer.count_in) == len(BOUNDS)
