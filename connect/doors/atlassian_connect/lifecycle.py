"""Connect lifecycle: installed / uninstalled (signed RS256) and enabled / disabled (HS256)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from connect.doors.atlassian_connect.connect_jwt import (
    token_from_request,
    verify_install_jwt,
)
from connect.doors.atlassian_connect.verify import connect_jwt_required, tenants
from connect.errors import AuthError, BadRequest, ValidationError
from connect.services import services
from sync.tenants import record_install, record_uninstall, set_enabled

blueprint = Blueprint("lifecycle", __name__, url_prefix="/lifecycle")
PRODUCTS = {"jira", "confluence"}


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("send the lifecycle payload as a JSON object")
    client_key = data.get("clientKey")
    if not isinstance(client_key, str) or not client_key:
        raise ValidationError("clientKey is required", field="clientKey")
    return data


def _verify_signed(client_key: str) -> None:
    token = token_from_request(
        authorization=request.headers.get("Authorization"), query=request.query_string.decode()
    )
    if token is None:
        raise AuthError("signed install requires an RS256 JWT", code="token_missing")
    settings = services().settings
    verify_install_jwt(
        token,
        method=request.method,
        path=request.path,
        query=request.query_string.decode(),
        base_url=settings.base_url,
        client_key=client_key,
        keys=services().install_keys,
    )


@blueprint.post("/installed")
def installed() -> tuple[str, int]:
    data = _payload()
    _verify_signed(data["clientKey"])
    base_url, secret = data.get("baseUrl"), data.get("sharedSecret")
    if not isinstance(base_url, str) or not base_url.startswith("https://"):
        raise ValidationError("baseUrl must be an https URL", field="baseUrl")
    if not isinstance(secret, str) or len(secret) < 32:
        raise ValidationError("sharedSecret is required", field="sharedSecret")
    product = str(data.get("productType", "jira")).lower()
    if product not in PRODUCTS:
        raise ValidationError("productType must be jira or confluence", field="productType")
    registry = tenants()
    with services().store.session() as session:
        record_install(
            session,
            client_key=data["clientKey"],
            base_url=base_url.rstrip("/"),
            product=product,
            shared_secret=secret,
            encrypt=registry.encrypt,
            cloud_id=data.get("cloudId") if isinstance(data.get("cloudId"), str) else None,
        )
    registry.forget(data["clientKey"])
    return "", 204


@blueprint.post("/uninstalled")
def uninstalled() -> tuple[str, int]:
    data = _payload()
    _verify_signed(data["clientKey"])
    with services().store.session() as session:
        record_uninstall(session, data["clientKey"])
    tenants().forget(data["clientKey"])
    return "", 204


def _toggle(enabled: bool) -> tuple[str, int]:
    data = _payload()
    from flask import g

    if data["clientKey"] != g.tenant.client_key:
        raise AuthError("token and payload name different installations", code="token_claims")
    with services().store.session() as session:
        set_enabled(session, data["clientKey"], enabled)
    tenants().forget(data["clientKey"])
    return "", 204


@blueprint.post("/enabled")
@connect_jwt_required()
def enabled() -> tuple[str, int]:
    return _toggle(True)


@blueprint.post("/disabled")
@connect_jwt_required()
def disabled() -> tuple[str, int]:
    return _toggle(False)
