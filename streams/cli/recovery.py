"""`ledgerlink dlq|replay|resync`: settings and output around `streams.recovery`.

Chooses the connection, shows progress (redrawn on a terminal, on stderr) and prints the
summary line; the work itself is in `streams.recovery`. Exit codes: 0 done, 1 the worker
had not read everything re-driven when --wait ran out, 2 bad input (one line).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from streams.config import ConnectionSettings, Settings, load_settings
from streams.dev.progress import ProgressDisplay
from streams.recovery import RecoveryError
from streams.recovery.deadletters import (
    format_letter,
    format_letters,
    parse_letter_id,
    read_letters,
    replay_letters,
    select_letters,
)
from streams.recovery.redrive import Channel
from streams.recovery.replay import replay_since
from streams.recovery.resync import resync
from streams.recovery.summary import Summary
from streams.recovery.timespec import parse_since

__all__ = ["choose_connection", "run"]


def choose_connection(settings: Settings, name: str | None) -> ConnectionSettings:
    """The connection called ``name`` (None: the first); `RecoveryError` naming the known."""
    if name is None:
        return settings.connections[0]
    found = settings.connection(name)
    if found is not None:
        return found
    known = ", ".join(c.id for c in settings.connections)
    raise RecoveryError(f"unknown connection {name!r}; configured: {known}")


def run(args: argparse.Namespace) -> int:
    if not args.verbose:
        # Kafka's clients narrate metadata updates and log each failed connect; what
        # matters is raised as a `RecoveryError` and printed as one line.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    for text in getattr(args, "id", ()):
        parse_letter_id(text)  # a bad id fails before Kafka is asked
    settings = load_settings()
    bootstrap, names = settings.kafka_bootstrap_servers, settings.topics
    if args.command == "dlq" and args.action != "replay":
        if args.connection is not None:
            choose_connection(settings, args.connection)
        letters = asyncio.run(read_letters(bootstrap, names, connection=args.connection))
        if args.action == "list":
            print("\n".join(format_letters(letters)))
        else:
            shown = select_letters(letters, ids=args.id, every=args.all or not args.id)
            print("\n".join(format_letter(letter) for letter in shown) or "no dead letters")
        return 0
    connection = choose_connection(settings, args.connection)
    since_ms = (
        parse_since(args.since, now_ms=int(time.time() * 1000)) if args.command == "replay" else 0
    )
    display = ProgressDisplay(sys.stderr, interactive=sys.stderr.isatty(), every=2.0)
    channel = Channel(bootstrap, names, display.show, args.wait)
    try:
        summary = asyncio.run(_redrive(args, connection, channel, since_ms))
    finally:
        display.close()
    print(summary.line())
    return 1 if summary.pending else 0


async def _redrive(
    args: argparse.Namespace, connection: ConnectionSettings, channel: Channel, since_ms: int
) -> Summary:
    if args.command == "replay":
        return await replay_since(since_ms, connection.id, channel)
    if args.command == "resync":
        return await resync(connection, channel)
    letters = await read_letters(channel.bootstrap, channel.names, connection=connection.id)
    chosen = select_letters(letters, ids=args.id, every=args.all)
    return await replay_letters(chosen, connection=connection, channel=channel)
