"""Readers of a request's values (a JSON object or a parsed form), shared by every door and
by the domain services: each refuses a value of the wrong type with `Invalid` naming its field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sync.errors import Invalid


def text_field(data: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    """A string, stripped; None when absent (refused when `required`)."""
    value = data.get(name)
    if value is None:
        if required:
            raise Invalid(f"{name} is required", field=name)
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise Invalid(f"{name} must be a non-empty string", field=name)
    return value.strip()


def number_field(data: Mapping[str, Any], name: str) -> float | None:
    """A finite number (not a boolean); None when absent."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{name} must be a finite number", field=name)
    return float(value)
