"""Expected failures log one line; bugs keep their traceback."""

from __future__ import annotations

import logging
import sys

from connectors.exceptions import AuthenticationError
from streams.one_line_errors import OneLineErrors


def record_for(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("faust", logging.ERROR, __file__, 1, "Crashed reason=%r", (exc,), info)


def formatted(filter_: OneLineErrors, record: logging.LogRecord) -> str:
    assert filter_.filter(record)
    return logging.Formatter("%(message)s").format(record)


def test_a_ledgerlink_error_is_logged_without_its_traceback():
    text = formatted(OneLineErrors(), record_for(AuthenticationError("no", system="chargebee")))
    assert text.startswith("Crashed reason=AuthenticationError")
    assert "Traceback" not in text
    assert "\n" not in text


def test_a_bug_keeps_its_traceback():
    assert "Traceback" in formatted(OneLineErrors(), record_for(KeyError("x")))


def test_the_shutdown_noise_after_an_expected_error_loses_its_traceback_too():
    one_line = OneLineErrors()
    formatted(one_line, record_for(AuthenticationError("no", system="chargebee")))
    assert "Traceback" not in formatted(one_line, record_for(RuntimeError("Event loop is closed")))
