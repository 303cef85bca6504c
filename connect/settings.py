"""Settings: embedded defaults, then `OKRLINK_*` environment, then explicit overrides (tests)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "OKRLINK_"


def _default_data_dir() -> Path:
    return Path(os.environ.get("OKRLINK_DATA_DIR", Path.cwd() / "instance"))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service reads from its environment, in one typed value."""

    data_dir: Path = field(default_factory=_default_data_dir)
    # Storage and queue: empty means the embedded defaults (SQLite files under data_dir).
    database_url: str = ""
    queue_url: str = ""
    # Where Atlassian and GitHub reach us, and who we are to them.
    base_url: str = "http://localhost:8080"
    app_key: str = "okrlink"
    secret_key: str = ""
    admin_token: str = ""
    # The site the admin token acts on without `X-Okrlink-Site` (empty: the local site).
    api_site: str = ""
    dev: bool = False
    connect_keys_url: str = "https://connect-install-keys.atlassian.com"
    # Forge Remote door.
    forge_app_id: str = ""
    forge_jwks_url: str = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
    # GitHub App.
    github_app_id: str = ""
    github_private_key: str = ""
    github_webhook_secret: str = ""
    github_api_url: str = "https://api.github.com"
    # Asana: the API (tests and proxies point it elsewhere) and the OAuth app of the hosted case.
    asana_api_url: str = "https://app.asana.com/api/1.0"
    asana_client_id: str = ""
    asana_client_secret: str = ""
    # Outbound URLs users set (chat webhooks): networks allowed despite being private or local,
    # comma-separated CIDRs (`integrations/outbound.py`).
    outbound_allow_networks: str = ""
    # Sync.
    jql_poll_minutes: int = 15
    reconcile_minutes: int = 15
    # Operations: `/metrics` without the admin token (a scrape on a private network), the
    # readiness limit on the oldest pending event, and the log format (`json` or plain text).
    metrics_public: bool = False
    ready_max_lag_seconds: int = 60
    log_format: str = ""
    # Run queued jobs inline (tests) instead of through a consumer.
    queue_immediate: bool = False

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'okrlink.db'}"

    @property
    def resolved_queue_url(self) -> str:
        return self.queue_url or f"sqlite:///{self.data_dir / 'queue.db'}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from `OKRLINK_<FIELD>` variables, then keyword overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _coerce(f, raw)
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


class SettingError(ValueError):
    """An `OKRLINK_*` variable holds a value of the wrong kind; the message names it."""


MIN_ADMIN_TOKEN = 32
EXAMPLE_ADMIN_TOKEN = "replace-with-a-long-random-token"  # noqa: S105 (refused, not used)
"""The admin token of `deploy/kubernetes/secret.example.yaml` (a test keeps them equal): a
Secret applied as written must not open the API to whoever read the example."""


def check_admin_token(token: str) -> None:
    """SettingError unless the admin token is unset (the API closed) or long and not the
    example's: it opens the whole REST API and `/metrics`."""
    if not token:
        return
    if token == EXAMPLE_ADMIN_TOKEN:
        raise SettingError(
            "OKRLINK_ADMIN_TOKEN is the example Secret's placeholder: make a real one, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if len(token) < MIN_ADMIN_TOKEN:
        raise SettingError(
            f"OKRLINK_ADMIN_TOKEN is {len(token)} characters long: give at least "
            f"{MIN_ADMIN_TOKEN}, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


def _coerce(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    if kind == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            name = ENV_PREFIX + f.name.upper()
            raise SettingError(f"{name}={raw!r}: give a whole number") from None
    if kind == "Path":
        return Path(raw)
    return raw
