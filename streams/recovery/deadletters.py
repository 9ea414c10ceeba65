"""Dead letters: reading them back with their reasons, and re-driving their records.

Every dead letter on the `deadletters` topic gets an id a person can pass back:
``{partition}-{offset}`` (`letter_id`), stable for as long as the topic keeps it.
`dlq replay` re-reads each letter's record as its system holds it now (after a fix at
the source) and re-drives it as a resync, so the join tries it again with today's
mappings: a record that is now valid is applied once, one that is still invalid is
dead-lettered again, and a record already applied makes no write. Several letters of
one record re-drive it once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from connectors.events import ChangeEvent, EventDecodeError
from connectors.secrets import mask_email
from streams.clients import ConnectionClients
from streams.config import ConnectionSettings, TopicNames
from streams.recovery import RecoveryError
from streams.recovery.redrive import (
    Channel,
    Redrive,
    open_consumer,
    read_range,
    topic_partitions,
)
from streams.recovery.rereading import reread
from streams.recovery.summary import Summary
from streams.sync.replays import ReplayMode, ReplayRequest

__all__ = [
    "StoredLetter",
    "format_letter",
    "format_letters",
    "letter_id",
    "parse_letter_id",
    "read_letters",
    "replay_letters",
    "select_letters",
]

_ID = re.compile(r"(\d+)-(\d+)")


def letter_id(partition: int, offset: int) -> str:
    return f"{partition}-{offset}"


def parse_letter_id(text: str) -> tuple[int, int]:
    """(partition, offset) of an id from `dlq list`; `RecoveryError` when it is none."""
    match = _ID.fullmatch(text.strip())
    if match is None:
        raise RecoveryError(
            f"--id {text!r} is not a dead letter id (PARTITION-OFFSET, as `dlq list` shows)"
        )
    return int(match[1]), int(match[2])


@dataclass(frozen=True, slots=True)
class StoredLetter:
    id: str
    letter: Mapping[str, Any]

    @property
    def connection(self) -> str:
        return str(self.letter.get("connection") or "?")

    @property
    def record_key(self) -> str:
        return str(self.letter.get("record_key") or "")

    @property
    def reason(self) -> str:
        return str(self.letter.get("reason") or "")

    @property
    def event(self) -> Mapping[str, Any]:
        event = self.letter.get("event")
        return event if isinstance(event, Mapping) else {}


async def read_letters(
    bootstrap: str, names: TopicNames, *, connection: str | None = None
) -> list[StoredLetter]:
    """Every dead letter on the topic, oldest first per partition (of ``connection``)."""
    consumer = await open_consumer(bootstrap)
    try:
        partitions = await topic_partitions(consumer, names.deadletters)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        letters: list[StoredLetter] = []
        async for batch in read_range(consumer, starts, ends):
            for tp, record in batch:
                try:
                    value = orjson.loads(record.value or b"")
                except orjson.JSONDecodeError:
                    value = {"reason": "(not JSON)", "connection": "?"}
                if not isinstance(value, dict):
                    continue
                letter = StoredLetter(letter_id(tp.partition, record.offset), value)
                if connection is None or letter.connection == connection:
                    letters.append(letter)
        return letters
    finally:
        await consumer.stop()


def select_letters(
    letters: Sequence[StoredLetter], *, ids: Sequence[str], every: bool
) -> list[StoredLetter]:
    """The letters named by ``ids`` (all of them with ``every``); an unknown id is an error."""
    if every:
        return list(letters)
    if not ids:
        raise RecoveryError("name the dead letters: --id ID (from `dlq list`) or --all")
    by_id = {letter.id: letter for letter in letters}
    chosen = []
    for text in ids:
        partition, offset = parse_letter_id(text)
        letter = by_id.get(letter_id(partition, offset))
        if letter is None:
            raise RecoveryError(f"no dead letter {text} (see `ledgerlink dlq list`)")
        chosen.append(letter)
    return chosen


def _when(at_ms: Any) -> str:
    if not isinstance(at_ms, int) or at_ms <= 0:
        return "?"
    return datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_letters(letters: Sequence[StoredLetter]) -> list[str]:
    """One line per letter: id, time (UTC), connection, record, reason."""
    if not letters:
        return ["no dead letters"]
    rows = [("id", "at (UTC)", "connection", "record", "reason")]
    rows += [
        (
            letter.id,
            _when(letter.letter.get("at_ms")),
            letter.connection,
            letter.record_key or "-",
            letter.reason[:120],
        )
        for letter in letters
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4]])
        for row in rows
    ]


def _masked(value: Any, key: str = "") -> Any:
    if isinstance(value, Mapping):
        return {k: _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, str) and "email" in key.lower():
        return mask_email(value)
    return value


def format_letter(letter: StoredLetter) -> str:
    """One letter in full, as indented JSON with its id; e-mail addresses masked."""
    shown = {"id": letter.id, **_masked(letter.letter)}
    return orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode()


def _carried_event(letter: StoredLetter) -> ChangeEvent | None:
    """The change event the letter carries, when it carries a whole one."""
    event = letter.event
    if "source" not in event:
        return None
    try:
        return ChangeEvent.from_json(dict(event))
    except EventDecodeError:
        return None


def _hint(letter: StoredLetter) -> Mapping[str, Any]:
    event = letter.event
    upsert = event.get("upsert")
    if isinstance(upsert, Mapping) and isinstance(upsert.get("extra"), Mapping):
        return dict(upsert["extra"])
    after = event.get("after")
    return after if isinstance(after, Mapping) else {}


async def replay_letters(
    letters: Sequence[StoredLetter],
    *,
    connection: ConnectionSettings,
    channel: Channel,
) -> Summary:
    """Re-drive the records of ``letters`` (all of ``connection``) through the join."""
    latest: dict[str, StoredLetter] = {}
    skipped = 0
    for letter in letters:
        if letter.record_key:
            latest[letter.record_key] = letter
        else:
            skipped += 1  # a message that was not a record at all: nothing to re-read
    clients = ConnectionClients(connection)
    try:
        async with Redrive(channel, connection.id) as redrive:
            for done, (record_key, letter) in enumerate(sorted(latest.items()), 1):
                event = await reread(
                    record_key,
                    connection=connection.id,
                    poweroffice=clients.poweroffice,
                    chargebee=clients.chargebee,
                    now_ms=int(time.time() * 1000),
                    hint=_hint(letter),
                )
                if event is None:
                    event = _carried_event(letter)
                if event is None:
                    channel.progress(f"{record_key}: cannot be re-read (gone, or no API); skipped")
                    skipped += 1
                    continue
                await redrive.publish(ReplayRequest(mode=ReplayMode.RESYNC, event=event))
                if done % 50 == 0:
                    channel.progress(f"re-driven {done} of {len(latest)} records")
            return await redrive.finish(read=len(letters), skipped=skipped)
    finally:
        await clients.aclose()
