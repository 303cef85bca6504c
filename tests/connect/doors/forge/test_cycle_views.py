"""The Forge door shows the same weekly review, retrospective and confidence chart as the
Connect pages."""

from __future__ import annotations

from datetime import timedelta

import responses
from flask.testing import FlaskClient

from tests.support.base import FakeClock
from tests.support.forge import (
    LIFECYCLE_MODULE,
    SITE_URL,
    UI_MODULE,
    fit,
    fit_claims,
    forge_headers,
    installed_event,
)
from tests.support.quarter import CYCLE, post, write_quarter
from tests.support.ui import parse


def _forge_site(client: FlaskClient, admin: dict[str, str]) -> dict[str, str]:
    installed = client.post(
        "/forge/lifecycle",
        json=installed_event(),
        headers=forge_headers(fit(fit_claims(module=LIFECYCLE_MODULE))),
    )
    assert installed.status_code == 200, installed.json
    headers = {**admin, "X-Okrlink-Site": SITE_URL}
    write_quarter(client, headers)
    return headers


def test_the_forge_panel_shows_the_review_and_the_retrospective(
    client: FlaskClient, admin: dict[str, str], forge_keys: responses.RequestsMock
) -> None:
    headers = _forge_site(client, admin)
    post(client, headers, "/key-results/PLAT-1.1/check-ins", {"value": 99.745, "risks": ["Vendor"]})
    review = client.post(
        "/forge/panel",
        json={"team": "PLAT", "cycle": CYCLE, "view": "review"},
        headers=forge_headers(module=UI_MODULE),
    )
    assert review.status_code == 200, review.json
    assert 'data-kr="PLAT-1.1"' in review.json["html"] and 'data-delta="+50"' in review.json["html"]
    post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", {"retro": {"learned": "Drills"}})
    retro = client.post(
        "/forge/panel",
        json={"team": "PLAT", "cycle": CYCLE, "view": "retro"},
        headers=forge_headers(module=UI_MODULE),
    )
    assert retro.status_code == 200
    assert "<p data-learned>Drills</p>" in retro.json["html"]
    bad = client.post(
        "/forge/panel",
        json={"team": "PLAT", "view": "mine"},
        headers=forge_headers(module=UI_MODULE),
    )
    assert bad.status_code == 422 and bad.json["error"]["field"] == "view"


def test_the_forge_panel_charts_each_check_ins_confidence_beside_progress(
    client: FlaskClient,
    admin: dict[str, str],
    forge_keys: responses.RequestsMock,
    clock: FakeClock,
) -> None:
    headers = _forge_site(client, admin)
    for value, confidence in ((99.6, 0.8), (99.745, 0.65)):
        clock.current += timedelta(days=7)
        post(
            client,
            headers,
            "/key-results/PLAT-1.1/check-ins",
            {"value": value, "confidence": confidence},
        )
    panel = client.post(
        "/forge/panel",
        json={"team": "PLAT", "cycle": CYCLE},
        headers=forge_headers(module=UI_MODULE),
    )
    assert panel.status_code == 200, panel.json
    root = parse(panel.json["html"])
    group = root.find("li", data_kr="PLAT-1.1").find("g", data_chart="confidence")
    assert [p.split("=")[1] for p in group.attrs["data-points"].split()] == ["0.80", "0.65"]
    assert root.find(data_chart_legend=True).find(data_legend="confidence")
