"""The `ledgerlink` command line: a description and defaults in every command's --help,
`status`/`links --url`, and a quiet exit when the reader of its output goes away."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest

from streams import config as defaults
from streams.cli.main import EXIT_BROKEN_PIPE, build_parser, main

KEYS = (
    defaults.LOCAL_POWEROFFICE_APPLICATION_KEY,
    defaults.LOCAL_POWEROFFICE_CLIENT_KEY,
    defaults.LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
    defaults.LOCAL_CHARGEBEE_API_KEY,
)


def _help(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--help"])
    return capsys.readouterr().out


def _description(text: str) -> str:
    """The paragraph between the usage and the options."""
    return text.split("\n\n")[1] if "\n\n" in text else ""


@pytest.mark.parametrize(
    ("command", "defaults_shown"),
    [
        (("worker",), []),
        (("demo",), ["(default: ./var/demo)", "(default: 8101)", "(default: 300.0)"]),
        (("poll",), ["(default: both)"]),
        (("simulator", "poweroffice"), ["(default: 127.0.0.1)", "(default: 8101)"]),
        (("simulator", "chargebee"), ["(default: 8102)", "(default: 3500)"]),
        (("status",), ["$LEDGERLINK_WEB_PORT"]),
        (("links",), ["$LEDGERLINK_WEB_PORT"]),
        (("kafka", "start"), ["(default: 9092", "(default: ./var/kafka)"]),
    ],
)
def test_every_command_has_a_description_and_shows_its_defaults(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...], defaults_shown: list[str]
):
    text = _help(capsys, *command)
    assert not _description(text).startswith("options:"), text
    assert len(_description(text)) > 40, text
    flat = " ".join(text.split())
    for shown in defaults_shown:
        assert shown in flat, text
    assert "(default: None)" not in flat
    assert "(default: False)" not in flat
    assert all(key not in text for key in KEYS)


@pytest.mark.parametrize("command", ["status", "links"])
def test_status_and_links_take_url_and_connection(command: str):
    args = build_parser().parse_args([command, "--url", "http://h:1", "--connection", "c"])
    assert (args.url, args.connection) == ("http://h:1", "c")


def test_links_asks_the_worker_at_url(capsys: pytest.CaptureFixture[str], worker_url: str):
    assert main(["links", "--url", worker_url]) == 0
    assert "3001 link(s)" in capsys.readouterr().out


def test_status_json_asks_the_worker_at_url(
    capsys: pytest.CaptureFixture[str], worker_url: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LEDGERLINK_WEB_PORT", "1")  # --url wins over the environment
    assert main(["status", "--json", "--url", worker_url]) == 0
    assert orjson.loads(capsys.readouterr().out)["converged"] is True


def test_links_json_into_a_reader_that_stops_early_exits_without_a_traceback(worker_url: str):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "links", "--json", "--url", worker_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"{\n"  # `| head -1`, then the reader is gone
    process.stdout.close()
    _, error = process.communicate(timeout=60)
    assert b"Traceback" not in error, error.decode()
    assert b"BrokenPipeError" not in error
    assert process.returncode == EXIT_BROKEN_PIPE
