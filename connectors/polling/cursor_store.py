"""Where poll cursors live: the `CursorStore` interface a poll loop depends on, and its
file implementation.

`CursorStore` is one async load/save per (connection, system, entity); the poll loop does
not care where the cursor is kept. The worker keeps them in Kafka, so that they move with
the connection's partition (`connectors.polling.kafka_state`); `FileCursorStore` keeps one
small JSON file per (connection, system, entity) under a directory (`ledgerlink poll`).

File writes go to a temporary file that is fsynced and then renamed over the old one, so a
crash leaves either the old cursor or the new one, never half of either. File I/O runs in
a worker thread, so the event loop never blocks on the disk.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Protocol

import orjson

from connectors.exceptions import LedgerlinkError
from connectors.polling.cursor import Cursor

__all__ = ["CursorStore", "CursorStoreError", "FileCursorStore", "atomic_write_bytes"]

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` so that a crash leaves the old or the new.

    The bytes go to a temporary file beside it, are fsynced, and the file is renamed over
    ``path`` (creating its directory if needed). Blocking: call it in a worker thread.
    Raises `OSError`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class CursorStoreError(LedgerlinkError):
    """A cursor could not be read or written. The message names the file or topic."""


class CursorStore(Protocol):
    """Durable cursors by (connection, system, entity); a missing one loads as `Cursor()`."""

    async def load(self, connection: str, system: str, entity: str) -> Cursor: ...

    async def save(self, connection: str, system: str, entity: str, cursor: Cursor) -> None:
        """Return once the cursor is durable (called only after its events are published)."""


class FileCursorStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, connection: str, system: str, entity: str) -> Path:
        name = "-".join(_SAFE.sub("_", part) for part in (connection, system, entity))
        return self.directory / f"{name}.json"

    async def load(self, connection: str, system: str, entity: str) -> Cursor:
        return await asyncio.to_thread(self._load, self.path_for(connection, system, entity))

    async def save(self, connection: str, system: str, entity: str, cursor: Cursor) -> None:
        await asyncio.to_thread(self._save, self.path_for(connection, system, entity), cursor)

    @staticmethod
    def _load(path: Path) -> Cursor:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return Cursor()
        except OSError as exc:
            raise CursorStoreError(f"cannot read cursor {path}: {exc.strerror}") from exc
        try:
            return Cursor.from_json(orjson.loads(data))
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise CursorStoreError(
                f"cursor file {path} is corrupt ({exc}); delete it to re-read from the start"
            ) from exc

    @staticmethod
    def _save(path: Path, cursor: Cursor) -> None:
        try:
            atomic_write_bytes(path, orjson.dumps(cursor.to_json()))
        except OSError as exc:
            raise CursorStoreError(f"cannot write cursor {path}: {exc.strerror}") from exc
