"""`ledgerlink dlq|replay|resync`: their --help, the choice of connection, and bad input
answered with one line and exit 2 before Kafka is asked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from streams.cli.main import main
from streams.cli.recovery import choose_connection
from streams.config import load_settings
from streams.recovery import RecoveryError

from .test_main import _description, _help


@pytest.mark.parametrize(
    ("command", "defaults_shown"),
    [
        (("dlq",), ["(default: 120.0)", "PARTITION-OFFSET"]),
        (("replay",), ["(default: 120.0)", "90m", "ISO-8601"]),
        (("resync",), ["(default: 300.0)", "(default: the first one configured)"]),
    ],
)
def test_each_recovery_command_has_a_description_and_shows_its_defaults(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...], defaults_shown: list[str]
):
    text = _help(capsys, *command)
    assert len(_description(text)) > 40, text
    flat = " ".join(text.split())
    for shown in defaults_shown:
        assert shown in flat, text
    assert "summary" in flat or command == ("dlq",)
    assert "(default: None)" not in flat


def test_the_connection_is_the_first_unless_named_and_an_unknown_one_is_refused():
    settings = load_settings({"LEDGERLINK_CONNECTION_ID": "acme"})
    assert choose_connection(settings, None).id == "acme"
    assert choose_connection(settings, "acme").id == "acme"
    with pytest.raises(RecoveryError, match="unknown connection 'nope'; configured: acme"):
        choose_connection(settings, "nope")


@pytest.fixture
def kafka_loggers_restored() -> Iterator[None]:
    """The command quiets aiokafka's loggers for its process; not for the other tests."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("kafka_loggers_restored")
@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["replay", "--since", "last tuesday"], "--since 'last tuesday'"),
        (["dlq", "replay", "--id", "17"], "--id '17' is not a dead letter id"),
        (["resync", "--connection", "nope"], "unknown connection 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_without_a_broker(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv, problem
):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # never reached
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ledgerlink: ")
    assert problem in err
    assert len(err.strip().splitlines()) == 1
