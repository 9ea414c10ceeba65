"""Starting both simulators in-process on real HTTP, for the integration tests that need
a PowerOffice Go company and a Chargebee site side by side."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.chargebee.sim import server as cb_sim
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.poweroffice.sim import server as po_sim
from connectors.poweroffice.sim.store import PowerOfficeStore
from connectors.simkit import RunningSimulator, start_simulator
from connectors.simkit.limits import SlidingWindowLimiter


@dataclass
class SimulatorPair:
    po_store: PowerOfficeStore
    cb_store: ChargebeeStore
    po: RunningSimulator
    cb: RunningSimulator

    async def stop(self) -> None:
        await self.po.stop()
        await self.cb.stop()


async def start_simulator_pair(
    *,
    application_key: str,
    client_key: str,
    subscription_key: str,
    po_rate_limit: int,
    site: str,
    api_key: str,
    cb_rate_limit_per_minute: int,
    po_limiter: SlidingWindowLimiter | None = None,
) -> SimulatorPair:
    """``po_limiter``: a PowerOffice Go rate window shared with other companies' simulators
    (one integration, one subscription key's budget), instead of one of its own."""
    po_store = PowerOfficeStore()
    cb_store = ChargebeeStore()
    po_app = po_sim.build_app(
        application_key=application_key,
        client_key=client_key,
        subscription_key=subscription_key,
        rate_limit=po_rate_limit,
        store=po_store,
    )
    if po_limiter is not None:
        po_app[po_sim.LIMITER_KEY] = po_limiter
    po = await start_simulator(po_app)
    cb = await start_simulator(
        cb_sim.build_app(
            site=site,
            api_key=api_key,
            rate_limit_per_minute=cb_rate_limit_per_minute,
            store=cb_store,
        )
    )
    return SimulatorPair(po_store=po_store, cb_store=cb_store, po=po, cb=cb)
