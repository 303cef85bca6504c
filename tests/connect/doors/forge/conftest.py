"""Forge door fixtures: the app's Forge settings, and Forge's JWKS served locally."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from connect.settings import Settings
from tests.support.forge import APP_UUID, JWKS_URL, jwks_document


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(forge_app_id=APP_UUID, forge_jwks_url=JWKS_URL)


@pytest.fixture
def forge_keys() -> Iterator[responses.RequestsMock]:
    """Forge's JWKS at JWKS_URL; other outbound HTTP fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(JWKS_URL, json=jwks_document())
        yield mock
