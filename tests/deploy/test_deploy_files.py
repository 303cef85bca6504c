"""deploy/: the compose file and the Kubernetes manifests are valid and start what they say.

The compose file is checked by `docker compose config` where Docker's compose plugin is
installed, and against the compose-spec JSON schema (vendored by check-jsonschema) in every
case; the manifests against the Kubernetes API schemas (vendored by kubernetes-validate).
Neither needs a Docker engine or a cluster.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from connect.settings import ENV_PREFIX, Settings
from tests.support.base import ROOT

DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.30"
SETTINGS = {ENV_PREFIX + name.upper() for name in Settings.__dataclass_fields__}


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, document)
        for path in sorted(KUBERNETES.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for document in yaml.safe_load_all(path.read_text())
    ]


def _kind(kind: str, name: str) -> dict[str, Any]:
    return next(
        doc for _, doc in _manifests() if (doc["kind"], doc["metadata"]["name"]) == (kind, name)
    )


def test_the_compose_file_follows_the_compose_spec() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_two_web_replicas_a_worker_postgresql_and_redis() -> None:
    services = _compose()["services"]
    assert set(services) == {"web", "worker", "db", "redis"}
    web, worker = services["web"], services["worker"]
    assert web["command"] == ["okrlink", "web", "--port", "8080"]
    assert web["deploy"]["replicas"] == 2
    assert worker["command"][:2] == ["okrlink", "worker"]
    for name in ("web", "worker"):
        service = services[name]
        assert service["environment"]["OKRLINK_QUEUE_URL"] == "redis://redis:6379/0"
        assert [entry["path"] for entry in service["env_file"]] == ["./okrlink.env"]
        assert service["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
    assert web["environment"]["PROMETHEUS_MULTIPROC_DIR"] == web["volumes"][0]["target"]
    assert all("healthcheck" in service for service in services.values())
    assert set(_compose()["volumes"]) == {"pgdata", "redisdata"}


def test_the_env_file_example_names_only_real_settings_and_holds_the_secrets() -> None:
    names = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "okrlink.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {"OKRLINK_SECRET_KEY", "OKRLINK_ADMIN_TOKEN", "OKRLINK_DATABASE_URL"} <= names
    assert names - {"POSTGRES_PASSWORD"} <= SETTINGS


@pytest.mark.parametrize(
    "name,document", _manifests(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_kubernetes_manifest_passes_the_api_schema(name: str, document: dict) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_web_deployment_probes_liveness_and_readiness_and_requests_resources() -> None:
    web = _kind("Deployment", "okrlink-web")
    assert web["spec"]["replicas"] == 2
    [container] = web["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["okrlink", "web", "--port", "8080"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    env = {item["name"]: item["value"] for item in container["env"]}
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert env["PROMETHEUS_MULTIPROC_DIR"] in mounts
    assert web["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_the_worker_deployment_runs_the_queue_consumer_with_its_metrics() -> None:
    worker = _kind("Deployment", "okrlink-worker")
    [container] = worker["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [
        "okrlink",
        "worker",
        "--metrics-port",
        "9100",
        "--metrics-host",
        "0.0.0.0",  # noqa: S104 (scraped from another pod, with the admin token)
    ]
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()


def test_the_service_selects_the_web_pods() -> None:
    service = _kind("Service", "okrlink-web")
    web = _kind("Deployment", "okrlink-web")
    assert service["spec"]["selector"] == web["spec"]["template"]["metadata"]["labels"]


def test_config_and_secret_name_only_real_settings() -> None:
    config = _kind("ConfigMap", "okrlink")["data"]
    secret = _kind("Secret", "okrlink")["stringData"]
    assert set(config) | set(secret) <= SETTINGS
    assert {"OKRLINK_SECRET_KEY", "OKRLINK_ADMIN_TOKEN", "OKRLINK_DATABASE_URL"} <= set(secret)


def test_the_example_secrets_admin_token_is_the_one_the_app_refuses() -> None:
    from connect.settings import EXAMPLE_ADMIN_TOKEN, SettingError, check_admin_token

    secret = _kind("Secret", "okrlink")["stringData"]
    assert secret["OKRLINK_ADMIN_TOKEN"] == EXAMPLE_ADMIN_TOKEN
    with pytest.raises(SettingError, match="example Secret"):
        check_admin_token(secret["OKRLINK_ADMIN_TOKEN"])


def test_kustomization_applies_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    manifests = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests - {"secret.example.yaml"}


def test_the_image_installs_no_test_extras_and_runs_as_a_non_root_user() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    installs = [line for line in lines if "pip install" in line]
    assert installs and not any("[test]" in line for line in installs)
    [user] = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user.isdigit() and int(user) != 0
