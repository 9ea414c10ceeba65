"""deploy/docker/Dockerfile: read instruction by instruction (no image can be built here)."""

from __future__ import annotations

import json
import re

import pytest

from tests.unit.deploy.conftest import DEPLOY

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def args_of(keyword: str, stage: list[tuple[str, str]] | None = None) -> list[str]:
    return [rest for k, rest in (stage or final_stage()) if k == keyword]


def env_of_final_stage() -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in args_of("ENV"):
        env |= dict(pair.split("=", 1) for pair in rest.split())
    return env


def test_both_stages_start_from_the_slim_python_image():
    assert args_of("ARG", instructions()) == ["PYTHON_IMAGE=python:3.11-slim-bookworm"]
    assert args_of("FROM", instructions()) == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]


def test_it_runs_as_a_non_root_user():
    assert args_of("USER") == ["10001:10001"]
    (run,) = args_of("RUN")
    assert "useradd --system --uid 10001 --gid ledgerlink" in run
    assert "install -d -o ledgerlink -g ledgerlink -m 0750 /var/lib/ledgerlink" in run


def test_the_user_comes_after_every_step_that_needs_root():
    keywords = [k for k, _ in final_stage()]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")


def test_the_data_dir_is_a_volume():
    assert args_of("VOLUME") == ['["/var/lib/ledgerlink"]']
    assert env_of_final_stage()["LEDGERLINK_DATA_DIR"] == "/var/lib/ledgerlink"


def test_the_web_port_is_exposed_and_bound_to_every_interface():
    assert args_of("EXPOSE") == ["6066"]
    env = env_of_final_stage()
    assert env["LEDGERLINK_WEB_PORT"] == "6066"
    assert env["LEDGERLINK_WEB_BIND"] == "0.0.0.0"


def test_the_healthcheck_asks_the_status_page():
    (check,) = args_of("HEALTHCHECK")
    assert check.startswith("--interval=15s --timeout=5s --start-period=120s --retries=4 CMD ")
    assert "/ledgerlink/status" in check


def test_no_secret_is_baked_into_the_image():
    every_env = " ".join(args_of("ENV", instructions()) + args_of("ARG", instructions()))
    names = re.findall(r"([A-Z][A-Z0-9_]*)=", every_env)
    assert names, "no ENV parsed"
    wrong = [n for n in names if re.search(r"KEY|SECRET|TOKEN|PASSWORD", n)]
    assert wrong == []


def test_the_entrypoint_is_the_console_script_and_the_default_is_the_worker():
    assert [json.loads(a) for a in args_of("ENTRYPOINT")] == [["ledgerlink"]]
    assert [json.loads(a) for a in args_of("CMD")] == [["worker"]]


def test_only_the_runtime_is_installed_not_the_dev_extra():
    (build,) = [rest for k, rest in instructions() if k == "RUN" and "pip wheel" in rest]
    assert build == "pip wheel --wheel-dir /wheels ."
    assert "[dev]" not in DOCKERFILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "needed", ["pyproject.toml", "README.md", "connectors/", "mappings/", "streams/"]
)
def test_the_build_context_lets_through_what_the_build_copies(needed):
    ignore = (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert f"!{needed}" in ignore.splitlines()
    copies = " ".join(args_of("COPY", instructions()))
    assert needed in copies
