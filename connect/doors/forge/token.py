"""Forge Remote: verify the Forge Invocation Token (FIT) that Forge sends with every call to us.

Forge calls our remote with `Authorization: Bearer <FIT>`, an RS256 JWT signed by a key published
in Forge's JWKS, `iss` = `forge/invocation-token`, `aud` = our app id. Product API calls go to the
FIT's `app.apiBaseUrl` with the token Forge passes in `x-forge-oauth-system` (or
`x-forge-oauth-user`). No header carries the API base URL: it is only read from a verified FIT.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import jwt
import requests
from jwt.algorithms import RSAAlgorithm

from connect.errors import AuthError

FIT_ISSUER: Final = "forge/invocation-token"
FIT_ALGORITHM: Final = "RS256"
APP_ARI_PREFIX: Final = "ari:cloud:ecosystem::app/"
SYSTEM_OAUTH_HEADER: Final = "x-forge-oauth-system"
USER_OAUTH_HEADER: Final = "x-forge-oauth-user"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ForgeClaims:
    """What a verified FIT says about the call: app, installation, site, user."""

    app_id: str
    installation_id: str
    api_base_url: str | None = None
    environment_type: str | None = None
    environment_id: str | None = None
    module_key: str | None = None
    cloud_id: str | None = None
    site_url: str | None = None
    account_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class ForgeRequest:
    """A verified Forge call: its claims and the product tokens Forge attached."""

    claims: ForgeClaims
    system_token: str | None = field(default=None, repr=False)
    user_token: str | None = field(default=None, repr=False)


class ForgeJwks:
    """Forge's signing keys by `kid`, fetched on demand; refetched on an unknown `kid`.

    A token naming an unknown `kid` triggers at most one fetch per `min_refresh_seconds`, so
    forged tokens with random key ids cannot turn us into a load generator for the JWKS host.
    """

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 5.0,
        min_refresh_seconds: float = 60.0,
        max_age_seconds: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._session = session or requests.Session()
        self._timeout = timeout
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any:
        """The RSA public key for `kid`; raises `AuthError` if Forge does not publish it."""
        with self._lock:
            if self._stale():
                try:
                    self._refresh_if_allowed()
                except AuthError:
                    # A routine refresh that fails keeps the keys we have, if any.
                    if not self._keys:
                        raise
            if kid not in self._keys:
                self._refresh_if_allowed()
            found = self._keys.get(kid)
        if found is None:
            raise AuthError("Unknown Forge signing key.", code="forge_key_unknown")
        return found

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age

    def _refresh_if_allowed(self) -> None:
        if self._fetched_at is not None and self._clock() - self._fetched_at < self._min_refresh:
            return
        self._fetched_at = self._clock()
        self._keys = self._fetch()

    def _fetch(self) -> dict[str, Any]:
        try:
            response = self._session.get(self.url, timeout=self._timeout)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.error("forge jwks fetch failed: %s", type(exc).__name__)
            raise AuthError(
                "Forge signing keys unavailable.", code="forge_keys_unavailable"
            ) from exc
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid"):
                continue
            if jwk.get("alg", FIT_ALGORITHM) != FIT_ALGORITHM or jwk.get("use", "sig") != "sig":
                continue
            try:
                keys[jwk["kid"]] = RSAAlgorithm.from_jwk(jwk)
            except (jwt.InvalidKeyError, ValueError, KeyError):
                log.warning("forge jwks: skipped unreadable key %s", jwk.get("kid"))
        return keys


def app_ari(app_id: str) -> str:
    """The app id as Forge puts it in `aud`: `ari:cloud:ecosystem::app/<uuid>`."""
    app_id = app_id.strip()
    return app_id if app_id.startswith(APP_ARI_PREFIX) else APP_ARI_PREFIX + app_id


def verify_forge_token(
    token: str,
    *,
    jwks: ForgeJwks,
    app_id: str,
    leeway: int = 30,
    now: float | None = None,
) -> ForgeClaims:
    """Verify a FIT (RS256, issuer, audience, time) and return its claims; else `AuthError`."""
    if not app_id.strip():
        raise AuthError("Forge app id is not configured.", code="forge_not_configured")
    audience = app_ari(app_id)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise AuthError("Malformed Forge invocation token.", code="token_malformed") from exc
    if header.get("alg") != FIT_ALGORITHM:
        raise AuthError("Forge invocation token must be RS256.", code="token_algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AuthError("Forge invocation token names no key.", code="forge_key_unknown")
    key = jwks.key(kid)
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[FIT_ALGORITHM],
            audience=audience,
            issuer=FIT_ISSUER,
            # Time claims are checked below against `now`, so tests and replays are exact.
            options={
                "require": ["exp", "iss", "aud"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidAudienceError as exc:
        raise AuthError("Forge token is for another app.", code="token_audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise AuthError("Forge token has the wrong issuer.", code="token_issuer") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthError("Forge token signature is invalid.", code="token_signature") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthError("Invalid Forge invocation token.", code="token_claims") from exc
    _check_times(payload, now=time.time() if now is None else now, leeway=leeway)
    return _claims(payload, audience=audience)


def _check_times(payload: Mapping[str, Any], *, now: float, leeway: int) -> None:
    exp, nbf, iat = payload.get("exp"), payload.get("nbf"), payload.get("iat")
    for value in (exp, nbf, iat):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise AuthError("Forge token has a malformed time claim.", code="token_claims")
    if exp is None:  # PyJWT's `require` refuses this first; said again for the type checker
        raise AuthError("Forge token has no expiry.", code="token_claims")
    if now > exp + leeway:
        raise AuthError("Forge invocation token has expired.", code="token_expired")
    if nbf is not None and now < nbf - leeway:
        raise AuthError("Forge invocation token is not valid yet.", code="token_not_yet_valid")
    if iat is not None and now < iat - leeway:
        raise AuthError("Forge token is issued in the future.", code="token_not_yet_valid")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _object(value: Any) -> dict[str, Any]:
    """A claim that should be a JSON object; anything else reads as an empty one."""
    return value if isinstance(value, dict) else {}


def _claims(payload: Mapping[str, Any], *, audience: str) -> ForgeClaims:
    app = payload.get("app")
    if not isinstance(app, dict):
        raise AuthError("Forge token carries no app claim.", code="token_claims")
    claimed_app = _text(app.get("id"))
    if claimed_app is not None and app_ari(claimed_app) != audience:
        raise AuthError("Forge token app id does not match its audience.", code="token_audience")
    installation = _object(app.get("installation"))
    legacy_id, installation_id = _text(app.get("installationId")), _text(installation.get("id"))
    if legacy_id and installation_id and legacy_id != installation_id:
        raise AuthError("Forge token names two installations.", code="token_claims")
    installation_id = installation_id or legacy_id
    if installation_id is None:
        raise AuthError("Forge token names no installation.", code="token_claims")
    environment, module = _object(app.get("environment")), _object(app.get("module"))
    context = _object(payload.get("context"))
    return ForgeClaims(
        app_id=audience,
        installation_id=installation_id,
        api_base_url=_text(app.get("apiBaseUrl")),
        environment_type=_text(environment.get("type")),
        environment_id=_text(environment.get("id")),
        module_key=_text(module.get("key")),
        cloud_id=_text(context.get("cloudId")),
        site_url=_text(context.get("siteUrl")),
        account_id=_text(payload.get("principal")),
        claims=dict(payload),
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    value = value.strip() if isinstance(value, str) else None
    return value or None


def bearer_token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    value = _header(headers, "Authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def system_token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The app system token Forge sends in `x-forge-oauth-system`, or None."""
    return _header(headers, SYSTEM_OAUTH_HEADER)


def user_token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The app user token Forge sends in `x-forge-oauth-user`, or None."""
    return _header(headers, USER_OAUTH_HEADER)


def verify_forge_request(
    headers: Mapping[str, str],
    *,
    jwks: ForgeJwks,
    app_id: str,
    leeway: int = 30,
    now: float | None = None,
) -> ForgeRequest:
    """Verify the FIT of an incoming Forge call and collect the product tokens it carries."""
    token = bearer_token_from_headers(headers)
    if token is None:
        raise AuthError("Missing Forge invocation token.", code="token_missing")
    claims = verify_forge_token(token, jwks=jwks, app_id=app_id, leeway=leeway, now=now)
    return ForgeRequest(
        claims=claims,
        system_token=system_token_from_headers(headers),
        user_token=user_token_from_headers(headers),
    )
