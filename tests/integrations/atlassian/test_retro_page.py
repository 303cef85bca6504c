"""The `Wiki` port on Confluence Cloud: a page found by its title in the space is reused, so a
retried publication never makes a second page; refusals reach the core as its errors."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import jwt
import pytest
import responses
from responses import matchers

from integrations.atlassian.retro_page import ConfluenceWiki
from integrations.errors import Permanent, RateLimited, SourceMissing, Transient
from sync.retro import GradedKr, PublishedPage, RetroView
from sync.tenants import Tenant
from tests.support.confluence import CONTENT, CREATED, FOUND, NOT_FOUND, PAGE_URL, TITLE, WIKI

SECRET = "0b7f2c1e-9a4d-4c3b-8e6f-5a2d1c0b9e8f-shared"
RETRO = RetroView(
    team="PLAT",
    cycle="2026-Q4",
    closed_at=datetime(2026, 12, 31, tzinfo=UTC),
    learned="Drills pay",
    differently="Start earlier",
    krs=(
        GradedKr(
            key="PLAT-1.1",
            title="Cut failover time",
            objective="PLAT-1",
            score=0.7,
            reason=None,
            abandoned=False,
            carried=True,
        ),
    ),
)
TENANT = Tenant(
    installation_id=1,
    client_key="confluence:acme",
    site_id=7,
    product="confluence",
    base_url=WIKI,
    door="connect",
    enabled=True,
)
LOOKUP = matchers.query_param_matcher({"spaceKey": "PLAT", "title": TITLE, "type": "page"})


def _wiki(installed: bool = True) -> ConfluenceWiki:
    def tenants(site_id: int, product: str) -> tuple[Tenant, str | None] | None:
        assert (site_id, product) == (7, "confluence")
        return (TENANT, SECRET) if installed else None

    return ConfluenceWiki(tenants=tenants, app_key="okrlink")


def _publish(wiki: ConfluenceWiki) -> PublishedPage:
    return wiki.publish_retro(7, space="PLAT", title=TITLE, retro=RETRO)


@responses.activate
def test_a_page_already_in_the_space_is_reused_not_created_again() -> None:
    responses.get(CONTENT, json=FOUND, match=[LOOKUP])
    assert _publish(_wiki()) == PublishedPage(id="393217", url=PAGE_URL)
    assert [c.request.method for c in responses.calls] == ["GET"]
    token = responses.calls[0].request.headers["Authorization"].split(" ", 1)[1]
    query = f"spaceKey=PLAT&title={TITLE.replace(' ', '%20')}&type=page"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["qsh"] == hashlib.sha256(f"GET&/rest/api/content&{query}".encode()).hexdigest()


@responses.activate
def test_without_a_page_of_that_title_one_is_created() -> None:
    responses.get(CONTENT, json=NOT_FOUND, match=[LOOKUP])
    responses.post(CONTENT, json=CREATED)
    assert _publish(_wiki()) == PublishedPage(id="393217", url=PAGE_URL)
    assert [c.request.method for c in responses.calls] == ["GET", "POST"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, Permanent), (404, Permanent), (503, Transient), (500, Transient)],
)
@responses.activate
def test_refusals_are_the_cores_errors_without_retrying_inline(
    status: int, error: type[Exception]
) -> None:
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, status=status, json={"statusCode": status, "message": "No"})
    with pytest.raises(error):
        _publish(_wiki())
    assert len(responses.calls) == 2  # the queue retries, not the request


@responses.activate
def test_a_429_hands_its_retry_after_to_the_queue() -> None:
    responses.get(
        CONTENT,
        status=429,
        headers={"Retry-After": "90"},
        json={"statusCode": 429, "message": "Rate limited"},
    )
    with pytest.raises(RateLimited) as raised:
        _publish(_wiki())
    assert raised.value.retry_after == 90.0


def test_a_site_without_confluence_is_a_missing_source() -> None:
    with pytest.raises(SourceMissing, match="not installed on this site's Confluence"):
        _publish(_wiki(installed=False))
