"""What a new user meets first: the README's two set-up commands and the exiting form of
the demo, and a Makefile whose installs show errors but no pip notices."""

from __future__ import annotations

import re
from pathlib import Path

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
