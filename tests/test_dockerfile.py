"""The README's claim about the image: the same service under `okrlink web`, as a non-root user."""

from __future__ import annotations

import json
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.partition(" ") for line in lines if line and not line.startswith("#")]
    return [(name, value) for name, _, value in pairs]


def test_the_image_serves_okrlink_web_as_a_non_root_user() -> None:
    instructions = _instructions()
    user = [value for name, value in instructions if name == "USER"]
    assert user and user[-1] not in ("root", "0")
    command = json.loads(next(value for name, value in instructions if name == "CMD"))
    assert command[:2] == ["okrlink", "web"]


ROOT = DOCKERFILE.parent
LOCK = ROOT / "requirements.lock"


def _locked() -> dict[str, tuple[str, list[str]]]:
    """The lock file's pins: package name (normalised) -> (version, its hashes)."""
    from packaging.utils import canonicalize_name

    pins: dict[str, tuple[str, list[str]]] = {}
    text = LOCK.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=sha256:")]
        pins[canonicalize_name(name)] = (version, hashes)
    return pins


def _dependencies() -> list[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dependencies: list[str] = project["dependencies"]
    return dependencies


def test_the_image_installs_the_locked_hashed_dependencies_then_okrlink_without_any() -> None:
    runs = [value for name, value in _instructions() if name == "RUN"]
    [install] = [run for run in runs if "pip install" in run]
    steps = [step.strip() for step in install.split("&&") if "pip install" in step]
    assert len(steps) == 2
    assert "--require-hashes -r requirements.lock" in steps[0]
    assert "--no-deps" in steps[1] and "requirements" not in steps[1]
    copied = " ".join(value for name, value in _instructions() if name == "COPY")
    assert "requirements.lock" in copied


def test_the_lock_pins_every_runtime_dependency_within_its_range_with_hashes() -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = _locked()
    assert pins and all(version and hashes for version, hashes in pins.values())
    for line in _dependencies():
        requirement = Requirement(line)
        version, _ = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version), (line, version)
    assert not any(name in pins for name in ("pytest", "mypy", "ruff", "selenium", "trustme"))


def test_the_floors_leave_out_the_releases_with_advisories() -> None:
    from packaging.requirements import Requirement

    ranges = {
        Requirement(line).name.lower(): Requirement(line).specifier for line in _dependencies()
    }
    refused = {
        "requests": ["2.31.0", "2.32.3"],
        "pyjwt": ["2.10.0"],
        "cryptography": ["42.0.0", "42.0.3", "43.0.3"],
        "gunicorn": ["22.0.0"],
    }
    for name, versions in refused.items():
        assert not any(ranges[name].contains(v) for v in versions), name
        assert ranges[name].contains(_locked()[name][0])
    # Every dependency stops before a major it was not tried with.
    assert all("<" in str(specifier) for specifier in ranges.values()), ranges
