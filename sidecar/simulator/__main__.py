"""`python -m sidecar.simulator --kind emby --seed movielens --port 8096`: serve until stopped.

Prints one line `READY <url> <api-key>` once listening, so scripts can wait for it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from sidecar.simulator.app import MediaServerSimulator
from sidecar.simulator.runner import running_simulator


def _seed(value: str) -> str | int:
    return int(value) if value.isdigit() else value


async def _serve(args: argparse.Namespace) -> None:
    sim = MediaServerSimulator(args.kind, seed=_seed(args.seed), api_key=args.api_key)
    async with running_simulator(simulator=sim, host=args.host, port=args.port) as running:
        print(f"READY {running.url} {running.api_key}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sidecar.simulator", description=__doc__)
    parser.add_argument("--kind", choices=["jellyfin", "emby"], default="jellyfin")
    parser.add_argument("--seed", default="sample", help="sample, movielens, or a number of synthetic movies")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
