"""Register the GitHub App from its manifest: GitHub's "create an app from a manifest" flow.

`okrlink github register` prints `/github/register?state=...`, a state signed for this flow,
valid 15 minutes and usable once (`connect.browser_states`). That page binds the state to the
browser and posts the rendered manifest to GitHub with it; GitHub creates the app and sends the
browser back to `GET /github/manifest/callback?code=...&state=...`, where the one-time code is
exchanged (`POST /app-manifests/{code}/conversions`) for the app's id, private key and webhook
secret, shown once so the operator can set them.

Who may use these: the operator who ran the CLI, in the browser that opened its URL; anyone
else gets 401 (`invalid_state`, `state_not_this_browser`, `state_used`). Both routes close (404)
once the app is configured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests
import yaml
from flask import Blueprint, Response, render_template_string, request
from jinja2 import Template

from connect import browser_states
from connect.errors import AuthError, BadRequest, NotFound
from connect.services import services, settings

MANIFEST = Path(__file__).resolve().parents[3] / "descriptors" / "github-app.yml"
TIMEOUT = 10.0

REGISTER_PATH = "/github/register"
PURPOSE = "github-manifest"
COOKIE = "okrlink_github_manifest"
AGAIN = "run okrlink github register again"

blueprint = Blueprint("github_registration", __name__)


def manifest(base_url: str) -> dict[str, Any]:
    """The app manifest with this service's base URL filled in."""
    text = Template(MANIFEST.read_text()).render(base_url=base_url.rstrip("/"))
    document: dict[str, Any] = yaml.safe_load(text)  # our own file: a mapping
    return document


def configured() -> bool:
    return bool(settings().github_app_id)


def _open() -> None:
    if configured():
        raise NotFound("the GitHub App is configured already", code="github_app_configured")


def register_url(base_url: str, key: bytes) -> str:
    """The link `okrlink github register` prints: the register page with a fresh state."""
    state = browser_states.sign_state(key, PURPOSE, 0)
    return base_url.rstrip("/") + REGISTER_PATH + "?" + urlencode({"state": state})


def _web_url() -> str:
    """github.com for api.github.com; the server itself for GitHub Enterprise Server."""
    api = settings().github_api_url.rstrip("/")
    return "https://github.com" if api == "https://api.github.com" else api.removesuffix("/api/v3")


REGISTER_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Register the okrlink GitHub App</title></head><body>
<h1>Register the okrlink GitHub App</h1>
<form method="post" action="{{ action }}">
<label for="org">Organization (leave empty for your own account)</label>
<input id="org" name="org" oninput="this.form.action=this.value ? '{{ web }}/organizations/' +
encodeURIComponent(this.value) + '/settings/apps/new?state={{ state }}' : '{{ action }}'">
<input type="hidden" name="manifest" value="{{ manifest }}">
<button type="submit">Create the app on GitHub</button></form></body></html>"""

CREDENTIALS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>okrlink GitHub App created</title></head><body>
<h1>GitHub App "{{ app.slug }}" created</h1>
<p>Set these on every okrlink server, then restart it. They are shown only this once.</p>
<pre>OKRLINK_GITHUB_APP_ID={{ app.id }}
OKRLINK_GITHUB_WEBHOOK_SECRET={{ app.webhook_secret }}
OKRLINK_GITHUB_PRIVATE_KEY="{{ app.pem }}"</pre>
<p>Then install it: <a href="{{ app.html_url }}/installations/new">{{ app.html_url }}</a>,
and map the installation: <code>okrlink github map INSTALLATION_ID SITE</code>.</p>
</body></html>"""


@blueprint.get(REGISTER_PATH)
def register() -> Response:
    _open()
    state = request.args.get("state", "")
    if browser_states.read_state(services().oauth_state_key, PURPOSE, state) is None:
        raise AuthError(
            f"this page needs the link okrlink github register prints: {AGAIN}",
            code="invalid_state",
        )
    quoted = quote(state, safe="")
    body = render_template_string(
        REGISTER_PAGE,
        action=f"{_web_url()}/settings/apps/new?state={quoted}",
        web=_web_url(),
        state=quoted,
        manifest=json.dumps(manifest(settings().base_url)),
    )
    return browser_states.bind_to_browser(
        Response(body, mimetype="text/html"),
        purpose=PURPOSE,
        state=state,
        cookie=COOKIE,
        path="/github",
        secure=settings().base_url.startswith("https://"),
    )


@blueprint.get("/github/manifest/callback")
def callback() -> Response:
    _open()
    code = request.args.get("code", "")
    if not code or not code.isascii() or not code.replace("-", "").replace("_", "").isalnum():
        raise BadRequest("GitHub's one-time code is missing", code="missing_code")
    browser_states.finish(request, purpose=PURPOSE, cookie=COOKIE, again=AGAIN)
    api = settings().github_api_url.rstrip("/")
    answer = requests.post(
        f"{api}/app-manifests/{code}/conversions",
        headers={"Accept": "application/vnd.github+json"},
        timeout=TIMEOUT,
    )
    if answer.status_code != 201:
        raise BadRequest(
            f"GitHub refused the code ({answer.status_code}): {AGAIN}",
            code="manifest_conversion_failed",
        )
    body = render_template_string(CREDENTIALS_PAGE, app=answer.json())
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(COOKIE, path="/github")
    return response
