"""Settings: embedded defaults, then `OKRLINK_*` environment, then explicit overrides (tests)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sync.errors import OkrlinkError

ENV_PREFIX = "OKRLINK_"


def _default_data_dir() -> Path:
    return Path(os.environ.get("OKRLINK_DATA_DIR", Path.cwd() / "instance"))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service reads from its environment, in one typed value."""

    data_dir: Path = field(default_factory=_default_data_dir)
    """Where the embedded defaults keep their files (SQLite database and queue); default
    `./instance`."""
    database_url: str = ""
    """SQLAlchemy URL of the database, e.g. `postgresql+psycopg://okrlink@db/okrlink`; empty: an
    SQLite file under the data directory."""
    queue_url: str = ""
    """Queue URL, e.g. `redis://redis:6379/0`; empty: huey on an SQLite file under the data
    directory."""
    base_url: str = "http://localhost:8080"
    """The public https URL Atlassian, GitHub and Asana reach okrlink at (descriptor, webhooks,
    the JWT audience)."""
    app_key: str = "okrlink"
    """The Connect app key (the descriptor's `key`)."""
    secret_key: str = ""
    """The key that encrypts stored secrets (tokens, shared secrets, webhook URLs) and signs
    forms; see Security and privacy."""
    admin_token: str = ""
    """The operator's bearer token for the REST API and `/metrics`; empty: no operator access."""
    api_site: str = ""
    """The site the admin token acts on without `X-Okrlink-Site` (empty: the local site)."""
    dev: bool = False
    """Development mode (`1`): loopback http allowed, development tokens, the demo's stand-ins.
    Never in production."""
    connect_keys_url: str = "https://connect-install-keys.atlassian.com"
    """Where Atlassian publishes the keys that sign Connect install and uninstall calls."""
    atlassian_api_url: str = "https://api.atlassian.com"
    """Atlassian's platform API (personal data reporting); tests point it at a stand-in."""
    forge_app_id: str = ""
    """The Forge app's id (`ari:cloud:ecosystem::app/...`), the audience of Forge invocation
    tokens."""
    forge_jwks_url: str = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
    """Where Forge publishes the keys that sign its invocation tokens."""
    github_app_id: str = ""
    """The GitHub App's id."""
    github_private_key: str = ""
    """The GitHub App's private key (PEM), to sign its JWTs."""
    github_webhook_secret: str = ""
    """The GitHub App's webhook secret, checking `X-Hub-Signature-256`."""
    github_api_url: str = "https://api.github.com"
    """The GitHub API (GitHub Enterprise Server: `https://HOST/api/v3`)."""
    asana_api_url: str = "https://app.asana.com/api/1.0"
    """The Asana API (tests and proxies point it elsewhere)."""
    asana_client_id: str = ""
    """The Asana OAuth app's client id, for the hosted case (`okrlink asana connect --oauth`)."""
    asana_client_secret: str = ""
    """The Asana OAuth app's client secret."""
    geckoboard_api_url: str = "https://api.geckoboard.com"
    """Geckoboard's Datasets API (tests and proxies point it elsewhere)."""
    outbound_allow_networks: str = ""
    """Networks a URL users set (chat webhooks) may reach although they are private or local:
    comma-separated CIDRs such as `10.0.0.0/8,127.0.0.1/32` (`integrations/outbound.py`)."""
    jql_poll_minutes: int = 15
    """How often JQL key results and KPIs are counted again, in minutes."""
    reconcile_minutes: int = 15
    """How often linked issues and Asana projects are read again to heal missed webhooks."""
    metrics_public: bool = False
    """`1`: serve `/metrics` without the admin token (a scrape on a private network)."""
    ready_max_lag_seconds: int = 60
    """`/readyz` fails while the oldest pending event is older than this."""
    log_format: str = ""
    """`json`: one JSON object per log line; empty: plain text."""
    queue_immediate: bool = False
    """Run queued jobs inline instead of through a worker (tests, one-process setups)."""

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


class SettingError(OkrlinkError, ValueError):
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
