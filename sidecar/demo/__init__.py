"""`sidecar demo`: a working sidecar against a simulated media server, from an empty machine."""

from sidecar.demo.config import DemoOptions, options_from_environment
from sidecar.demo.flow import DemoFailed, DemoReport, demo_session
from sidecar.demo.main import run_demo

__all__ = ["DemoFailed", "DemoOptions", "DemoReport", "demo_session", "options_from_environment", "run_demo"]
