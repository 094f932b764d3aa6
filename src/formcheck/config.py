"""Loading of the packaged TOML data files (settings.toml)."""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@cache
def settings() -> dict[str, Any]:
    """The analysis settings (``formcheck/settings.toml``) as a nested dict."""
    text = resources.files("formcheck").joinpath("settings.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)
