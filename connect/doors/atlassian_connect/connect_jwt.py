"""Atlassian Connect JWT verification: incoming HS256 (with `qsh`) and signed-install RS256.

Pure functions over strings: callers pass the method, path and query of the request; the
canonical request and `qsh` live in `integrations/atlassian/qsh.py`, shared with signing.

Why the compact JWT parsing is done here and not by ``jwt.decode``: with PyJWT 2.15,
``jwt.decode`` re-prepares the HMAC key on every call (probing it as PEM, DER and JSON
to refuse asymmetric keys) and validates base64 one character at a time in Python; it
measured about 8,000 verifications/s on the reference machine, below the 20,000/s this
path must sustain. We keep PyJWT for what matters (its RS256 algorithm object, its HMAC
key preparation with the asymmetric-key-as-HMAC-secret guard; the HS256 MAC itself is the
standard library's `hmac`, compared in constant time) and do the rest in one strict pass:
the token must match the compact grammar, the header ``alg`` must equal the one expected
on that path (no ``none``, no RS/HS confusion), ``crit`` is refused, the signature segment
must be canonical base64url, and the keyed HMAC is cached per secret. Nothing read before
the signature check is trusted except ``iss``, used only to find the key.
"""

from __future__ import annotations

import binascii
import hmac
import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

import orjson
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import HMACAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from connect.errors import AuthError
from integrations.atlassian.qsh import (
    MAX_CACHED_QUERY,
    Query,
    decode_component,
    query_components,
    query_string_hash,
    without_token,
)
from integrations.payloads import DIGITS_AS_ZEROS, LONG_NUMBER, orjson_reads_as_json
from sync.core.hmac_sha256 import KeyedSha256

CONTEXT_QSH = "context-qsh"
INSTALL_KEYS_URL = "https://connect-install-keys.atlassian.com"
DEFAULT_LEEWAY = 30
MAX_TOKEN_LENGTH = 8192
MAX_PUBLIC_KEY_BYTES = 16384
UNKNOWN_KID_SECONDS = 60.0
"""How long a kid the key server answered 404 for is refused without asking again."""
MAX_UNKNOWN_KIDS = 1024

_HS256 = HMACAlgorithm(HMACAlgorithm.SHA256)
_RS256 = RSAAlgorithm(RSAAlgorithm.SHA256)
_TOKEN = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_KID = re.compile(r"[A-Za-z0-9._-]{1,128}")


# --- verified claims ------------------------------------------------------------------------


class ConnectClaims(NamedTuple):
    """What a verified Connect JWT says: which installation, which user, how it was bound.

    A NamedTuple rather than a frozen dataclass: as immutable, and made in 0.2 µs where the
    dataclass took 0.8 (once per verified request: `bench/panels.py`).
    """

    client_key: str
    account_id: str | None
    context_qsh: bool
    issued_at: int
    expires_at: int
    claims: Mapping[str, Any]


def token_from_request(
    *, authorization: str | None, query: Query, params: str | None = None
) -> str | None:
    """The JWT of a request: ``Authorization: JWT <token>`` first, else the ``jwt`` parameter.

    ``query`` is a raw query string or a mapping (MultiDict) of decoded values; ``params`` is
    the raw query's `without_token`, when the caller has it already.
    """
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "jwt" and credentials.strip():
            return credentials.strip()
    values = []
    if isinstance(query, str):
        query = query.removeprefix("?")
        if params is None:
            params = without_token(query)
        encoded = (
            _names_encoded(params)  # cached: a page's query without its token repeats
            if len(params) <= MAX_CACHED_QUERY
            else _any_name_encoded(params)
        )
        if not encoded:
            # No other name needs decoding, so the token is in the parts named exactly "jwt",
            # found with `str.find` (splitting the query and testing every part took 2.9 µs
            # of a cached panel load's 20: a token is one part of about ten).
            at = query.find("jwt")
            while at >= 0:
                if at == 0 or query[at - 1] == "&":
                    end = query.find("&", at)
                    part = query[at:] if end < 0 else query[at:end]
                    if part == "jwt" or part.startswith("jwt="):
                        value = part[4:]
                        # Without "%" or "+", a value is its own decoding (`decode_component`).
                        values.append(
                            value
                            if "%" not in value and "+" not in value
                            else decode_component(value)[0]
                        )
                at = query.find("jwt", at + 3)
        else:  # a name with a "%" might decode to "jwt": read every part
            for part in query.split("&"):
                key, _, value = part.partition("=")
                if key == "jwt" or ("%" in key and decode_component(key)[0] == "jwt"):
                    values.append(decode_component(value)[0])
    else:
        values = [value for (key, _), (value, _) in query_components(query) if key == "jwt"]
    if len(values) > 1:
        raise AuthError("Several jwt parameters.", code="token_ambiguous")
    if not values or not values[0]:
        return None
    return values[0]


