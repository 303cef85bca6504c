"""Connect JWT: canonical requests against Atlassian's vectors, and incoming HS256 verification."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from connect.doors.atlassian_connect import connect_jwt
from connect.doors.atlassian_connect.connect_jwt import (
    CONTEXT_QSH,
    ConnectClaims,
    token_from_request,
    verify_connect_jwt,
)
from connect.errors import AuthError
from integrations.atlassian.qsh import (
    MAX_CACHED_QUERY,
    canonical_request,
    query_string_hash,
    without_token,
)
from tests.support.base import SHARED_FIXTURES

FIXTURE = SHARED_FIXTURES / "connect" / "qsh_vectors.json"
VECTORS = json.loads(FIXTURE.read_text(encoding="utf-8"))
INTEROP = VECTORS["interop_signed_urls"]
INTEROP_TESTS = INTEROP["tests"]
UNIT_WITH_REQUEST = [v for v in VECTORS["unit_vectors"] if "path" in v]
UNIT_WITH_HASH = [v for v in VECTORS["unit_vectors"] if "expectedQsh" in v]
CONTEXT_VECTOR = next(v for v in VECTORS["unit_vectors"] if "qshLiteral" in v)

SECRET = "0b7f2c1e-9a4d-4c3b-8e6f-5a2d1c0b9e8f-shared"
CLIENT_KEY = "8a1c6f0e-3b2d-4e5f-9a7b-1c2d3e4f5a6b"
ACCOUNT_ID = "557058:f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"
NOW = 1_750_000_000
PATH = "/jira/issue-panel"
QUERY = "issueKey=OKR-7&projectKey=OKR&xdm_e=https%3A%2F%2Fexample.atlassian.net&cp=&lic=active"


def _secrets(mapping: dict[str, str]) -> Callable[[str], str | None]:
    return mapping.get


def _token(
    *,
    claims: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    secret: str = SECRET,
    method: str = "GET",
    path: str = PATH,
    query: str = QUERY,
) -> str:
    body: dict[str, Any] = {
        "iss": CLIENT_KEY,
        "sub": ACCOUNT_ID,
        "qsh": query_string_hash(method, path, query),
        "iat": NOW,
        "exp": NOW + 180,
        "context": {},
    }
    body.update(claims or {})
    for name in drop:
        body.pop(name)
    return jwt.encode(body, secret, algorithm="HS256")


def _verify(token: str, **overrides: Any) -> ConnectClaims:
    arguments: dict[str, Any] = {
        "method": "GET",
        "path": PATH,
        "query": QUERY,
        "secret_for": _secrets({CLIENT_KEY: SECRET}),
        "now": NOW,
    }
    arguments.update(overrides)
    return verify_connect_jwt(token, **arguments)


def _rejected(token: str, code: str, **overrides: Any) -> None:
    with pytest.raises(AuthError) as caught:
        _verify(token, **overrides)
    assert caught.value.http_status == 401
    assert caught.value.code == code


# --- Atlassian's vectors ------------------------------------------------------------------


@pytest.mark.parametrize("vector", INTEROP_TESTS, ids=[t["name"] for t in INTEROP_TESTS])
def test_interop_signed_url_canonicalises_and_hashes_like_atlassian(vector: dict[str, Any]) -> None:
    url = urlsplit(vector["signedUrl"])
    canonical = canonical_request(vector["method"], url.path, url.query)
    assert canonical == vector["canonicalUrl"]
    assert query_string_hash(vector["method"], url.path, url.query) == vector["expectedQsh"]


@pytest.mark.parametrize("vector", INTEROP_TESTS, ids=[t["name"] for t in INTEROP_TESTS])
def test_interop_signed_url_verifies_with_its_secret(vector: dict[str, Any]) -> None:
    url = urlsplit(vector["signedUrl"])
    token = token_from_request(authorization=None, query=parse_qs(url.query))
    assert token is not None
    claims = verify_connect_jwt(
        token,
        method=vector["method"],
        path=url.path,
        query=url.query,
        secret_for=_secrets({vector["jwtClaims"]["iss"]: INTEROP["secret"]}),
        now=vector["jwtClaims"]["iat"],
    )
    assert claims.client_key == vector["jwtClaims"]["iss"]
    assert claims.issued_at == vector["jwtClaims"]["iat"]
    assert claims.expires_at == vector["jwtClaims"]["exp"]
    assert claims.context_qsh is False
    assert claims.claims["qsh"] == vector["expectedQsh"]


@pytest.mark.parametrize("vector", INTEROP_TESTS[:3], ids=[t["name"] for t in INTEROP_TESTS[:3]])
def test_interop_token_fails_on_a_request_it_was_not_signed_for(vector: dict[str, Any]) -> None:
    url = urlsplit(vector["signedUrl"])
    token = token_from_request(authorization=None, query=parse_qs(url.query))
    assert token is not None
    with pytest.raises(AuthError) as caught:
        verify_connect_jwt(
            token,
            method="POST",
            path=url.path,
            query=url.query,
            secret_for=_secrets({vector["jwtClaims"]["iss"]: INTEROP["secret"]}),
            now=vector["jwtClaims"]["iat"],
        )
    assert caught.value.code == "token_qsh"


@pytest.mark.parametrize("vector", UNIT_WITH_REQUEST, ids=[v["name"] for v in UNIT_WITH_REQUEST])
def test_unit_vector_canonical_request(vector: dict[str, Any]) -> None:
    # The form-body vector models a caller that merges form parameters into the query.
    query = "&".join(part for part in (vector["query"], vector.get("body_form", "")) if part)
    canonical = canonical_request(
        vector["method"], vector["path"], query, base_url=vector.get("baseUrl", "")
    )
    assert canonical == vector["canonicalRequest"]


@pytest.mark.parametrize("vector", UNIT_WITH_HASH, ids=[v["name"] for v in UNIT_WITH_HASH])
def test_unit_vector_hash_is_sha256_of_canonical_request(vector: dict[str, Any]) -> None:
    digest = hashlib.sha256(vector["canonicalRequest"].encode("utf-8")).hexdigest()
    assert digest == vector["expectedQsh"]
    if "path" in vector and "body_form" not in vector:
        assert query_string_hash(vector["method"], vector["path"], vector["query"]) == digest


def test_context_qsh_constant_is_the_literal_from_the_vectors() -> None:
    assert CONTEXT_QSH == CONTEXT_VECTOR["qshLiteral"]


def test_multidict_and_mapping_queries_canonicalise_like_the_query_string() -> None:
    raw = "b=2&a=y&a=x&jwt=abc&c="
    multidict = MultiDict([("b", "2"), ("a", "y"), ("a", "x"), ("jwt", "abc"), ("c", "")])
    mapping = {"b": ["2"], "a": ["y", "x"], "jwt": ["abc"], "c": [""]}
    expected = "GET&/p&a=x,y&b=2&c="
    assert canonical_request("get", "/p", raw) == expected
    assert canonical_request("get", "/p", multidict) == expected
    assert canonical_request("get", "/p", mapping) == expected


def test_app_served_below_a_path_canonicalises_relative_to_its_base_url() -> None:
    canonical = canonical_request(
        "GET", "/okrlink/jira/issue-panel/", "", base_url="https://apps.example.com/okrlink/"
    )
    assert canonical == "GET&/jira/issue-panel&"


# --- verify_connect_jwt ---------------------------------------------------------------------


def test_valid_token_yields_the_installation_and_the_user() -> None:
    claims = _verify(_token())
    assert claims == ConnectClaims(
        client_key=CLIENT_KEY,
        account_id=ACCOUNT_ID,
        context_qsh=False,
        issued_at=NOW,
        expires_at=NOW + 180,
        claims=claims.claims,
    )
    assert claims.claims["context"] == {}
    with pytest.raises(TypeError):
        claims.claims["iss"] = "other"  # type: ignore[index]


def test_secret_is_looked_up_by_the_unverified_issuer_only() -> None:
    asked: list[str] = []

    def secret_for(client_key: str) -> str | None:
        asked.append(client_key)
        return SECRET

    _verify(_token(), secret_for=secret_for)
    assert asked == [CLIENT_KEY]


def test_token_without_subject_has_no_account() -> None:
    assert _verify(_token(drop=("sub",))).account_id is None


def test_expired_token_is_rejected_after_the_leeway() -> None:
    token = _token()
    assert _verify(token, now=NOW + 180 + 30).client_key == CLIENT_KEY
    _rejected(token, "token_expired", now=NOW + 180 + 31)


def test_token_issued_in_the_future_is_rejected() -> None:
    _rejected(_token(claims={"iat": NOW + 120, "exp": NOW + 300}), "token_not_yet_valid")


@pytest.mark.parametrize("missing", ["iat", "exp"])
def test_token_without_iat_or_exp_is_rejected(missing: str) -> None:
    _rejected(_token(drop=(missing,)), "token_claims")


def test_token_signed_with_another_secret_is_rejected() -> None:
    _rejected(_token(secret="a-different-secret-of-the-same-length-000"), "token_signature")


def test_payload_swapped_under_a_valid_signature_is_rejected() -> None:
    header, _, signature = _token().split(".")
    other_payload = _token(claims={"sub": "557058:attacker"}, secret="x" * 40).split(".")[1]
    _rejected(f"{header}.{other_payload}.{signature}", "token_signature")


def test_alg_none_token_is_rejected_before_any_key_lookup() -> None:
    unsigned = jwt.encode(
        {"iss": CLIENT_KEY, "qsh": query_string_hash("GET", PATH, QUERY), "iat": NOW, "exp": NOW},
        None,
        algorithm="none",
    )
    assert unsigned.endswith(".")
    with_fake_signature = unsigned + "c2lnbmF0dXJl"

    def secret_for(client_key: str) -> str | None:
        raise AssertionError("no key lookup for an unsigned token")

    _rejected(unsigned, "token_malformed", secret_for=secret_for)
    _rejected(with_fake_signature, "token_algorithm", secret_for=secret_for)


def test_rs256_token_is_refused_on_the_shared_secret_path() -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"iss": CLIENT_KEY, "qsh": query_string_hash("GET", PATH, QUERY), "iat": NOW}
    token = jwt.encode({**claims, "exp": NOW + 60}, private_key, algorithm="RS256")
    _rejected(token, "token_algorithm")


def test_hs256_token_keyed_with_a_public_key_pem_is_refused() -> None:
    # Classic RS/HS confusion: an attacker signs HS256 with the (public) PEM as the secret.
    public_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    token = _token(secret="a-secret-the-attacker-does-not-have-000")
    _rejected(token, "token_signature", secret_for=_secrets({CLIENT_KEY: public_pem}))


def test_context_qsh_is_accepted_only_where_allowed() -> None:
    token = _token(claims={"qsh": CONTEXT_QSH})
    _rejected(token, "token_qsh")
    claims = _verify(token, allow_context_qsh=True)
    assert claims.context_qsh is True


def test_hash_of_the_context_literal_is_not_a_context_token() -> None:
    hashed = hashlib.sha256(CONTEXT_QSH.encode()).hexdigest()
    _rejected(_token(claims={"qsh": hashed}), "token_qsh", allow_context_qsh=True)


def test_unknown_or_disabled_installation_is_rejected() -> None:
    _rejected(_token(), "unknown_issuer", secret_for=_secrets({}))


def test_tampered_query_fails_the_qsh_check() -> None:
    tampered = QUERY.replace("issueKey=OKR-7", "issueKey=OKR-8")
    _rejected(_token(), "token_qsh", query=tampered)


@pytest.mark.parametrize(
    ("method", "path"), [("POST", PATH), ("GET", "/jira/admin"), ("GET", PATH + "&x=1")]
)
def test_other_method_or_path_fails_the_qsh_check(method: str, path: str) -> None:
    _rejected(_token(), "token_qsh", method=method, path=path)


def test_token_without_qsh_is_rejected() -> None:
    _rejected(_token(drop=("qsh",)), "token_qsh")


def test_token_without_issuer_is_rejected() -> None:
    _rejected(_token(drop=("iss",)), "token_claims")


@pytest.mark.parametrize(
    "garbage",
    ["", "not-a-token", "a.b", "a.b.c.d", "eyJhbGciOiJIUzI1NiJ9.e30.!!!", "x" * 9000, "a.b.c"],
)
def test_garbage_is_rejected(garbage: str) -> None:
    _rejected(garbage, "token_malformed")


def test_non_canonical_signature_encoding_is_rejected() -> None:
    token = _token()
    # The last base64url char of a 32-byte MAC carries 2 spare bits; set one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    token = token[:-1] + alphabet[last | 1]
    _rejected(token, "token_malformed")


def _signed_raw(payload: bytes, secret: str = SECRET) -> str:
    """A token over payload bytes exactly as given (`jwt.encode` would re-serialise them)."""
    return jwt.api_jws.encode(payload, secret, algorithm="HS256")


def _payload(**changes: str) -> bytes:
    fields = {
        "iss": json.dumps(CLIENT_KEY),
        "sub": json.dumps(ACCOUNT_ID),
        "qsh": json.dumps(query_string_hash("GET", PATH, QUERY)),
        "iat": str(NOW),
        "exp": str(NOW + 180),
    }
    fields.update(changes)
    return ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()


def test_claims_read_past_orjson_are_read_as_json_reads_them() -> None:
    # orjson reads the usual payload; an integer past 64 bits and a lone surrogate are read
    # by the standard library, exactly as before orjson was used.
    far = 10**24
    claims = _verify(_signed_raw(_payload(exp=str(far), sub='"\\ud800me"')))
    assert claims.expires_at == far and type(claims.claims["exp"]) is int
    assert claims.account_id == "\ud800me"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_time_claim_that_is_not_a_finite_number_is_rejected(constant: str) -> None:
    _rejected(_signed_raw(_payload(exp=constant)), "token_claims")


def test_a_payload_that_is_not_json_or_not_an_object_is_malformed() -> None:
    _rejected(_signed_raw(b'{"iss": '), "token_malformed")
    _rejected(_signed_raw(b"[1, 2]"), "token_malformed")
    _rejected(_signed_raw(b"\xff\xfe{}"), "token_malformed")


# --- token_from_request --------------------------------------------------------------------


def test_token_is_read_from_the_authorization_header_first() -> None:
    assert (
        token_from_request(authorization="JWT abc.def.ghi", query={"jwt": ["x"]}) == "abc.def.ghi"
    )


def test_token_is_read_from_the_jwt_parameter() -> None:
    assert token_from_request(authorization=None, query=MultiDict([("jwt", "q.r.s")])) == "q.r.s"
    assert token_from_request(authorization="Bearer other", query={"jwt": ["q.r.s"]}) == "q.r.s"


def test_no_token_is_none() -> None:
    assert token_from_request(authorization=None, query={}) is None
    assert token_from_request(authorization="JWT ", query={"jwt": [""]}) is None


def test_two_jwt_parameters_are_refused() -> None:
    with pytest.raises(AuthError):
        token_from_request(authorization=None, query={"jwt": ["a.b.c", "d.e.f"]})


def test_a_raw_query_gives_the_token_of_its_one_jwt_parameter() -> None:
    assert token_from_request(authorization=None, query="a=1&jwt=q.r.s&b=%41") == "q.r.s"
    assert token_from_request(authorization=None, query="?jwt=q.r.s") == "q.r.s"
    assert token_from_request(authorization=None, query="j%77t=q.r.s&x=1") == "q.r.s"
    assert token_from_request(authorization=None, query="xjwt=q.r.s&jwtx=1") is None
    for twice in ("jwt=a.b.c&jwt=d.e.f", "jwt=a.b.c&j%77t=d.e.f", "jwt&jwt=a.b.c"):
        with pytest.raises(AuthError):
            token_from_request(authorization=None, query=twice)


def test_a_query_too_long_for_any_page_still_gives_its_token_and_is_not_kept() -> None:
    kept = connect_jwt._names_encoded.cache_info().currsize
    for names in ("a", "%61"):  # no escaped name, then one
        query = f"{names}=" + "x" * MAX_CACHED_QUERY + "&jwt=q.r.s"
        assert token_from_request(authorization=None, query=query) == "q.r.s"
    assert connect_jwt._names_encoded.cache_info().currsize == kept


def test_a_long_signed_request_is_verified_and_its_qsh_not_kept() -> None:
    query = "a=" + "x" * MAX_CACHED_QUERY
    kept = connect_jwt._query_string_hash.cache_info().currsize
    claims = _verify(_token(query=query), query=query)
    assert claims.client_key == CLIENT_KEY
    assert connect_jwt._query_string_hash.cache_info().currsize == kept
    _rejected(_token(query=query), "token_qsh", query=query + "y")


QUERY_PIECES = ("jwt", "j%77t", "%6A%77%74", "jw", "t", "=", "&", "%", "+", "a.b", "%41", "?")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(QUERY_PIECES), max_size=12).map("".join))
def test_a_raw_query_is_read_as_its_decoded_parameters_would_be(query: str) -> None:
    """Whatever the raw string, the token is the one parameter whose name decodes to `jwt`."""
    pairs = parse_qsl(query.removeprefix("?"), keep_blank_values=True)
    values = [value for name, value in pairs if name == "jwt"]
    if len(values) > 1:
        with pytest.raises(AuthError):
            token_from_request(authorization=None, query=query)
        with pytest.raises(AuthError):  # the same, given the query without its token
            token_from_request(authorization=None, query=query, params=without_token(query))
    else:
        expected = values[0] if values and values[0] else None
        assert token_from_request(authorization=None, query=query) == expected
        params = without_token(query)
        assert token_from_request(authorization=None, query=query, params=params) == expected


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=BASE64URL, min_size=1, max_size=90).filter(lambda s: len(s) % 4 != 1))
def test_a_signature_is_canonical_exactly_when_encoding_its_bytes_gives_it_back(
    segment: str,
) -> None:
    """The one-character check of the signature's last bits says what a round trip says."""
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    round_trip = base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == segment
    assert (segment[-1] in connect_jwt._CANONICAL_LAST[len(segment) % 4]) == round_trip


