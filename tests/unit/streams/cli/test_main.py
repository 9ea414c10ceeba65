"""The `ledgerlink` command line: `status`/`links --url`."""

from __future__ import annotations

import orjson
import pytest

from streams.cli.main import build_parser, main


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
