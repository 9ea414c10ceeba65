"""Programs some tests need beside Python (promtool, the Prometheus server), which
`make install` puts on the machine. Missing, such a test is skipped on a laptop but
fails under CI=true, so that CI never goes green with it silently not run."""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["require_program"]


def require_program(name: str) -> str:
    """The path of ``name`` on PATH; skips the test (fails it under CI=true) without it."""
    found = shutil.which(name)
    if found is not None:
        return found
    message = (
        f"{name} is not installed: `make install` installs it "
        "(deploy/prometheus/install-prometheus.sh)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
