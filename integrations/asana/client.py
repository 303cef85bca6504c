"""The real `Asana` port: Asana's REST API through the official `asana` SDK (5.x).

One SDK `ApiClient` per site and token, re-built when the token changes. The SDK's own retry
sleeps through 429s inside the call; a queued job must not hold a worker that long, so its
retry strategy is narrowed to idempotent reads on 5xx and every 429 is handed back as
`RateLimited(retry_after=...)` for the job to come back later. CA bundles come from
`REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE`, as for every other outbound client.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asana  # type: ignore[import-untyped]
import urllib3
from asana.rest import ApiException  # type: ignore[import-untyped]
from urllib3.util.retry import Retry

from integrations.errors import OutsideError, Permanent, for_status

log = logging.getLogger(__name__)

DEFAULT_API_URL: Final = "https://app.asana.com/api/1.0"
TIMEOUT: Final = (5.0, 20.0)
TASK_FIELDS: Final = (
    "name,completed,completed_at,modified_at,notes,parent.gid,memberships.project.gid,"
    "num_subtasks,custom_fields.gid,custom_fields.name,custom_fields.number_value"
)
STATUS_COLORS: Final = {"on_track": "green", "at_risk": "yellow", "off_track": "red"}


@dataclass(frozen=True, slots=True)
class Credentials:
    """What okrlink acts with on a site's workspace: an access token and its own user."""

    token: str
    user_gid: str | None


CredentialLookup = Callable[[int], "Credentials | None"]


