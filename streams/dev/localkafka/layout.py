"""Where a broker keeps its files: every path inside one data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["BrokerLayout"]

_STATE_FILE = "ledgerlink-kafka.json"


@dataclass(frozen=True, slots=True)
class BrokerLayout:
    """Where a broker keeps its files, all inside one data directory."""

    data_dir: Path

    @classmethod
    def of(cls, data_dir: Path) -> BrokerLayout:
        return cls(data_dir.expanduser().resolve())

    @property
    def state_file(self) -> Path:
        return self.data_dir / _STATE_FILE

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def log_dirs(self) -> Path:
        return self.data_dir / "data"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / ".lock"
