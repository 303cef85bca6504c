"""The WSGI entry point for gunicorn: `gunicorn 'connect.wsgi:app'`."""

from __future__ import annotations

from connect.app import create_app

app = create_app()
