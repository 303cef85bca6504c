"""`sync/kpis.py`, the one writer of KPI definitions: the file import, the API and the project
page all save through it, so each refuses the same values, keeps the same history, and moves
the version the panels are cached by."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask

from connect.services import services_of
from sync import kpis
from sync.core.spec import KpiSpec
from sync.db.store import local_site
from sync.errors import Duplicate, Invalid
from sync.history import kpi_changes_of
from tests.support.app import PANEL_NOW

CFR = KpiSpec(key="PLAT-K1", title="Change failure rate", unit="%", healthy_max=15, current=9)


def test_importing_the_same_kpi_twice_keeps_one_creation_and_moves_no_version(app: Flask) -> None:
    with services_of(app).store.session() as session:
        site_id = local_site(session).id
        kpis.import_kpis(session, site_id, "PLAT", [CFR], now=PANEL_NOW, author="okrlink import")
        kpi = kpis.find_kpi(session, site_id, "PLAT-K1")
        assert kpi is not None
        version = kpi.version
        kpis.import_kpis(session, site_id, "PLAT", [CFR], now=PANEL_NOW)
        assert kpi.version == version
        changes = kpi_changes_of(session, site_id, "PLAT-K1")
        assert [(c.action, c.author, c.cycle_id) for c in changes] == [
            ("create", "okrlink import", None)
        ]
        assert changes[0].after["healthy_max"] == 15


def test_a_changed_definition_is_kept_and_moves_the_version(app: Flask) -> None:
    with services_of(app).store.session() as session:
        site_id = local_site(session).id
        kpi, _ = kpis.create_kpi(
            session,
            site_id,
            "PLAT",
            {"title": "Change failure rate", "healthy_max": 15.0},
            author="557058:f00d-cafe",
            now=PANEL_NOW,
        )
        version = kpi.version
        later = PANEL_NOW + timedelta(hours=1)
        kpis.update_kpi(
            session,
            kpi,
            {"title": "Change failure rate", "repository": "acme/api"},
            author="557058:f00d-cafe",
            now=later,
        )
        assert kpi.version == version + 1
        assert kpi.params == {"repository": "acme/api"}
        last = kpi_changes_of(session, site_id, "PLAT-K1")[-1]
        assert (last.action, last.before, last.after) == (
            "update",
            {"repository": None},
            {"repository": "acme/api"},
        )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "vibes"}, "kind"),
        ({"kind": "github", "measure": "happiness"}, "measure"),
        ({"kind": "jql"}, "jql"),
        ({"healthy_min": 20.0, "healthy_max": 10.0}, "healthy_min"),
        ({"drop_alert": 0.0}, "drop_alert"),
        ({"healthy_max": "15"}, "healthy_max"),
        ({"unit": "u" * 33}, "unit"),
        ({"title": ""}, "title"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_refused_value_names_its_field_and_stores_nothing(
    app: Flask, data: dict[str, object], field: str
) -> None:
    with services_of(app).store.session() as session:
        site_id = local_site(session).id
        with pytest.raises(Invalid) as refused:
            kpis.create_kpi(
                session,
                site_id,
                "PLAT",
                {"title": "Change failure rate", **data},
                author=None,
                now=PANEL_NOW,
            )
        assert refused.value.field == field
        assert kpis.list_kpis(session, site_id) == []


def test_the_file_import_refuses_what_the_forms_refuse(app: Flask) -> None:
    with services_of(app).store.session() as session:
        site_id = local_site(session).id
        with pytest.raises(Invalid):
            kpis.import_kpis(
                session, site_id, "PLAT", [replace(CFR, healthy_min=20)], now=PANEL_NOW
            )


def test_keys_follow_on_and_a_taken_key_is_a_duplicate(app: Flask) -> None:
    with services_of(app).store.session() as session:
        site_id = local_site(session).id
        first, _ = kpis.create_kpi(
            session, site_id, "PLAT", {"title": "A", "healthy_max": 1.0}, author=None, now=PANEL_NOW
        )
        second, _ = kpis.create_kpi(
            session, site_id, "PLAT", {"title": "B", "healthy_max": 1.0}, author=None, now=PANEL_NOW
        )
        assert (first.key, second.key) == ("PLAT-K1", "PLAT-K2")
        with pytest.raises(Duplicate):
            kpis.create_kpi(
                session,
                site_id,
                "PLAT",
                {"key": "PLAT-K1", "title": "C"},
                author=None,
                now=PANEL_NOW,
            )
