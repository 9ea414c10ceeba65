"""Fault injection for the simulators: error responses, latency and dropped connections."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FaultSettings"]


@dataclass(slots=True)
class FaultSettings:
    """What `POST /_sim/faults` set. Rates are probabilities in [0, 1]."""

    error_rate: float = 0.0
    status: int = 503
    latency_ms: float = 0.0
    drop_rate: float = 0.0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultSettings:
        """Parse an admin request body; raise ValueError naming the bad field."""
        known = {"error_rate", "status", "latency_ms", "drop_rate"}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        settings = cls()
        for name in ("error_rate", "drop_rate"):
            if name in body:
                value = float(body[name])
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{name} must be between 0 and 1")
                setattr(settings, name, value)
        if "latency_ms" in body:
            latency = float(body["latency_ms"])
            if latency < 0:
                raise ValueError("latency_ms must not be negative")
            settings.latency_ms = latency
        if "status" in body:
            status = int(body["status"])
            if not 400 <= status <= 599:
                raise ValueError("status must be an HTTP error status (400-599)")
            settings.status = status
        return settings

    def as_json(self) -> dict[str, Any]:
        return {
            "error_rate": self.error_rate,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "drop_rate": self.drop_rate,
        }

    def should_drop(self) -> bool:
        return self.drop_rate > 0 and self.rng.random() < self.drop_rate

    def should_fail(self) -> bool:
        return self.error_rate > 0 and self.rng.random() < self.error_rate
