"""The Faust app of streams.app: its tables' changelogs are the topics the worker creates
before Faust starts (streams.worker), so their names must be Faust's own."""

from pathlib import Path

from streams.app import build_app
from streams.config.environment import load_settings
from streams.config.topics import TABLES


def test_every_table_changelogs_to_the_topic_the_worker_creates(tmp_path: Path) -> None:
    settings = load_settings(
        {"LEDGERLINK_TOPIC_PREFIX": "t1.", "LEDGERLINK_DATA_DIR": str(tmp_path)}
    )
    topology = build_app(settings)
    tables = {name: topology.app.tables[name] for name in TABLES}
    assert {t.changelog_topic.get_topic_name() for t in tables.values()} == set(
        settings.topics.changelogs
    )
    assert topology.links.changelog_topic.get_topic_name() == "t1.ledgerlink-links-changelog"
    for table in tables.values():
        assert table.partitions == settings.partitions
