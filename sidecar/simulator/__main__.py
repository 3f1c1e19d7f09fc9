"""`python -m sidecar.simulator --kind emby --seed movielens --tv full --port 8096`: serve until stopped.

`--tv sample|full|none` adds a TV library: six scripted shows, or the generated catalogue of ~1,500
shows watched by the MovieLens users (`tv_seed.py`; pair `full` with `--seed movielens`). The
default is `sample` with the sample seed and none otherwise (movie benchmarks start this too).

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
    tv = args.tv or ("sample" if args.seed == "sample" else "none")
    sim = MediaServerSimulator(
        args.kind, seed=_seed(args.seed), api_key=args.api_key, tv=None if tv == "none" else tv
    )
    async with running_simulator(simulator=sim, host=args.host, port=args.port) as running:
        print(f"READY {running.url} {running.api_key}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sidecar.simulator", description=__doc__)
    parser.add_argument("--kind", choices=["jellyfin", "emby"], default="jellyfin")
    parser.add_argument("--seed", default="sample", help="sample, movielens, or a number of synthetic movies")
    parser.add_argument("--tv", choices=["sample", "full", "none"], default=None, help="TV library to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
