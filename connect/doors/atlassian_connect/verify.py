"""Verify, then route: the Connect JWT check every product request passes before a view runs.

A verified request carries its tenant (`g.tenant`), site (`g.site_id`) and the user's account
id (`g.account_id`); views never read a body before this.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from connect.doors.atlassian_connect.connect_jwt import (
    ConnectClaims,
    token_from_request,
    verify_connect_jwt,
)
from connect.errors import AuthError, ForbiddenError
from connect.services import services
from integrations.atlassian.qsh import without_token
from sync.tenants import Tenant, Tenants

F = TypeVar("F", bound=Callable[..., Any])


RETRIED_CODES = frozenset({"token_signature", "unknown_issuer"})
"""Failures that a cached secret can cause, tried once more with the database's."""


def tenants() -> Tenants:
    return services().tenants


def verify_connect_call(
    registry: Tenants,
    *,
    method: str,
    path: str,
    query: str,
    authorization: str | None,
    base_url: str,
    allow_context_qsh: bool,
    params: str | None = None,
) -> tuple[Tenant, ConnectClaims]:
    """Check a call's Connect JWT (qsh of this call, or context-qsh where allowed).

    ``params``: the query's `without_token`, when the caller has it (the panel's hot path). It
    must be exactly that: the token is looked up and the qsh checked against it.
    """
    if params is None:
        params = without_token(query)
    token = token_from_request(authorization=authorization, query=query, params=params)
    if token is None:
        raise AuthError("missing Connect JWT", code="token_missing")
    fresh = False
    while True:  # a loop rather than a closure: one Python call fewer on every verified load
        try:
            claims = verify_connect_jwt(
                token,
                method=method,
                path=path,
                query=query,
                secret_for=functools.partial(registry.secret_for, fresh=True)
                if fresh
                else registry.secret_for,
                allow_context_qsh=allow_context_qsh,
                base_url=base_url,
                params=params,
            )
            break
        except AuthError as exc:
            if fresh or exc.code not in RETRIED_CODES:
                raise
            fresh = True  # a reinstall may have rotated the secret a moment ago: ask the database
    tenant = registry.tenant(claims.client_key)
    if tenant is None or not tenant.enabled:
        raise AuthError("unknown or disabled installation", code="unknown_issuer")
    return tenant, claims


def verify_connect_request(*, allow_context_qsh: bool) -> tuple[Tenant, ConnectClaims]:
    """`verify_connect_call` for the Flask request being handled."""
    return verify_connect_call(
        tenants(),
        method=request.method,
        path=request.path,
        query=request.query_string.decode(),
        authorization=request.headers.get("Authorization"),
        base_url=services().settings.base_url,
        allow_context_qsh=allow_context_qsh,
    )


def authenticate_connect(*, allow_context_qsh: bool) -> None:
    """Verify the request's Connect JWT and bind its tenant, site and user to `g`."""
    tenant, claims = verify_connect_request(allow_context_qsh=allow_context_qsh)
    g.tenant, g.site_id, g.account_id = tenant, tenant.site_id, claims.account_id
    g.claims = claims


def connect_jwt_required(*, allow_context_qsh: bool = False) -> Callable[[F], F]:
    """Decorate a view that the product calls (webhooks, iframes, panel APIs)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authenticate_connect(allow_context_qsh=allow_context_qsh)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def require_site(site_id: int) -> None:
    """Refuse a verified caller acting on another site's data."""
    if g.get("site_id") != site_id:
        raise ForbiddenError("this installation cannot reach that site's data")


def connect_api_site() -> int | None:
    """REST API authenticator for iframe calls: a Connect JWT, context-qsh allowed."""
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith("JWT ") and "jwt=" not in request.query_string.decode():
        return None
    tenant, claims = verify_connect_request(allow_context_qsh=True)
    g.tenant, g.account_id = tenant, claims.account_id
    return tenant.site_id
