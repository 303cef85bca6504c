"""Webhook signature verification against GitHub's published vector and derived cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.github.signature import sign, verify_signature
from tests.support.base import SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "github"
VECTORS = json.loads((FIXTURES / "signature_vectors.json").read_text(encoding="utf-8"))


def _derived_body(vector: dict) -> bytes:
    if "payload_file" in vector:
        return (FIXTURES / Path(vector["payload_file"]).name).read_bytes()
    return bytes.fromhex(vector["payload_hex"])


@pytest.mark.parametrize("vector", VECTORS["official"])
def test_official_github_vector_verifies(vector: dict) -> None:
    body = vector["payload"].encode("utf-8")
    assert verify_signature(
        secret=vector["secret"], body=body, header=vector["x_hub_signature_256"]
    )
    assert sign(secret=vector["secret"], body=body) == vector["x_hub_signature_256"]


@pytest.mark.parametrize(
    "vector", VECTORS["derived_not_official"], ids=lambda v: v.get("payload_file", "utf8")
)
def test_derived_vectors_verify_over_the_raw_bytes(vector: dict) -> None:
    body = _derived_body(vector)
    assert verify_signature(
        secret=vector["secret"], body=body, header=vector["x_hub_signature_256"]
    )


@pytest.mark.parametrize(
    "vector", VECTORS["derived_not_official"], ids=lambda v: v.get("payload_file", "utf8")
)
def test_reserialised_json_does_not_verify(vector: dict) -> None:
    body = _derived_body(vector)
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert reserialised != body
    assert not verify_signature(
        secret=vector["secret"], body=reserialised, header=vector["x_hub_signature_256"]
    )


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS["derived_not_official"] if "legacy_x_hub_signature_sha1" in v],
    ids=lambda v: v["payload_file"],
)
def test_legacy_sha1_header_is_rejected(vector: dict) -> None:
    body = _derived_body(vector)
    assert not verify_signature(
        secret=vector["secret"], body=body, header=vector["legacy_x_hub_signature_sha1"]
    )


@pytest.mark.parametrize(
    "case", [c for c in VECTORS["negative_cases"] if "payload" in c], ids=lambda c: c["note"][:40]
)
def test_negative_cases_fail_and_their_actual_signature_passes(case: dict) -> None:
    body = case["payload"].encode("utf-8")
    assert not verify_signature(
        secret=case["secret"], body=body, header=case["x_hub_signature_256_that_must_fail"]
    )
    actual = (
        case.get("actual_signature_of_this_payload") or case["actual_signature_with_this_secret"]
    )
    assert verify_signature(secret=case["secret"], body=body, header=actual)


def test_header_without_sha256_prefix_is_rejected() -> None:
    official = VECTORS["official"][0]
    bare = next(c["header_value"] for c in VECTORS["negative_cases"] if "header_value" in c)
    assert not verify_signature(
        secret=official["secret"], body=official["payload"].encode(), header=bare
    )


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha256=zz", "sha256=" + "0" * 63, "SHA256=" + "0" * 64, "sha256 =abc"],
)
def test_missing_or_malformed_header_is_rejected(header: str | None) -> None:
    assert not verify_signature(secret="s", body=b"{}", header=header)


def test_bytes_and_text_secrets_agree() -> None:
    official = VECTORS["official"][0]
    body = official["payload"].encode()
    assert verify_signature(
        secret=official["secret"].encode("utf-8"), body=body, header=official["x_hub_signature_256"]
    )


def test_empty_secret_never_verifies() -> None:
    body = b'{"zen":"Keep it logically awesome."}'
    assert not verify_signature(secret="", body=body, header=sign(secret="", body=body))
