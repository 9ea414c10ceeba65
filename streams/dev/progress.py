"""What `ledgerlink demo` prints: the live progress line and the final report.

Pure functions turn the worker's answers (``/ledgerlink/status`` and ``/ledgerlink/links``,
docs/worker.md) into text; `ProgressDisplay` only decides how a line reaches the screen
(redrawn in place on a terminal, a plain line every few seconds otherwise). E-mail
addresses are always shown masked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from connectors.secrets import mask_email

__all__ = [
    "CUSTOMER_FLOWS",
    "ENTITY_FLOWS",
    "Progress",
    "ProgressDisplay",
    "Totals",
    "broker_reachable",
    "count_linked",
    "format_action_items",
    "format_dead_letters",
    "format_links_table",
    "format_pending",
    "format_progress",
    "progress_from_status",
]

#: Flows whose partner is a Chargebee customer, and whose partner is a business entity.
CUSTOMER_FLOWS = ("contact_person", "employee", "person_customer")
ENTITY_FLOWS = ("company", "department")
_FLOW_ORDER = {name: index for index, name in enumerate(ENTITY_FLOWS + CUSTOMER_FLOWS)}
_TABLE_HEADER = ("flow", "PowerOffice Go", "Chargebee", "name", "e-mail")


@dataclass(frozen=True, slots=True)
class Totals:
    """What the sample data should end as: Chargebee customers and entity links."""

    customers: int
    entities: int


@dataclass(frozen=True, slots=True)
class Progress:
    """The counts of one status answer that the progress line shows."""

    customers: int
    entities: int
    open_actions: int
    dead_letters: int
    conflicts: int
    converged: bool
    seen: int
    #: The worker or the demo's own probe found the broker unreachable.
    broker_down: bool = False

    @property
    def started(self) -> bool:
        """Whether the worker has seen any record yet."""
        return self.seen > 0


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _flows(status: Mapping[str, Any]) -> Mapping[str, Any]:
    flows = status.get("flows")
    return flows if isinstance(flows, Mapping) else {}


def _linked(flows: Mapping[str, Any], names: Iterable[str]) -> int:
    return sum(_int(flows.get(name, {}).get("linked")) for name in names if name in flows)


def _seen(flows: Mapping[str, Any]) -> int:
    return sum(
        _int(counts.get("linked")) + _int(counts.get("pending"))
        for counts in flows.values()
        if isinstance(counts, Mapping)
    )


def broker_reachable(status: Mapping[str, Any]) -> bool:
    """Whether the worker reaches its broker (``"broker": {"reachable": …}``; absent: yes)."""
    broker = status.get("broker")
    return not (isinstance(broker, Mapping) and broker.get("reachable") is False)


def progress_from_status(status: Mapping[str, Any], *, broker_answers: bool = True) -> Progress:
    """Read a ``/ledgerlink/status`` answer; missing parts count as zero.

    Never converged while the broker is unreachable, whether the worker says so or
    ``broker_answers`` (the demo's own probe) does.
    """
    flows = _flows(status)
    actions = status.get("actions")
    open_actions = _int(actions.get("open")) if isinstance(actions, Mapping) else 0
    broker_down = not (broker_answers and broker_reachable(status))
    return Progress(
        customers=_linked(flows, CUSTOMER_FLOWS),
        entities=_linked(flows, ENTITY_FLOWS),
        open_actions=open_actions,
        dead_letters=_int(status.get("dead_letters")),
        conflicts=_int(status.get("conflicts")),
        converged=status.get("converged") is True and not broker_down,
        seen=_seen(flows),
        broker_down=broker_down,
    )


def format_progress(progress: Progress, totals: Totals, elapsed: float) -> str:
    """The one-line summary, e.g.

    `syncing… customers 52/95  entities 14/18  actions 4  dead letters 0  conflicts 0  [12.3 s]`
    """
    if progress.broker_down:
        state = "Kafka unreachable…"
    else:
        state = "synced" if progress.converged else "syncing…"
    return (
        f"{state} customers {progress.customers}/{totals.customers}  "
        f"entities {progress.entities}/{totals.entities}  "
        f"actions {progress.open_actions}  dead letters {progress.dead_letters}  "
        f"conflicts {progress.conflicts}  [{elapsed:.1f} s]"
    )


def format_pending(status: Mapping[str, Any]) -> str:
    """`person_customer 1, company 2` — the flows still waiting, or `nothing`."""
    waiting = [
        f"{name} {_int(counts.get('pending'))}"
        for name, counts in sorted(_flows(status).items())
        if isinstance(counts, Mapping) and _int(counts.get("pending")) > 0
    ]
    return ", ".join(waiting) or "nothing"


# -- the report -----------------------------------------------------------------------------


def _record(side: Any) -> str:
    if not isinstance(side, Mapping):
        return ""
    return f"{side.get('entity', '?')} {side.get('id', '?')}"


def _name(values: Mapping[str, Any]) -> str:
    name = values.get("name") or values.get("Name")
    if name:
        return str(name)
    first = values.get("first_name") or values.get("FirstName") or ""
    last = values.get("last_name") or values.get("LastName") or ""
    return f"{first} {last}".strip()


def _email(values: Mapping[str, Any]) -> str:
    address = values.get("email") or values.get("EmailAddress")
    return mask_email(str(address)) if address else ""


def _row(link: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
    values = link.get("values")
    values = values if isinstance(values, Mapping) else {}
    state = str(link.get("state", ""))
    right = _record(link.get("right")) if state == "linked" else f"({state.replace('_', ' ')})"
    return (
        str(link.get("flow", "")),
        _record(link.get("left")),
        right or "",
        _name(values),
        _email(values),
    )


def _sort_key(link: Mapping[str, Any]) -> tuple[int, str, int, str]:
    left = link.get("left")
    record_id = str(left.get("id", "")) if isinstance(left, Mapping) else ""
    flow = str(link.get("flow", ""))
    number = int(record_id) if record_id.isdigit() else 0
    return (_FLOW_ORDER.get(flow, len(_FLOW_ORDER)), flow, number, record_id)


def format_links_table(links: Sequence[Mapping[str, Any]]) -> list[str]:
    """One aligned row per link, ordered by flow then PowerOffice Go id; e-mails masked."""
    rows = [_TABLE_HEADER] + [_row(link) for link in sorted(links, key=_sort_key)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_TABLE_HEADER))]
    lines = [_join(row, widths) for row in rows]
    lines.insert(1, _join(tuple("-" * width for width in widths), widths))
    return lines


def _join(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def count_linked(links: Iterable[Mapping[str, Any]], flows: Iterable[str]) -> int:
    """How many ``links`` of ``flows`` are in state `linked`."""
    wanted = set(flows)
    return sum(1 for link in links if link.get("state") == "linked" and link.get("flow") in wanted)


def format_action_items(status: Mapping[str, Any]) -> list[str]:
    """The open action items of a status answer, one line each."""
    items = status.get("action_items")
    if not isinstance(items, list):
        return []
    return [
        f"- {item.get('message') or item.get('kind', 'action')}"
        for item in items
        if isinstance(item, Mapping) and not item.get("resolved")
    ]


def format_dead_letters(links: Iterable[Mapping[str, Any]]) -> list[str]:
    """The links that ended in the dead-letter topic, one line each (e-mails masked)."""
    lines = []
    for link in links:
        if link.get("state") == "dead_letter":
            flow, record, _, name, email = _row(link)
            lines.append(f"- {flow} {record}: {name} {email}".rstrip())
    return lines


# -- the display ------------------------------------------------------------------------------


class ProgressDisplay:
    """Shows progress lines: redrawn in place on a terminal, else one every ``every`` s."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interactive: bool,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._interactive = interactive
        self._every = every
        self._clock = clock
        self._last_shown: float | None = None
        self._drawn = False

    def show(self, line: str, *, force: bool = False) -> None:
        """Show ``line``; off a terminal, only if ``every`` seconds passed (or ``force``)."""
        if self._interactive:
            self._stream.write(f"\r\x1b[K{line}")
            self._drawn = True
        else:
            now = self._clock()
            if not force and self._last_shown is not None and now - self._last_shown < self._every:
                return
            self._last_shown = now
            self._stream.write(f"{line}\n")
        self._stream.flush()

    def close(self) -> None:
        """End the redrawn line, so what follows starts on a line of its own."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False
