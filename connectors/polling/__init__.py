"""What every poller shares: cursor arithmetic, the durable cursor store, and publishing
change events to Kafka with acknowledgement before a cursor may move.

The system-specific pollers (`connectors.poweroffice.poller`, `connectors.chargebee.poller`)
only know how to read their API and turn a record into a `ChangeEvent`.
"""

from connectors.polling.cursor import Cursor, RecordMark, advance, select_unseen, window_start
from connectors.polling.cursor_store import CursorStore, FileCursorStore
from connectors.polling.publisher import ChangePublisher, EventSink

__all__ = [
    "ChangePublisher",
    "Cursor",
    "CursorStore",
    "EventSink",
    "FileCursorStore",
    "RecordMark",
    "advance",
    "select_unseen",
    "window_start",
]
