"""A breached KPI shows as a health strip on the panel and the project page; a healthy one
shows its value and nothing more. The message names the team, never a person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from sync import kpis
from sync.core.spec import KpiSpec
from tests.support.app import MACRO_PARAMS, PANEL, PANEL_NOW, panel_site, signed_url
from tests.support.ui import parse

CFR = KpiSpec(
    key="PLAT-K1",
    title="Change failure rate",
    unit="%",
    healthy_max=15,
    drop_alert=20,
    owner="jane.doe@example.com",
)
UPTIME = KpiSpec(
    key="PLAT-K2", title="Availability", unit="%", healthy_min=99.5, drop_alert=20, healthy_max=100
)


@pytest.fixture
def site(app: Flask) -> int:
    site_id = panel_site(app)
    with services_of(app).store.session() as session:
        kpis.upsert_kpi(session, site_id, "PLAT", CFR, position=0, now=PANEL_NOW)
        kpis.upsert_kpi(session, site_id, "PLAT", UPTIME, position=1, now=PANEL_NOW)
    return site_id


def value(app: Flask, site: int, key: str, number: float, days: int = 0) -> None:
    with services_of(app).store.session() as session:
        kpi = kpis.find_kpi(session, site, key)
        assert kpi is not None
        kpis.record_value(session, kpi, number, now=PANEL_NOW + timedelta(days=days))


def strip(html: str) -> dict[str, tuple[str, str]]:
    return {
        node.attrs["data-kpi"]: (node.attrs["data-health"], node.attrs["data-value"])
        for node in parse(html).find_all(data_kpi=True)
    }


def test_healthy_kpis_show_their_value_and_no_message(
    app: Flask, client: FlaskClient, site: int
) -> None:
    value(app, site, "PLAT-K1", 12)
    value(app, site, "PLAT-K2", 99.9)
    page = client.get(signed_url(PANEL, MACRO_PARAMS)).text
    assert strip(page) == {"PLAT-K1": ("healthy", "12.0"), "PLAT-K2": ("healthy", "99.9")}
    assert parse(page).by_class("kmsg") == []
    assert not parse(page).find_all(role="alert")


def test_a_breach_is_a_strip_naming_the_team_on_the_panel_and_the_project_page(
    app: Flask, client: FlaskClient, site: int
) -> None:
    value(app, site, "PLAT-K1", 12)
    value(app, site, "PLAT-K1", 22, days=1)
    for url in (
        signed_url(PANEL, MACRO_PARAMS),
        signed_url("/jira/project-page", {"projectKey": "PLAT"}),
    ):
        page = client.get(url).text
        assert strip(page)["PLAT-K1"] == ("breached", "22.0")
        alert = parse(page).find(data_kpi="PLAT-K1")
        assert alert.attrs["role"] == "alert"
        message = " ".join(str(c) for n in alert.by_class("kmsg") for c in n.children)
        assert message == "PLAT · Change failure rate is outside its healthy range (at most 15%)."
        assert "jane" not in parse(page).by_class("kpis")[0].text.lower()
    # Only the project page's KPI edit form shows the owner, to be fixed; the panel never does.
    assert "jane" not in client.get(signed_url(PANEL, MACRO_PARAMS)).text.lower()


def test_a_sudden_change_says_so_in_french(app: Flask, client: FlaskClient, site: int) -> None:
    value(app, site, "PLAT-K2", 99.9)
    value(app, site, "PLAT-K2", 99.6, days=1)  # 0.3 of a 0.5 range in a day: more than 20 %
    page = client.get(signed_url(PANEL, {**MACRO_PARAMS, "lang": "fr"})).text
    assert strip(page)["PLAT-K2"] == ("breached", "99.6")
    assert "a varié de plus de" in page


def test_a_new_kpi_value_changes_the_cached_panel(
    app: Flask, client: FlaskClient, site: int
) -> None:
    value(app, site, "PLAT-K1", 12)
    first = client.get(signed_url(PANEL, MACRO_PARAMS))
    value(app, site, "PLAT-K1", 30, days=1)
    second = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert first.headers["ETag"] != second.headers["ETag"]
    assert strip(second.text)["PLAT-K1"] == ("breached", "30.0")
