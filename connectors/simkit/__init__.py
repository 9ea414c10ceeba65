"""What both simulators share: the `/_sim/` admin surface, request stats, fault injection,
rate-limit windows, and starting an aiohttp server on a real socket.

A simulator module builds its own routes for the API it imitates and hands them to
`build_simulator_app`; everything here is identical for PowerOffice Go and Chargebee.
"""

from connectors.simkit.app import SimulatorState, build_simulator_app
from connectors.simkit.faults import FaultSettings
from connectors.simkit.limits import SlidingWindowLimiter
from connectors.simkit.server import RunningSimulator, serve_forever, start_simulator
from connectors.simkit.stats import RequestStats

__all__ = [
    "FaultSettings",
    "RequestStats",
    "RunningSimulator",
    "SimulatorState",
    "SlidingWindowLimiter",
    "build_simulator_app",
    "serve_forever",
    "start_simulator",
]
