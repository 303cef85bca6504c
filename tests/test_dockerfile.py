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
