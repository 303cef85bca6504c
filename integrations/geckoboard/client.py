"""Geckoboard's Datasets API over `requests`: the `Geckoboard` port of `sync/ports.py`.

Two calls, both `PUT`: `/datasets/{id}` with the fields schema (creates the dataset, or finds
it when it exists with that schema), then `/datasets/{id}/data` with every record (replaces
them all). Basic auth with the account's API key as the username and an empty password.
Hand-written over `requests` rather than Geckoboard's own client (geckoboard.py 1.1, 2020):
that one raises one exception for every failure, with neither the status nor `Retry-After`,
which the engine needs to wait, retry or park.

Failures map onto the core's tree (`integrations/errors.py`): 429 is `RateLimited` with its
`Retry-After`, 401/403 (a wrong or revoked key) and other 4xx are `Permanent`, no answer and
5xx are `Transient`. The key travels in the Authorization header only, never in a URL or a
message, so no log line can carry it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests
from requests.auth import HTTPBasicAuth

from integrations.chat.slack import retry_after
from integrations.errors import for_status
from sync.errors import Transient

TIMEOUT = 15.0
USER_AGENT = "okrlink"


class GeckoboardClient:
    """Calls the Datasets API at `api_url` (`OKRLINK_GECKOBOARD_API_URL`)."""

    def __init__(self, *, api_url: str, session: requests.Session | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.session = session or requests.Session()

    def put_dataset(
        self,
        *,
        api_key: str,
        dataset: str,
        fields: Mapping[str, Mapping[str, Any]],
        unique_by: Sequence[str],
    ) -> None:
        body: dict[str, Any] = {"fields": {name: dict(spec) for name, spec in fields.items()}}
        if unique_by:
            body["unique_by"] = list(unique_by)
        self._put(api_key, f"/datasets/{quote(dataset, safe='')}", body)

    def replace_data(
        self, *, api_key: str, dataset: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        body = {"data": [dict(record) for record in records]}
        self._put(api_key, f"/datasets/{quote(dataset, safe='')}/data", body)

    def _put(self, api_key: str, path: str, body: Mapping[str, Any]) -> None:
        try:
            answer = self.session.put(
                self.api_url + path,
                json=body,
                auth=HTTPBasicAuth(api_key, ""),
                headers={"User-Agent": USER_AGENT},
                timeout=TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:  # refused, reset, timeout, TLS
            raise Transient(f"Geckoboard did not answer: {type(exc).__name__}") from exc
        if 200 <= answer.status_code < 300:
            return
        raise for_status(
            f"Geckoboard answered {answer.status_code} on PUT {path}: {_message(answer)}",
            status=answer.status_code,
            retry_after=retry_after(dict(answer.headers.items())),
        )


def _message(answer: requests.Response) -> str:
    """Geckoboard's own error message (`{"error": {"message": ...}}`), else the body's start."""
    try:
        found = answer.json()
    except ValueError:
        return answer.text[:200]
    if isinstance(found, dict) and isinstance(found.get("error"), dict):
        return str(found["error"].get("message", ""))[:200]
    return answer.text[:200]
