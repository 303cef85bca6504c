"""The GitHub App manifest renders to what "register from a manifest" expects."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import yaml

from integrations.github.events import HANDLED

MANIFEST = Path(__file__).resolve().parents[3] / "descriptors" / "github-app.yml"
BASE_URL = "https://okrlink.example.com"


def render(base_url: str = BASE_URL) -> dict:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    text = env.from_string(MANIFEST.read_text(encoding="utf-8")).render(base_url=base_url)
    return yaml.safe_load(text)


def test_manifest_points_github_at_our_base_url() -> None:
    manifest = render()
    assert manifest["name"] == "okrlink"
    assert manifest["url"] == BASE_URL
    assert manifest["hook_attributes"] == {"url": f"{BASE_URL}/webhooks/github", "active": True}
    assert manifest["redirect_url"] == f"{BASE_URL}/github/manifest/callback"
    assert manifest["public"] is False


def test_manifest_asks_for_the_least_permissions_needed() -> None:
    assert render()["default_permissions"] == {
        "checks": "write",
        "pull_requests": "read",
        "contents": "read",
        "metadata": "read",
        "deployments": "read",  # DORA's keys
    }


def test_manifest_subscribes_to_the_events_we_handle() -> None:
    events = render()["default_events"]
    assert sorted(events) == [
        "check_run",
        "check_suite",
        "deployment",
        "deployment_status",
        "pull_request",
        "push",
    ]
    handled_events = {event for event, _ in HANDLED}
    assert set(events) <= handled_events
    # Installation events arrive without a subscription; ping comes with every new hook.
    assert handled_events - set(events) == {"installation", "installation_repositories", "ping"}


def test_manifest_needs_a_base_url() -> None:
    with pytest.raises(jinja2.UndefinedError):
        jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False).from_string(  # noqa: S701
            MANIFEST.read_text(encoding="utf-8")
        ).render()


def test_template_is_valid_yaml_before_rendering() -> None:
    raw = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert raw["hook_attributes"]["url"] == "{{ base_url }}/webhooks/github"
