"""Reading `/metrics` in tests: every sample by name and labels, and what moved between two."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]
"""A sample's name and its labels."""


def parse(text: str) -> dict[Sample, float]:
    """Every sample of a Prometheus text exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: Any, headers: Mapping[str, str]) -> dict[Sample, float]:
    """The app's metrics, read through its `/metrics` route."""
    response = client.get("/metrics", headers=dict(headers))
    assert response.status_code == 200, response.data
    return parse(response.get_data(as_text=True))


def value(samples: Mapping[Sample, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(
    before: Mapping[Sample, float], after: Mapping[Sample, float], name: str, **labels: str
) -> dict[str, float]:
    """`name`'s samples whose value changed, as `{label value: change}` over the label not
    given (e.g. `moved(a, b, "okrlink_webhooks_total", source="jira")` -> by outcome)."""
    changes: dict[str, float] = {}
    for (sample, sample_labels), new in after.items():
        if sample != name or not set(labels.items()) <= sample_labels:
            continue
        change = new - before.get((sample, sample_labels), 0.0)
        if change:
            rest = dict(sample_labels - set(labels.items()))
            changes[",".join(f"{v}" for _, v in sorted(rest.items()))] = change
    return changes
