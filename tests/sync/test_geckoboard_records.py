"""What a Geckoboard push sends, without a database: the schema within Geckoboard's limits, the
records in panel order and capped, the dataset id and the key hint."""

from __future__ import annotations

import re

from sync.dashboards import Board, KrFigures, ObjectiveFigures
from sync.geckoboard import FIELDS, MAX_RECORDS, UNIQUE_BY, dataset_id, mask_key, records


def kr(key: str, value: float | None = None) -> KrFigures:
    return KrFigures(key, f"Title of {key}", 0.25, 0.25, "at_risk", value, 100.0, 0.0, "%", None)


def test_the_schema_has_at_most_ten_fields_and_records_use_exactly_them() -> None:
    assert len(FIELDS) <= 10
    assert set(UNIQUE_BY) <= set(FIELDS)
    board = Board(
        objectives=(
            ObjectiveFigures(
                "PLAT", "2026-Q4", "PLAT-1", "Be reliable", 0.25, (kr("PLAT-1.1", 12.5),)
            ),
        ),
        kpis=(),
    )
    (record,) = records(board)
    assert set(record) == set(FIELDS)
    assert record == {
        "cycle": "2026-Q4",
        "objective": "PLAT-1 Be reliable",
        "kr": "PLAT-1.1",
        "title": "Title of PLAT-1.1",
        "status": "at_risk",
        "progress": 0.25,
        "score": 0.25,
        "value": 12.5,
        "target": 100.0,
        "confidence": None,
    }
    assert all(FIELDS[name].get("optional") for name in ("value", "target", "confidence"))


def test_records_are_capped_at_geckoboards_limit_in_panel_order() -> None:
    krs = tuple(kr(f"PLAT-1.{n}") for n in range(MAX_RECORDS + 7))
    board = Board((ObjectiveFigures("PLAT", "2026-Q4", "PLAT-1", "t", 0.0, krs),), ())
    found = records(board)
    assert len(found) == MAX_RECORDS == 5000
    assert found[0]["kr"] == "PLAT-1.0" and found[-1]["kr"] == f"PLAT-1.{MAX_RECORDS - 1}"


def test_dataset_ids_follow_geckoboards_rules_and_keys_are_masked() -> None:
    assert dataset_id("PLAT") == "okrlink.plat.key_results"
    for team in ("Ops Team", "ÉQUIPE-2", "a.b/c"):
        assert re.fullmatch(r"[a-z0-9_.-]+", dataset_id(team)), dataset_id(team)
    assert mask_key("222efc82e7933138077b1c2554439e15") == "…9e15"
    assert mask_key("short") == "…"
