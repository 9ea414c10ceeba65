"""The durable cursor store: survives a new instance, refuses a corrupt file by name."""

from __future__ import annotations

import os

import pytest

from connectors.polling.cursor import Cursor
from connectors.polling.cursor_store import CursorStoreError, FileCursorStore, atomic_write_bytes


async def test_a_missing_cursor_is_the_start(tmp_path):
    assert await FileCursorStore(tmp_path).load("c1", "poweroffice", "Employee") == Cursor()


async def test_a_saved_cursor_is_read_back_by_a_new_store(tmp_path):
    cursor = Cursor(high_water=99, seen={"7@99": 99})
    await FileCursorStore(tmp_path).save("c1", "poweroffice", "Employee", cursor)
    assert await FileCursorStore(tmp_path).load("c1", "poweroffice", "Employee") == cursor


async def test_cursors_are_separate_per_connection_system_and_entity(tmp_path):
    store = FileCursorStore(tmp_path)
    await store.save("c1", "poweroffice", "Employee", Cursor(high_water=1))
    await store.save("c2", "poweroffice", "Employee", Cursor(high_water=2))
    await store.save("c1", "poweroffice", "Customer", Cursor(high_water=3))
    assert (await store.load("c1", "poweroffice", "Employee")).high_water == 1
    assert (await store.load("c2", "poweroffice", "Employee")).high_water == 2
    assert (await store.load("c1", "poweroffice", "Customer")).high_water == 3


async def test_no_temporary_file_is_left_behind(tmp_path):
    store = FileCursorStore(tmp_path)
    await store.save("c1", "chargebee", "customer", Cursor(high_water=5))
    assert [p.name for p in tmp_path.iterdir()] == ["c1-chargebee-customer.json"]


async def test_a_corrupt_cursor_file_names_itself(tmp_path):
    store = FileCursorStore(tmp_path)
    store.path_for("c1", "chargebee", "customer").write_text("{not json")
    with pytest.raises(CursorStoreError, match=r"c1-chargebee-customer\.json"):
        await store.load("c1", "chargebee", "customer")


def test_path_components_cannot_escape_the_directory(tmp_path):
    path = FileCursorStore(tmp_path).path_for("../evil", "x/y", "z")
    assert path.parent == tmp_path


def test_an_atomic_write_replaces_the_content_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "deeper" / "ids.json"
    atomic_write_bytes(path, b"[1]")
    atomic_write_bytes(path, b"[1,2]")
    assert path.read_bytes() == b"[1,2]"
    assert [p.name for p in path.parent.iterdir()] == ["ids.json"]


def test_a_failed_atomic_write_keeps_the_old_content(tmp_path, monkeypatch):
    path = tmp_path / "ids.json"
    atomic_write_bytes(path, b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
