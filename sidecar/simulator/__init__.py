"""Faithful stand-ins for outside services: a Jellyfin/Emby simulator speaking both dialects, and an
OpenAI-compatible embeddings server (`openai_server`); for tests, benchmarks and the demo."""

from sidecar.simulator.app import MediaServerSimulator, RecordedRequest
from sidecar.simulator.faults import Fault, Faults
from sidecar.simulator.model import SimLibrary, SimMovie, SimState, SimUser, SimUserData
from sidecar.simulator.runner import RunningSimulator, running_simulator

__all__ = [
    "Fault",
    "Faults",
    "MediaServerSimulator",
    "RecordedRequest",
    "RunningSimulator",
    "SimLibrary",
    "SimMovie",
    "SimState",
    "SimUser",
    "SimUserData",
    "running_simulator",
]
