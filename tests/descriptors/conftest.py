"""Fixtures for the descriptor tests: the app serving them, the schemas they must satisfy."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from connect.app import create_app
from connect.doors.atlassian_connect.descriptors import FORGE_MANIFEST
from connect.services import services_of
from connect.settings import Settings
from tests.support.base import SECRET_KEY
from tests.support.locations import BASE_URL, CONNECT_JIRA_SCHEMA, FORGE_CACHE

# The Forge manifest schema ships inside this npm package; the version is pinned so a schema
# change upstream shows up as a deliberate bump here, not as a red build out of nowhere.
FORGE_MANIFEST_PACKAGE = "@forge/manifest"
FORGE_MANIFEST_VERSION = "13.7.0"
FORGE_SCHEMA_MEMBER = "package/out/schema/manifest-schema.json"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The whole app on an embedded database, serving its descriptors for `BASE_URL`."""
    app = create_app(
        Settings(base_url=BASE_URL, data_dir=tmp_path, queue_immediate=True, secret_key=SECRET_KEY)
    )
    yield app
    services_of(app).store.dispose()


@pytest.fixture
def client(app: Flask) -> Iterator[Any]:
    with app.test_client() as client:
        yield client


@pytest.fixture(scope="session")
def connect_jira_schema() -> dict[str, Any]:
    return json.loads(CONNECT_JIRA_SCHEMA.read_text())


@pytest.fixture(scope="session")
def forge_manifest_schema() -> dict[str, Any]:
    """The manifest schema from the `@forge/manifest` npm package (fetched once, then cached)."""
    tarball = FORGE_CACHE / f"forge-manifest-{FORGE_MANIFEST_VERSION}.tgz"
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is required to fetch the Forge manifest schema (install nodejs/npm)")
        FORGE_CACHE.mkdir(parents=True, exist_ok=True)
        spec = f"{FORGE_MANIFEST_PACKAGE}@{FORGE_MANIFEST_VERSION}"
        result = subprocess.run(
            [npm, "pack", spec, "--silent"],
            cwd=FORGE_CACHE,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0 or not tarball.exists():
            pytest.fail(f"npm pack {spec} failed:\n{result.stdout}\n{result.stderr}")
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile(FORGE_SCHEMA_MEMBER)
        if member is None:
            pytest.fail(f"{FORGE_SCHEMA_MEMBER} missing from {tarball.name}")
        return json.loads(member.read())


@pytest.fixture(scope="session")
def forge_manifest() -> dict[str, Any]:
    return yaml.safe_load(FORGE_MANIFEST.read_text())
