"""The Datasets API client: what it sends (Basic auth with the key, the schema, the records)
and how Geckoboard's answers map onto the core's errors (`responses`, no network)."""

from __future__ import annotations

import base64
import json

import pytest
import requests
import responses

from integrations.geckoboard.client import GeckoboardClient
from sync.errors import Permanent, RateLimited, Transient

API = "https://api.geckoboard.test"
KEY = "222efc82e7933138077b1c2554439e15"
FIELDS = {"kr": {"type": "string", "name": "Key result"}}


@responses.activate
def test_the_schema_then_the_records_with_the_key_as_basic_username() -> None:
    schema = responses.put(f"{API}/datasets/okrlink.plat.key_results", json={"id": "x"})
    data = responses.put(f"{API}/datasets/okrlink.plat.key_results/data", json={})
    client = GeckoboardClient(api_url=API + "/")
    client.put_dataset(
        api_key=KEY, dataset="okrlink.plat.key_results", fields=FIELDS, unique_by=["kr"]
    )
    client.replace_data(
        api_key=KEY, dataset="okrlink.plat.key_results", records=[{"kr": "PLAT-1.1"}]
    )
    assert schema.call_count == data.call_count == 1
    sent = [call.request for call in responses.calls]
    expected = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert [r.headers["Authorization"] for r in sent] == [expected, expected]
    assert json.loads(sent[0].body or b"") == {"fields": FIELDS, "unique_by": ["kr"]}
    assert json.loads(sent[1].body or b"") == {"data": [{"kr": "PLAT-1.1"}]}
    assert all(KEY not in (r.url or "") for r in sent)


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (429, {"Retry-After": "90"}, RateLimited, 90.0),
        (401, {}, Permanent, None),
        (403, {}, Permanent, None),
        (409, {}, Transient, None),
        (422, {}, Permanent, None),
        (503, {}, Transient, None),
    ],
)
@responses.activate
def test_answers_map_onto_the_core_errors(
    status: int, headers: dict[str, str], error: type[Exception], retry_after: float | None
) -> None:
    responses.put(
        f"{API}/datasets/d/data",
        status=status,
        json={"error": {"message": "Your API key is invalid"}},
        headers=headers,
    )
    with pytest.raises(error) as raised:
        GeckoboardClient(api_url=API).replace_data(api_key=KEY, dataset="d", records=[])
    assert isinstance(raised.value, Transient) == (error is not Permanent)
    assert getattr(raised.value, "retry_after", None) == retry_after
    assert f"Geckoboard answered {status}" in str(raised.value)
    assert KEY not in str(raised.value)


@responses.activate
def test_no_answer_is_transient() -> None:
    responses.put(f"{API}/datasets/d/data", body=requests.ConnectionError("refused"))
    with pytest.raises(Transient, match="did not answer"):
        GeckoboardClient(api_url=API).replace_data(api_key=KEY, dataset="d", records=[])
