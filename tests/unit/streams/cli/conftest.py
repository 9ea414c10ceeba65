"""A stand-in worker web port for the CLI's tests: the documented status and links JSON."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

LONG_ID = "ll-3f9c2a7e-contact-person-10055-with-a-very-long-chargebee-customer-id"


def link(rid: int, right_id: str, email: str) -> dict[str, Any]:
    return {
        "flow": "contact_person",
        "state": "linked",
        "left": {"system": "poweroffice", "entity": "ContactPerson", "id": str(rid)},
        "right": {"system": "chargebee", "entity": "customer", "id": right_id},
        "values": {"EmailAddress": email, "FirstName": "Åse"},
    }


LINKS: dict[str, Any] = {
    "links": [link(10055, LONG_ID, "ase.bjornstad@fjordkraft.no")]
    + [link(20000 + n, f"cb-{n}", f"person{n}@example.no") for n in range(3000)]
}
STATUS: dict[str, Any] = {
    "connection": "default",
    "converged": True,
    "broker": {"reachable": True},
    "flows": {"employee": {"linked": 3, "pending": 0, "dead_letter": 0, "unlinked": 0}},
    "polls": {},
    "dead_letters": 0,
    "conflicts": 0,
    "actions": {"open": 0, "resolved": 0},
    "action_items": [],
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        prefix = self.server.prefix  # type: ignore[attr-defined]
        answers = {f"{prefix}/ledgerlink/links": LINKS, f"{prefix}/ledgerlink/status": STATUS}
        if path not in answers:
            self.send_error(404)
            return
        body = orjson.dumps(answers[path])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(prefix: str) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.prefix = prefix  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def worker_url() -> Iterator[str]:
    """The web root of a stand-in worker."""
    yield from _serve("")


@pytest.fixture
def proxied_worker_url() -> Iterator[str]:
    """A stand-in worker behind a path prefix, as a reverse proxy would put it."""
    yield from _serve("/ops/worker")