def test_a_signature_spelled_another_way_for_the_same_bytes_is_refused() -> None:
    """Base64url's unused last bits set: the same MAC bytes, another token (RFC 7515 wants
    one spelling; a cache or log keyed by token would see two)."""
    token = _token()
    head, _, signature = token.rpartition(".")
    assert len(signature) % 4 == 3  # 32 bytes: the last character carries 2 unused bits
    sibling = BASE64URL[BASE64URL.index(signature[-1]) + 1]
    assert base64.urlsafe_b64decode(signature + "=") == base64.urlsafe_b64decode(
        signature[:-1] + sibling + "="
    )
    _verify(token)
    _rejected(f"{head}.{signature[:-1]}{sibling}", "token_malformed")


def _never_asked(client_key: str) -> str | None:
    raise AssertionError(f"the secret of {client_key!r} was looked up")


def test_a_lone_surrogate_in_iss_is_refused_before_any_lookup() -> None:
    """`json` reads "\\ud800"; the database cannot look it up (it answered 500)."""
    token = _signed_raw(_payload(iss=r'"\ud800"'))
    _rejected(token, "token_claims", secret_for=_never_asked)


def test_a_lone_surrogate_in_a_signed_qsh_is_a_mismatch() -> None:
    _rejected(_signed_raw(_payload(qsh=r'"\ud800"')), "token_qsh")


def test_nbf_is_honoured_past_the_usual_tokens_shortcut() -> None:
    """A token with `nbf` takes the full time check: in the past it passes, ahead it fails."""
    assert _verify(_token(claims={"nbf": NOW - 10})).client_key == CLIENT_KEY
    _rejected(_token(claims={"nbf": NOW + 600}), "token_not_yet_valid")
    _rejected(_token(claims={"nbf": "soon"}), "token_not_yet_valid")


@pytest.mark.parametrize(
    ("iat", "exp", "code"),
    [
        (True, NOW + 180, "token_claims"),  # a bool is no time
        (float(NOW), float(NOW + 180), None),  # floats take the full check and pass
        (NOW, NOW - 31, "token_expired"),  # past the leeway
        (NOW + 31, NOW + 180, "token_not_yet_valid"),
        (NOW - 30, NOW - 30, None),  # at the leeway's edge
    ],
)
def test_the_times_shortcut_agrees_with_the_full_check(
    iat: Any, exp: Any, code: str | None
) -> None:
    token = _token(claims={"iat": iat, "exp": exp})
    if code is None:
        assert _verify(token).client_key == CLIENT_KEY
    else:
        _rejected(token, code)
