"""The Forge door shows the same weekly review and retrospective as the Connect pages."""

from __future__ import annotations

import responses
from flask.testing import FlaskClient

from tests.support.forge import SITE_URL, fit, fit_claims, forge_headers, installed_event
from tests.support.quarter import CYCLE, post, write_quarter


def _forge_site(client: FlaskClient, admin: dict[str, str]) -> dict[str, str]:
    installed = client.post("/forge/lifecycle", json=installed_event(),
                            headers=forge_headers(fit(fit_claims())))  # fmt: skip
    assert installed.status_code == 200, installed.json
    headers = {**admin, "X-Okrlink-Site": SITE_URL}
    write_quarter(client, headers)
    return headers


def test_the_forge_panel_shows_the_review_and_the_retrospective(
    client: FlaskClient, admin: dict[str, str], forge_keys: responses.RequestsMock
) -> None:
    headers = _forge_site(client, admin)
    post(client, headers, "/key-results/PLAT-1.1/check-ins", {"value": 99.745, "risks": ["Vendor"]})
    review = client.post("/forge/panel", json={"team": "PLAT", "cycle": CYCLE, "view": "review"},
                         headers=forge_headers())  # fmt: skip
    assert review.status_code == 200, review.json
    assert 'data-kr="PLAT-1.1"' in review.json["html"] and 'data-delta="+50"' in review.json["html"]
    post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", {"retro": {"learned": "Drills"}})
    retro = client.post("/forge/panel", json={"team": "PLAT", "cycle": CYCLE, "view": "retro"},
                        headers=forge_headers())  # fmt: skip
    assert retro.status_code == 200
    assert '<p data-learned>Drills</p>' in retro.json["html"]
    bad = client.post("/forge/panel", json={"team": "PLAT", "view": "mine"},
                      headers=forge_headers())  # fmt: skip
    assert bad.status_code == 422 and bad.json["error"]["field"] == "view"
