"""The WSGI entry point for gunicorn: `gunicorn 'connect.wsgi:app'`."""

from __future__ import annotations

from connect.app import create_app
from sync.keys import SecretKeyError

try:
    app = create_app()
except SecretKeyError as exc:  # said in one line (it names OKRLINK_SECRET_KEY), not traced
    raise SystemExit(f"okrlink: {exc}") from None
