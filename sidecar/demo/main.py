"""The demo as a command: one demo per directory, its own embedded servers, an exit code."""

from __future__ import annotations

import asyncio
import errno
import sys
import time
from typing import TextIO

from sidecar.demo.config import DemoOptions
from sidecar.demo.flow import DemoFailed, demo_session
from sidecar.demo.reset import DemoBusy, demo_lock
from sidecar.demo.watch import DemoTimeout
from sidecar.embedded import EmbeddedUnavailable, embedded_servers


def run_demo(options: DemoOptions, out: TextIO | None = None) -> int:
    """0 done, 1 a step failed, 2 could not start (busy directory, no embedded servers), 130 Ctrl-C.

    Always the embedded PostgreSQL and Valkey under the demo's directory, never a configured URL:
    the demo empties its database first.
    """
    out = out or sys.stdout
    try:
        with demo_lock(options.data_dir):
            started = time.monotonic()
            with embedded_servers(options.data_dir, None, None) as servers:
                assert servers.database_url is not None and servers.redis_url is not None
                timings = {"embedded servers": time.monotonic() - started}
                asyncio.run(
                    demo_session(options, servers.database_url, servers.redis_url, out, timings=timings)
                )
    except (DemoBusy, EmbeddedUnavailable) as exc:
        print(f"sidecar demo: {exc}", file=sys.stderr)
        return 2
    except (DemoFailed, DemoTimeout) as exc:
        print(f"sidecar demo failed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"sidecar demo: port {options.port} on {options.host} is taken (a running 'sidecar up'?); "
            "use --port or SIDECAR_PORT",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
