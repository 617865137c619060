"""The stubber's expected parameters: the ``ANY`` placeholder, an expected body without it (what
is validated against the document), and how parameters and their differences read in an error.
"""

from __future__ import annotations

import json
import unittest.mock
from collections.abc import Mapping
from typing import Any

__all__ = ["ANY"]

ANY: Any = unittest.mock.ANY
"""Matches any value in ``expected_params`` (also inside a body): ``{"sessionId": ANY}``."""


def _without_any(value: Any) -> Any:
    """``value`` without the ``ANY`` placeholders (fields dropped, array items left out)."""
    if isinstance(value, Mapping):
        return {k: _without_any(v) for k, v in value.items() if v is not ANY}
    if isinstance(value, list):
        return [_without_any(v) for v in value if v is not ANY]
    return value


def _params_text(params: Mapping[str, Any]) -> str:
    return json.dumps(params, default=repr, sort_keys=True) if params else "no parameters"


def _differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> str:
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            problems.append(f"{name} was not sent")
        elif name not in expected:
            problems.append(f"{name}={actual[name]!r} was not expected")
        elif expected[name] != actual[name]:
            problems.append(f"{name} is {actual[name]!r}, expected {expected[name]!r}")
    return "; ".join(problems)