def ca_bundle() -> str | None:
    """The CA bundle the environment names (the SDK otherwise trusts certifi's only)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None


def api_client(token: str, *, api_url: str = DEFAULT_API_URL) -> Any:
    """An SDK client for one token: our CA bundle, no in-call waiting on 429."""
    configuration = asana.Configuration()
    configuration.host = api_url.rstrip("/")
    configuration.access_token = token
    configuration.ssl_ca_cert = ca_bundle()
    configuration.retry_strategy = Retry(
        total=2,
        backoff_factor=0.5,
        status_forcelist=[500, 502, 503, 504],
        allowed_methods=["GET"],
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    return asana.ApiClient(configuration)


def outside_error(exc: Exception, what: str) -> OutsideError:
    """An SDK or transport failure as the core's error: 429 waits, 5xx retries, 4xx parks."""
    if isinstance(exc, ApiException):
        headers = exc.headers or {}
        retry_after = _seconds(headers.get("Retry-After"))
        return for_status(
            f"Asana {what}: {exc.status} {exc.reason}", status=exc.status, retry_after=retry_after
        )
    return for_status(f"Asana {what}: {type(exc).__name__}: {exc}", status=None)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class AsanaClient:
    """The `sync.ports.Asana` port over the SDK; one SDK client per site and token."""

    def __init__(self, *, credentials: CredentialLookup, api_url: str = DEFAULT_API_URL) -> None:
        self.credentials = credentials
        self.api_url = api_url
        self._clients: dict[int, tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def _client(self, site_id: int) -> Any:
        found = self.credentials(site_id)
        if found is None:
            raise Permanent(f"site {site_id} has no Asana workspace: run okrlink asana connect")
        with self._lock:
            cached = self._clients.get(site_id)
            if cached is None or cached[0] != found.token:
                client = api_client(found.token, api_url=self.api_url)
                cached = self._clients[site_id] = (found.token, client)
            return cached[1]

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise outside_error(exc, what) from exc

    # -- reads ------------------------------------------------------------------------------

    def fetch_task(self, site_id: int, task_gid: str) -> Mapping[str, Any] | None:
        tasks = asana.TasksApi(self._client(site_id))
        try:
            found: Mapping[str, Any] = tasks.get_task(
                task_gid, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT
            )
        except ApiException as exc:
            if exc.status in (403, 404):  # deleted, or no longer visible to us
                return None
            raise outside_error(exc, f"task {task_gid}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise outside_error(exc, f"task {task_gid}") from exc
        return found

    def project_tasks(
        self, site_id: int, project_gid: str, *, modified_since: datetime | None = None
    ) -> Iterator[Mapping[str, Any]]:
        """Every section's tasks (`GET /tasks?project=`), then their subtasks, each gid once."""
        tasks = asana.TasksApi(self._client(site_id))
        opts: dict[str, Any] = {"project": project_gid, "opt_fields": TASK_FIELDS}
        if modified_since is not None:
            opts["modified_since"] = modified_since.isoformat()
        seen: set[str] = set()
        pending: list[Mapping[str, Any]] = self._call(
            f"project {project_gid} tasks",
            lambda: list(tasks.get_tasks(opts, _request_timeout=TIMEOUT)),
        )
        while pending:
            task = pending.pop(0)
            gid = str(task.get("gid"))
            if gid in seen:
                continue
            seen.add(gid)
            yield task
            if task.get("num_subtasks"):
                pending.extend(self._subtasks(tasks, gid))

    def _subtasks(self, tasks: Any, gid: str) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = self._call(
            f"subtasks of {gid}",
            lambda: list(
                tasks.get_subtasks_for_task(
                    gid, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT
                )
            ),
        )
        return found

    def is_project(self, site_id: int, gid: str) -> bool:
        projects = asana.ProjectsApi(self._client(site_id))
        try:
            projects.get_project(gid, {"opt_fields": "gid"}, _request_timeout=TIMEOUT)
        except ApiException as exc:
            if exc.status in (400, 404):
                return False
            raise outside_error(exc, f"project {gid}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise outside_error(exc, f"project {gid}") from exc
        return True

    def own_user(self, site_id: int) -> str | None:
        found = self.credentials(site_id)
        return found.user_gid if found is not None else None

    def me(self, token: str) -> Mapping[str, Any]:
        """The user a token acts as, with its workspaces (checked when a site connects)."""
        users = asana.UsersApi(api_client(token, api_url=self.api_url))
        found: Mapping[str, Any] = self._call(
            "user me",
            lambda: users.get_user(
                "me",
                {"opt_fields": "gid,name,workspaces.gid,workspaces.name"},
                _request_timeout=TIMEOUT,
            ),
        )
        return found

    # -- writes -----------------------------------------------------------------------------

    def set_goal(self, site_id: int, goal_gid: str, *, current: float | None, status: str) -> None:
        goals = asana.GoalsApi(self._client(site_id))
        if current is not None:
            body = {"data": {"current_number_value": current}}
            self._call(
                f"goal {goal_gid} metric",
                lambda: goals.update_goal_metric(
                    body, goal_gid, {"opt_fields": "gid"}, _request_timeout=TIMEOUT
                ),
            )
        color = STATUS_COLORS.get(status, status)
        self._call(
            f"goal {goal_gid} status",
            lambda: goals.update_goal(
                {"data": {"status": color}},
                goal_gid,
                {"opt_fields": "gid"},
                _request_timeout=TIMEOUT,
            ),
        )

    def create_webhook(self, site_id: int, *, resource: str, target: str) -> Mapping[str, Any]:
        """`POST /webhooks`; Asana performs the handshake against `target` before answering."""
        hooks = asana.WebhooksApi(self._client(site_id))
        body = {"data": {"resource": resource, "target": target}}
        found: Mapping[str, Any] = self._call(
            "create webhook",
            lambda: hooks.create_webhook(
                body, {"opt_fields": "gid,active,resource.gid,target"}, _request_timeout=TIMEOUT
            ),
        )
        return found

    def delete_webhook(self, site_id: int, webhook_gid: str) -> None:
        hooks = asana.WebhooksApi(self._client(site_id))
        try:
            hooks.delete_webhook(webhook_gid, _request_timeout=TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return  # gone already
            raise outside_error(exc, f"delete webhook {webhook_gid}") from exc

    def webhook(self, site_id: int, webhook_gid: str) -> Mapping[str, Any] | None:
        """The webhook as Asana sees it (`active` false once Asana deactivated it)."""
        hooks = asana.WebhooksApi(self._client(site_id))
        try:
            found: Mapping[str, Any] = hooks.get_webhook(
                webhook_gid,
                {"opt_fields": "gid,active,resource.gid,target"},
                _request_timeout=TIMEOUT,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise outside_error(exc, f"webhook {webhook_gid}") from exc
        return found
