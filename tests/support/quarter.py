"""A team's quarter written through the REST API: what the cycle tests start from."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of

CYCLE = "2026-Q4"
COMPANY_OBJECTIVE = {
    "team": "ACME",
    "cycle": CYCLE,
    "key": "ACME-1",
    "title": "Be the platform customers trust most",
}
OBJECTIVES = (
    ("Make the platform the most reliable in its sector", "ACME-1"),
    ("Make releases boring", None),
    ("Grow the developer community", None),
)
KRS = (
    ("Raise availability from 99.5% to 99.99%", 99.5, 99.99, "%"),
    ("Cut change failure rate from 15% to 5%", 15.0, 5.0, "%"),
    ("Raise weekly active developers from 200 to 500", 200.0, 500.0, ""),
)


def post(client: FlaskClient, admin: dict[str, str], path: str, data: Any) -> Any:
    response = client.post(f"/api/v1{path}", json=data, headers=admin)
    assert response.status_code in (200, 201), response.json
    return response.json


def write_quarter(client: FlaskClient, admin: dict[str, str]) -> None:
    """ACME-1 (company), then PLAT-1..3 with 3 metric KRs each; PLAT-1 aligned to ACME-1."""
    post(client, admin, "/objectives", COMPANY_OBJECTIVE)
    for title, parent in OBJECTIVES:
        data = {"team": "PLAT", "cycle": CYCLE, "title": title, "parent": parent}
        objective = post(client, admin, "/objectives", data)
        for kr_title, baseline, target, unit in KRS:
            post(
                client,
                admin,
                "/key-results",
                {
                    "objective": objective["key"],
                    "title": kr_title,
                    "baseline": baseline,
                    "target": target,
                    "unit": unit,
                    "owner": "SRE lead",
                },
            )


CLOSE_REQUEST = {
    "scores": {"PLAT-1.2": {"score": 0.7, "reason": "Most deploys were safe by December"}},
    "retro": {"learned": "Failover drills pay", "differently": "Start the drills earlier"},
    "carry_over": ["PLAT-1.1"],
}
"""The close every door is given: one adjusted score, a retrospective, one KR carried."""


def stored_close(app: Flask) -> dict[str, Any]:
    """What a close left in the store, door-independent: final scores, retro, carried KRs."""
    from sqlalchemy import select

    from sync.db.model import Cycle, CycleClose, KeyResult

    with services_of(app).store.session() as session:
        rows = session.execute(
            select(KeyResult, Cycle.name)
            .join(Cycle, Cycle.id == KeyResult.cycle_id)
            .order_by(Cycle.start, KeyResult.key)
        ).all()
        closes = session.scalars(select(CycleClose)).all()
        return {
            "krs": [
                (
                    cycle,
                    kr.key,
                    kr.final_score,
                    kr.final_score_reason,
                    kr.baseline,
                    kr.carried_from.key if kr.carried_from else None,
                )
                for kr, cycle in rows
            ],
            "closes": [(c.learned, c.differently) for c in closes],
        }


EXPECTED_CLOSE = {
    "krs": [
        *[
            (CYCLE, f"PLAT-{o}.{k}", score, reason, baseline, None)
            for o in (1, 2, 3)
            for k, baseline in ((1, 99.5), (2, 15.0), (3, 200.0))
            for score, reason in [
                (0.7, "Most deploys were safe by December")
                if (o, k) == (1, 2)
                else (0.5, None)
                if (o, k) == (1, 1)
                else (0.0, None)
            ]
        ],
        ("2027-Q1", "PLAT-1.1", None, None, 99.745, "PLAT-1.1"),
    ],
    "closes": [("Failover drills pay", "Start the drills earlier")],
}
