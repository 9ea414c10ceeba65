"""The `ledgerlink` command line: parses arguments and hands each command to its owner.

Each command's work lives in its own module; this one only knows the contract of design §6
(names, flags, defaults, a description per command), turns a `LedgerlinkError` into a
one-line message and exit 2, and a reader that stops reading (``| head``) into a quiet exit.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from connectors.exceptions import LedgerlinkError
from streams.cli.helpformat import DefaultsHelpFormatter

__all__ = ["EXIT_BROKEN_PIPE", "build_parser", "main"]

#: What a shell reports for a command killed by SIGPIPE (128 + 13), as `yes | head` does.
EXIT_BROKEN_PIPE = 141


def _kafka(args: argparse.Namespace) -> int:
    from streams.dev import localkafka

    data_dir = Path(args.data_dir)
    if args.action == "start":
        status = localkafka.start(data_dir=data_dir, port=args.port)
        print(status.describe())
    else:
        print(localkafka.stop(data_dir=data_dir))
    return 0


def _simulator(args: argparse.Namespace) -> int:
    if args.system == "poweroffice":
        from connectors.poweroffice.sim import server as po_sim

        asyncio.run(
            po_sim.serve(
                host=args.host,
                port=args.port,
                application_key=args.application_key,
                client_key=args.client_key,
                subscription_key=args.subscription_key,
                rate_limit=args.rate_limit,
            )
        )
    else:
        from connectors.chargebee.sim import server as cb_sim

        asyncio.run(
            cb_sim.serve(
                host=args.host,
                port=args.port,
                site=args.site,
                api_key=args.api_key,
                rate_limit_per_minute=args.rate_limit_per_minute,
            )
        )
    return 0


def _poll(args: argparse.Namespace) -> int:
    from streams import kafka_backoff
    from streams.agents.poll_loop import SYSTEMS, run_polling
    from streams.config import load_settings

    settings = load_settings()
    systems = [args.system] if args.system else list(SYSTEMS)
    # aiokafka's producer would spin on a failed metadata update while the broker is away.
    kafka_backoff.install()
    results = asyncio.run(
        run_polling(settings, once=args.once, systems=systems, page_size=args.page_size)
    )
    for result in results:
        print(
            f"{result.system:<12} {result.entity:<16} read {result.read:>7}  "
            f"published {result.published:>7}"
        )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from streams.config import load_settings
    from streams.worker import run_worker

    return run_worker(load_settings(), loglevel="debug" if args.verbose else "info")


def _inspect(args: argparse.Namespace) -> int:
    import orjson

    from streams.cli import inspect

    if args.url is None:
        from streams.config import load_settings

        root = inspect.worker_url(None, port=load_settings().web_port)
    else:
        root = inspect.worker_url(args.url, port=0)
    path = "/ledgerlink/status" if args.command == "status" else "/ledgerlink/links"
    data = inspect.fetch(root, path, connection=args.connection)
    if args.json:
        print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    elif args.command == "status":
        print(inspect.format_status(data))
    else:
        print(inspect.format_links(data))
    return 0


def _lag(args: argparse.Namespace) -> int:
    import orjson

    from streams.cli import inspect

    if args.url is None:
        from streams.config import load_settings

        root = inspect.worker_url(None, port=load_settings().web_port)
    else:
        root = inspect.worker_url(args.url, port=0)
    view = inspect.lag_view(inspect.fetch_text(root, "/metrics"), connection=args.connection)
    if args.json:
        print(orjson.dumps(view, option=orjson.OPT_INDENT_2).decode())
    else:
        print(inspect.format_lag(view))
    if args.max_seconds is None:
        return 0
    return 1 if any(s > args.max_seconds for s in view["sync_lag_seconds"].values()) else 0


def _recovery(args: argparse.Namespace) -> int:
    from streams.cli import recovery

    return recovery.run(args)


def _demo(args: argparse.Namespace) -> int:
    from streams.dev import demo

    return demo.run(
        until_synced=args.until_synced,
        data_dir=Path(args.data_dir),
        poweroffice_port=args.poweroffice_port,
        chargebee_port=args.chargebee_port,
        web_port=args.web_port,
        kafka_port=args.kafka_port,
        keep_kafka=args.keep_kafka,
        timeout=args.timeout,
    )


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
) -> argparse.ArgumentParser:
    """A subcommand: ``summary`` in the list of commands, ``description`` atop its --help."""
    return commands.add_parser(
        name, help=summary, description=description, formatter_class=DefaultsHelpFormatter
    )


def build_parser() -> argparse.ArgumentParser:
    from streams import config as defaults

    parser = argparse.ArgumentParser(
        prog="ledgerlink",
        description="Two-way sync between PowerOffice Go and Chargebee.",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    kafka = _command(
        commands,
        "kafka",
        "start or stop the local Apache Kafka broker",
        "A local single-node Apache Kafka (KRaft) for development and tests; its data "
        "stays on disk across stop and start.",
    )
    kafka_actions = kafka.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = _command(
        kafka_actions,
        "start",
        "start the broker; returns once it answers",
        "Start the broker of --data-dir on 127.0.0.1 and return once it answers clients. "
        "A broker of that directory that already runs is left alone if it runs on --port.",
    )
    start.add_argument(
        "--port",
        type=int,
        default=None,
        help="client port (default: 9092, or the port the running broker uses)",
    )
    start.add_argument("--data-dir", default="./var/kafka", help="the broker's data directory")
    stop = _command(
        kafka_actions,
        "stop",
        "stop the broker cleanly",
        "Stop the broker of --data-dir cleanly; its topics stay on disk.",
    )
    stop.add_argument("--data-dir", default="./var/kafka", help="the broker's data directory")
    kafka.set_defaults(handler=_kafka)

    simulator = _command(
        commands,
        "simulator",
        "run an API simulator in the foreground",
        "A simulator of one system's API on real HTTP, in the foreground until Ctrl-C; it "
        "prints its base URL and the credentials it accepts.",
    )
    systems = simulator.add_subparsers(dest="system", required=True, metavar="SYSTEM")
    local_key = "(default: the local development key, printed on start)"
    po = _command(
        systems,
        "poweroffice",
        "the PowerOffice Go v2 API",
        "The PowerOffice Go v2 API: the token endpoint at {root}/OAuth/Token, the API "
        "under {root}/v2, and the admin surface under {root}/_sim/.",
    )
    po.add_argument("--host", default="127.0.0.1", help="address to listen on")
    po.add_argument("--port", type=int, default=8101, help="port to listen on")
    po.add_argument(
        "--application-key",
        default=defaults.LOCAL_POWEROFFICE_APPLICATION_KEY,
        help=f"the application key it accepts {local_key}",
    )
    po.add_argument(
        "--client-key",
        default=defaults.LOCAL_POWEROFFICE_CLIENT_KEY,
        help=f"the client key it accepts {local_key}",
    )
    po.add_argument(
        "--subscription-key",
        default=defaults.LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
        help=f"the subscription key it accepts {local_key}",
    )
    po.add_argument("--rate-limit", type=int, default=10, help="requests/s per subscription key")
    cb = _command(
        systems,
        "chargebee",
        "the Chargebee API v2",
        "The Chargebee API v2 under {root}/api/v2 (the official SDK reaches it with site "
        "127 and domain 0.0.1:{port} over http), and the admin surface under {root}/_sim/.",
    )
    cb.add_argument("--host", default="127.0.0.1", help="address to listen on")
    cb.add_argument("--port", type=int, default=8102, help="port to listen on")
    cb.add_argument("--site", default=defaults.LOCAL_CHARGEBEE_SITE, help="the site name")
    cb.add_argument(
        "--api-key",
        default=defaults.LOCAL_CHARGEBEE_API_KEY,
        help=f"the API key it accepts {local_key}",
    )
    cb.add_argument(
        "--rate-limit-per-minute", type=int, default=3500, help="requests a minute per site"
    )
    simulator.set_defaults(handler=_simulator)

    poll = _command(
        commands,
        "poll",
        "run only the pollers: publish both systems' changes to Kafka",
        "Only the pollers: read each system's changes and publish them to the `changes` "
        "topic, configured from the environment like the worker (docs/worker.md).",
    )
    poll.add_argument("--once", action="store_true", help="poll every entity once, then exit")
    poll.add_argument(
        "--system",
        choices=["poweroffice", "chargebee"],
        help="only this system (default: both)",
    )
    poll.add_argument(
        "--page-size", type=int, default=None, help="records per API page (default: the API's)"
    )
    poll.set_defaults(handler=_poll)

    worker = _command(
        commands,
        "worker",
        "the production process: pollers, join and sink agents (Faust)",
        "The production process: the pollers, the join agent and both sink agents, with "
        "its tables in RocksDB and its status on LEDGERLINK_WEB_PORT. Configured from the "
        "environment (design §6, docs/worker.md); it takes no options.",
    )
    worker.set_defaults(handler=_worker)
    for name, summary in (
        ("status", "counts per flow, last polls, dead letters, action items, conflicts"),
        ("links", "the table of linked records"),
    ):
        sub = _command(
            commands,
            name,
            f"{summary} (asks the running worker)",
            f"Ask a running worker for {summary}, from its web port (/ledgerlink/{name}).",
        )
        sub.add_argument("--json", action="store_true", help="print the worker's JSON answer")
        sub.add_argument(
            "--url",
            help="the worker's web root, e.g. http://127.0.0.1:6066 "
            "(default: 127.0.0.1 on $LEDGERLINK_WEB_PORT, else 6066)",
        )
        sub.add_argument("--connection", help="which connection (default: the worker's first)")
        sub.set_defaults(handler=_inspect)

    lag = _command(
        commands,
        "lag",
        "sync lag per connection and consumer lag per topic (asks the running worker)",
        "Read a running worker's /metrics and print the sync lag in seconds per connection "
        "(the age of the oldest change not yet applied to the other side) and the consumer "
        "lag per topic. Exits 1 when a sync lag exceeds --max-seconds, else 0.",
    )
    lag.add_argument("--connection", help="only this connection")
    lag.add_argument(
        "--max-seconds", type=float, help="exit 1 when any sync lag exceeds this many seconds"
    )
    lag.add_argument("--json", action="store_true", help="print the lags as JSON")
    lag.add_argument(
        "--url",
        help="the worker's web root, e.g. http://127.0.0.1:6066 "
        "(default: 127.0.0.1 on $LEDGERLINK_WEB_PORT, else 6066)",
    )
    lag.set_defaults(handler=_lag)

    _recovery_commands(commands)

    demo = _command(
        commands,
        "demo",
        "local Kafka, both simulators with sample data and the worker, in one go",
        "Start local Kafka, both simulators with Norwegian sample data, and the worker; "
        "show the sync's progress and end with a table of what was linked. Then it keeps "
        "running for you to try edits, until Ctrl-C; with --until-synced it exits instead: "
        "0 once every expected link exists, 1 otherwise.",
    )
    demo.add_argument(
        "--until-synced",
        action="store_true",
        help="exit once synced: 0 when every expected link exists, else 1",
    )
    demo.add_argument(
        "--data-dir",
        default="./var/demo",
        help="the demo's own directory (broker, worker state, logs); one demo at a time",
    )
    demo.add_argument(
        "--poweroffice-port", type=int, default=8101, help="the PowerOffice Go simulator's port"
    )
    demo.add_argument(
        "--chargebee-port", type=int, default=8102, help="the Chargebee simulator's port"
    )
    demo.add_argument(
        "--web-port",
        type=int,
        default=None,
        help="the worker's status port (default: $LEDGERLINK_WEB_PORT, else 6066)",
    )
    demo.add_argument(
        "--kafka-port",
        type=int,
        default=None,
        help="port of the local broker (default: 9092, or the port it already runs on); "
        "no local broker starts when KAFKA_BOOTSTRAP_SERVERS is set",
    )
    demo.add_argument(
        "--keep-kafka", action="store_true", help="leave the local broker running at the end"
    )
    demo.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the sync")
    demo.set_defaults(handler=_demo)
    return parser


def _recovery_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`dlq`, `replay` and `resync` (design §6; docs/worker.md, "Recovery")."""
    wait_help = "seconds to wait for the running worker's join to read what was re-driven"
    connection_help = "the connection (default: the first one configured)"
    dlq = _command(
        commands,
        "dlq",
        "list, show or replay dead letters",
        "The dead letters on the `deadletters` topic with their reasons. `list` shows one "
        "line each with its ID (PARTITION-OFFSET); `show` prints letters in full; `replay` "
        "re-reads each letter's record as its system holds it now and re-drives it through "
        "the running worker's join with today's mappings: applied once when now valid, "
        "dead-lettered again when not, no write when already applied.",
    )
    dlq.add_argument(
        "action", choices=["list", "show", "replay"], metavar="ACTION", help="list, show or replay"
    )
    dlq.add_argument(
        "--connection",
        help="only this connection's letters (default: every connection's; for replay, the "
        "first connection configured)",
    )
    chosen = dlq.add_mutually_exclusive_group()
    chosen.add_argument(
        "--id",
        action="append",
        default=[],
        help="a letter's ID from `dlq list`; repeatable (default: none; `show` without it "
        "shows every letter)",
    )
    chosen.add_argument("--all", action="store_true", help="every letter (of the connection)")
    dlq.add_argument("--wait", type=float, default=120.0, help=wait_help)
    dlq.set_defaults(handler=_recovery)

    replay = _command(
        commands,
        "replay",
        "re-drive a connection's change events from a point in time",
        "Re-drive the change events of a connection from TIME on (Kafka's offsets for "
        "times on `changes`) through `changes.replay`, which the worker's join reads beside "
        "`changes`; versions already applied make no write. Ends with a summary: read, "
        "re-driven, written, unchanged. Exits 1 if the worker did not read them in time.",
    )
    replay.add_argument("--connection", help=connection_help)
    replay.add_argument(
        "--since",
        required=True,
        metavar="TIME",
        help="ISO-8601 (2026-11-27T01:00:00Z; UTC when no zone) or a duration back from "
        "now (90m, 1h, 2d)",
    )
    replay.add_argument("--wait", type=float, default=120.0, help=wait_help)
    replay.set_defaults(handler=_recovery)

    resync = _command(
        commands,
        "resync",
        "re-read both systems and repair what differs from the agreed values",
        "List both systems of a connection from the start and re-drive every record "
        "through the worker's join as a resync: a linked record changed behind ledgerlink's "
        "back (a restored backup, a bulk import) is written back to the values both sides "
        "agreed on; records that agree make no write. Ends with a summary: read, "
        "re-driven, written, unchanged. Exits 1 if the worker did not read them in time.",
    )
    resync.add_argument("--connection", help=connection_help)
    resync.add_argument("--wait", type=float, default=300.0, help=wait_help)
    resync.set_defaults(handler=_recovery)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO; our connectors log what matters themselves.
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except LedgerlinkError as exc:
        print(f"ledgerlink: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _reader_went_away() -> int:
    """The reader of our output closed it (``| head``): stop quietly, as SIGPIPE would.

    What is left in stdout's buffer goes to /dev/null, so that the interpreter's own flush
    at exit does not fail a second time and print a traceback.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
