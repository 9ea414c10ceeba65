"""What a new user meets first: the README's two set-up commands and the exiting form of
the demo, and a Makefile whose installs show errors but no pip notices."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]


def _first_code_block(text: str) -> list[str]:
    block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_starts_with_exactly_two_set_up_commands():
    lines = _first_code_block((ROOT / "README.md").read_text())
    assert [line.split("#")[0].strip() for line in lines] == ["make demo", "make test"]


def test_the_readme_shows_the_exiting_form_of_the_demo_near_the_top():
    text = (ROOT / "README.md").read_text()
    first_section = text.split("\n## ", 1)[0]
    assert "make demo DEMO_ARGS=--until-synced" in first_section


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_installs_silence_pips_notices_but_not_its_errors(tmp_path: Path):
    dry_run = subprocess.run(
        ["make", "-n", "-B", "install", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in dry_run.splitlines() if " install " in line]
    assert len(installs) == 2, dry_run
    for line in installs:
        assert "PIP_DISABLE_PIP_VERSION_CHECK=1" in line
        assert "PIP_ROOT_USER_ACTION=ignore" in line
        # setuptools' boxed note on editable installs, and nothing else, is silenced
        assert "PYTHONWARNINGS=ignore:::setuptools.command.editable_wheel" in line
        assert " -qq" not in line  # one -q: progress hidden, warnings and errors shown
        assert "2>" not in line
        assert "/dev/null" not in line