def _any_name_encoded(query: str) -> bool:
    """Whether a parameter name of `query` holds a percent-escape."""
    return any("%" in part.partition("=")[0] for part in query.split("&"))


_names_encoded = lru_cache(maxsize=1024)(_any_name_encoded)
"""`_any_name_encoded`, cached for queries up to `MAX_CACHED_QUERY` (the caller checks: a
`short_cache` would be one Python call more on every verified load)."""


def _storable(text: str) -> bool:
    """Whether `text` is valid Unicode (no lone surrogate), as a database stores it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fail(code: str, message: str) -> AuthError:
    return AuthError(message, code=code)


_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_CANONICAL_LAST = {
    0: _BASE64URL,  # the last of 4 characters carries 6 bits of data
    2: _BASE64URL[::16],  # 2 characters: 8 bits of data, the last 4 bits of the second zero
    3: _BASE64URL[::4],  # 3 characters: 16 bits, the last 2 bits of the third zero
}
"""By the length of an unpadded base64url segment (mod 4), the characters it may end with."""


def _b64decode(segment: str) -> bytes:
    """base64url without padding; the alphabet was already checked by the token pattern."""
    try:
        return binascii.a2b_base64(
            segment.replace("-", "+").replace("_", "/") + "=" * (-len(segment) % 4)
        )
    except (binascii.Error, ValueError) as exc:  # 4n+1 characters among them
        raise _fail("token_malformed", "Malformed token.") from exc


def _read_json(raw: bytes) -> Any:
    """`json`'s reading of a token segment, by orjson where the two agree (0.6 against 1.7 µs
    for a Connect payload); orjson refuses what only `json` reads (NaN, a lone surrogate)."""
    if orjson_reads_as_json(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw.decode("utf-8"))  # JWTs are UTF-8 (RFC 7519)


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = _read_json(_b64decode(segment))
    except (ValueError, RecursionError) as exc:
        raise _fail("token_malformed", "Malformed token.") from exc
    if not isinstance(value, dict):
        raise _fail("token_malformed", "Malformed token.")
    return value


@lru_cache(maxsize=64)
def _header(segment: str) -> Mapping[str, Any]:
    """Decoded JOSE header; a product sends the same few headers, so they are cached."""
    return MappingProxyType(_json_object(segment))


_Token = tuple[Mapping[str, Any], dict[str, Any], bytes, bytes]
"""A parsed token: header, payload, signing input, signature (a plain tuple: a NamedTuple's
constructor is a Python call)."""


def _parse(token: str, *, alg: str) -> _Token:
    """Split and decode a compact JWS whose header must say ``alg``; nothing is verified yet.

    Its steps are written inline rather than as calls to `_b64decode` and `_read_json` (which
    the cached header's decoding keeps): a verified panel load runs in the server with the
    core's caches cold, where every function it enters costs it more (`cached_panel`).
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise _fail("token_malformed", "Malformed token.")
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise _fail("token_malformed", "Malformed token.")
    header_b64, payload_b64, signature_b64 = match.groups()
    header = _header(header_b64)
    if header.get("alg") != alg:
        raise _fail("token_algorithm", f"Only {alg} tokens are accepted here.")
    if "crit" in header:
        raise _fail("token_malformed", "Unsupported critical header.")
    try:  # base64url without padding (the pattern checked the alphabet); 4n+1 characters fail
        signature = binascii.a2b_base64(
            signature_b64.replace("-", "+").replace("_", "/") + "=" * (-len(signature_b64) % 4)
        )
        raw = binascii.a2b_base64(
            payload_b64.replace("-", "+").replace("_", "/") + "=" * (-len(payload_b64) % 4)
        )
        try:  # `_read_json`'s reading, and `orjson_reads_as_json` written out
            if LONG_NUMBER not in raw.translate(DIGITS_AS_ZEROS):
                payload = orjson.loads(raw)
            else:
                payload = json.loads(raw.decode("utf-8"))
        except orjson.JSONDecodeError:  # what orjson refuses and `json` may read
            payload = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # binascii's and json's errors are ValueErrors
        raise _fail("token_malformed", "Malformed token.") from exc
    # Only the canonical encoding of the signature: the bits its last character carries past
    # the data are zero (one lookup, where encoding it again took four calls).
    if signature_b64[-1] not in _CANONICAL_LAST[len(signature_b64) % 4]:
        raise _fail("token_malformed", "Malformed token.")
    if not isinstance(payload, dict):
        raise _fail("token_malformed", "Malformed token.")
    return header, payload, f"{header_b64}.{payload_b64}".encode("ascii"), signature


def _time(value: object) -> float | None:
    """A time claim (seconds since the epoch), or None when it is not a finite number."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def _check_times(payload: Mapping[str, Any], *, now: float | None, leeway: int) -> tuple[int, int]:
    """``iat`` and ``exp`` are required; ``exp`` passed, ``iat``/``nbf`` in the future fail."""
    issued_at, expires_at = payload.get("iat"), payload.get("exp")
    if type(issued_at) is not int or type(expires_at) is not int:  # products send ints
        issued_at, expires_at = _time(issued_at), _time(expires_at)
        if issued_at is None or expires_at is None:
            raise _fail("token_claims", "Token lacks iat or exp.")
    current = time.time() if now is None else now
    if current > expires_at + leeway:
        raise _fail("token_expired", "Token expired.")
    if issued_at > current + leeway:
        raise _fail("token_not_yet_valid", "Token issued in the future.")
    if "nbf" in payload and payload["nbf"] is not None:
        not_before = _time(payload["nbf"])
        if not_before is None or not_before > current + leeway:
            raise _fail("token_not_yet_valid", "Token not yet valid.")
    return int(issued_at), int(expires_at)


def _qsh_matches(
    claimed: str, method: str, path: str, query: Query, base_url: str, params: str | None = None
) -> bool:
    try:
        if isinstance(query, str) and max(len(query), len(path)) <= MAX_CACHED_QUERY:
            # hashed once per page, whatever its token
            if params is None:
                params = without_token(query)
            expected = _query_string_hash(method, path, params, base_url)
        else:
            expected = query_string_hash(method, path, query, base_url=base_url)
    except (UnicodeError, ValueError, TypeError):
        return False
    # surrogatepass: a lone surrogate (which `json` reads) is a mismatch, not an error
    return hmac.compare_digest(claimed.encode("utf-8", "surrogatepass"), expected.encode("ascii"))


@lru_cache(maxsize=1024)
def _query_string_hash(method: str, path: str, query: str, base_url: str) -> str:
    return query_string_hash(method, path, query, base_url=base_url)


def _subject(payload: Mapping[str, Any]) -> str | None:
    subject = payload.get("sub")
    if subject is not None and not isinstance(subject, str):
        raise _fail("token_claims", "Invalid sub claim.")
    return subject


@lru_cache(maxsize=4096)
def _hmac_key(secret: str) -> KeyedSha256:
    """The HMAC of a shared secret, with PyJWT's key (it refuses a PEM or JWK secret), once per
    secret: preparing it costs about 20 µs."""
    return KeyedSha256(_HS256.prepare_key(secret))


# --- incoming requests from the product (HS256) ------------------------------------------


def verify_connect_jwt(
    token: str,
    *,
    method: str,
    path: str,
    query: Query,
    secret_for: Callable[[str], str | None],
    allow_context_qsh: bool = False,
    leeway: int = DEFAULT_LEEWAY,
    now: float | None = None,
    base_url: str = "",
    params: str | None = None,
) -> ConnectClaims:
    """Verify an HS256 Connect JWT with the shared secret of its ``iss`` and its ``qsh``.

    ``secret_for(client_key)`` returns None for an unknown or disabled installation.
    ``allow_context_qsh`` accepts the literal ``context-qsh`` (tokens from AP.context.getToken).
    ``base_url`` is our app's base URL, only needed when the app is served below a path.
    ``params`` is the raw query's `without_token`, when the caller has it already (exactly that:
    the qsh is checked against it). Every failure raises ``AuthError`` (401).
    """
    _, payload, signing_input, signature = _parse(token, alg="HS256")
    client_key = payload.get("iss")
    if not isinstance(client_key, str) or not client_key:
        raise _fail("token_claims", "Token lacks iss.")
    if not client_key.isascii() and not _storable(client_key):
        # Read before the signature is checked, and looked up in the database: a lone
        # surrogate (which `json` reads) would fail there, answered 500.
        raise _fail("token_claims", "Invalid iss claim.")
    secret = secret_for(client_key)
    if not secret:
        raise _fail("unknown_issuer", "Unknown or disabled installation.")
    try:
        key = _hmac_key(secret)
    except InvalidKeyError as exc:
        raise _fail("token_signature", "Unusable shared secret.") from exc
    if not hmac.compare_digest(key.digest(signing_input), signature):
        raise _fail("token_signature", "Invalid token signature.")
    # From here on the payload is authentic.
    issued_at, expires_at = payload.get("iat"), payload.get("exp")
    current = time.time() if now is None else now
    if not (  # the usual token (integer times, valid now, no nbf) passes without a call
        type(issued_at) is int
        and type(expires_at) is int
        and issued_at <= current + leeway
        and current <= expires_at + leeway
        and "nbf" not in payload
    ):
        issued_at, expires_at = _check_times(payload, now=current, leeway=leeway)
    claimed = payload.get("qsh")
    if not isinstance(claimed, str):
        raise _fail("token_qsh", "Token lacks qsh.")
    context_qsh = claimed == CONTEXT_QSH
    if context_qsh and not allow_context_qsh:
        raise _fail("token_qsh", "Context tokens are not accepted here.")
    if not context_qsh and not _qsh_matches(claimed, method, path, query, base_url, params):
        raise _fail("token_qsh", "Token does not match this request (qsh).")
    subject = payload.get("sub")  # `_subject`, inline (see `_parse`)
    if subject is not None and not isinstance(subject, str):
        raise _fail("token_claims", "Invalid sub claim.")
    return ConnectClaims(
        client_key=client_key,
        account_id=subject,
        context_qsh=context_qsh,
        issued_at=issued_at,
        expires_at=expires_at,
        claims=MappingProxyType(payload),
    )


# --- signed install / uninstall (RS256) ---------------------------------------------------


class InstallKeys:
    """Atlassian's install-signing public keys by ``kid``, fetched once and kept.

    A key never changes for its kid, so the cache keeps keys for the life of the process
    (bounded: the oldest is dropped past ``max_keys``). A kid the key server does not know
    (404) is remembered for ``UNKNOWN_KID_SECONDS``, so a stream of forged installs costs one
    fetch per kid and period, not one each; other failed fetches are not cached.
    """

    def __init__(
        self,
        keys_url: str = INSTALL_KEYS_URL,
        *,
        session: requests.Session | None = None,
        timeout: float = 5.0,
        max_keys: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys_url = keys_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout
        self._max_keys = max_keys
        self._keys: dict[str, RSAPublicKey] = {}
        self._unknown: dict[str, float] = {}  # kid -> when the key server said 404
        self._clock = clock
        self._lock = threading.Lock()

    def public_key(self, kid: str) -> RSAPublicKey:
        """The RSA public key for ``kid``; AuthError if the kid is invalid or unknown."""
        # The kid becomes a URL path segment: refuse anything but a plain name ("." / ".." too).
        if not isinstance(kid, str) or not _KID.fullmatch(kid) or not kid.strip("."):
            raise _fail("install_key_invalid", "Invalid key id.")
        now = self._clock()
        with self._lock:
            cached = self._keys.get(kid)
            unknown_at = self._unknown.get(kid)
        if cached is not None:
            return cached
        if unknown_at is not None and now - unknown_at < UNKNOWN_KID_SECONDS:
            raise _fail("install_key_unknown", "Unknown install key.")
        try:
            key = self._fetch(kid)
        except AuthError as exc:
            if exc.code == "install_key_unknown":
                with self._lock:
                    while len(self._unknown) >= MAX_UNKNOWN_KIDS:
                        self._unknown.pop(next(iter(self._unknown)))
                    self._unknown.pop(kid, None)
                    self._unknown[kid] = now
            raise
        with self._lock:
            while len(self._keys) >= self._max_keys:
                self._keys.pop(next(iter(self._keys)))
            return self._keys.setdefault(kid, key)

    def _fetch(self, kid: str) -> RSAPublicKey:
        url = f"{self._keys_url}/{kid}"
        try:
            response = self._session.get(url, timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise _fail("install_key_unavailable", "Install key server unreachable.") from exc
        if response.status_code == 404:
            raise _fail("install_key_unknown", "Unknown install key.")
        if response.status_code != 200 or len(response.content) > MAX_PUBLIC_KEY_BYTES:
            raise _fail("install_key_unavailable", "Install key could not be fetched.")
        try:
            key = load_pem_public_key(response.content)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise _fail("install_key_invalid", "Install key is not a PEM public key.") from exc
        if not isinstance(key, RSAPublicKey):
            raise _fail("install_key_invalid", "Install key is not an RSA key.")
        return key


def _audiences(payload: Mapping[str, Any]) -> list[str]:
    audience = payload.get("aud")
    if isinstance(audience, str):
        return [audience]
    if isinstance(audience, list):
        return [item for item in audience if isinstance(item, str)]
    return []


def verify_install_jwt(
    token: str,
    *,
    method: str,
    path: str,
    query: Query,
    base_url: str,
    client_key: str,
    keys: InstallKeys,
    leeway: int = DEFAULT_LEEWAY,
    now: float | None = None,
) -> ConnectClaims:
    """Verify a signed install/uninstall call: RS256 by ``kid``, ``aud`` = our base URL,
    ``iss`` = the body's clientKey, ``qsh`` of this request. Failures raise AuthError."""
    header, payload, signing_input, signature = _parse(token, alg="RS256")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise _fail("install_key_invalid", "Token lacks kid.")
    if not _RS256.verify(signing_input, keys.public_key(kid), signature):
        raise _fail("token_signature", "Invalid token signature.")
    issued_at, expires_at = _check_times(payload, now=now, leeway=leeway)
    ours = base_url.rstrip("/")
    if not any(audience.rstrip("/") == ours for audience in _audiences(payload)):
        raise _fail("token_audience", "Token is not addressed to this app.")
    issuer = payload.get("iss")
    if (
        not isinstance(issuer, str)
        or not client_key
        or not hmac.compare_digest(
            issuer.encode("utf-8", "surrogatepass"), client_key.encode("utf-8", "surrogatepass")
        )
    ):
        raise _fail("token_issuer", "Token issuer does not match clientKey.")
    claimed = payload.get("qsh")
    if not isinstance(claimed, str) or not _qsh_matches(claimed, method, path, query, base_url):
        raise _fail("token_qsh", "Token does not match this request (qsh).")
    return ConnectClaims(
        client_key=issuer,
        account_id=_subject(payload),
        context_qsh=False,
        issued_at=issued_at,
        expires_at=expires_at,
        claims=MappingProxyType(payload),
    )
