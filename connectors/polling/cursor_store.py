"""Durable cursors: one small JSON file per (connection, system, entity) under the data dir.

Writes go to a temporary file that is fsynced and then renamed over the old one, so a
crash leaves either the old cursor or the new one, never half of either. File I/O runs in
a worker thread, so the event loop never blocks on the disk.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import orjson

from connectors.exceptions import LedgerlinkError
from connectors.polling.cursor import Cursor

__all__ = ["CursorStore", "CursorStoreError"]

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class CursorStoreError(LedgerlinkError):
    """A cursor file could not be read or written. The message names the file."""


class CursorStore:
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
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".json.tmp")
            with open(tmp, "wb") as handle:
                handle.write(orjson.dumps(cursor.to_json()))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise CursorStoreError(f"cannot write cursor {path}: {exc.strerror}") from exc
