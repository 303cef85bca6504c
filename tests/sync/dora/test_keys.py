"""`sync/dora/keys.py`: how incidents name their query, and each key's default window."""

from __future__ import annotations

from datetime import UTC, datetime

from sync import kpis
from sync.core.dora import CHANGE_FAILURE_RATE, DEFAULT_WINDOW_DAYS, DEPLOYMENT_FREQUENCY, KEYS
from sync.dora import keys
from sync.dora.keys import query_digest, window_of
from sync.engine import snapshots

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_querys_digest_ignores_how_its_whitespace_is_laid_out() -> None:
    one = query_digest("project = PLAT AND type = Incident")
    assert one == query_digest("  project = PLAT\n AND   type = Incident ")
    assert one != query_digest("project = OPS AND type = Incident")
    assert len(one) == 64


def test_a_window_is_the_keys_default_unless_the_kr_says_otherwise() -> None:
    default = window_of(DEPLOYMENT_FREQUENCY, {}, NOW)
    assert (default.now, default.days) == (NOW, float(DEFAULT_WINDOW_DAYS[DEPLOYMENT_FREQUENCY]))
    assert window_of(CHANGE_FAILURE_RATE, {"window_days": 14}, NOW).days == 14.0


def test_the_engine_reads_dora_krs_and_stale_kpis_through_what_the_features_registered() -> None:
    """The engine imports neither feature: each taught it at import (`tests/test_layout.py`)."""
    assert {name: snapshots.MEASURES.by_name[name] for name in KEYS} == dict.fromkeys(
        KEYS, keys.measure
    )
    assert snapshots.MEASURES.refreshes.count(kpis.refresh_if_stale) == 1
