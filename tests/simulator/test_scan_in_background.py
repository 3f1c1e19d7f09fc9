"""A queued library scan reads the folders off the event loop: the simulated server keeps answering
requests meanwhile, as Jellyfin does (its refresh queue runs in `Task.Run`, see scan.py)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sidecar.simulator import running_simulator, scan


@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_the_server_answers_while_a_queued_scan_reads_the_folders(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reading, release = threading.Event(), threading.Event()
    read = scan.read_library

    def slow_read(library: Any) -> dict[str, dict[str, Any]]:
        reading.set()
        release.wait(10)  # a big library: the read lasts until the test has made its request
        return read(library)

    monkeypatch.setattr(scan, "read_library", slow_read)
    entry = tmp_path / "Film (2001)"
    entry.mkdir()
    (entry / "Film (2001).strm").write_text("/media/film.mkv\n")
    async with running_simulator(kind, seed=None) as sim:
        library = sim.state.add_library("AI Picks", "movies", [str(tmp_path)], scans_folders=True)
        prefix = "/emby" if kind == "emby" else ""
        async with aiohttp.ClientSession(sim.url, headers={"X-Emby-Token": sim.api_key}) as http:
            async with http.post(f"{prefix}/Items/{library.item_id}/Refresh") as response:
                assert response.status == 204
            assert await asyncio.to_thread(reading.wait, 10)
            async with http.get(f"{prefix}/System/Info/Public") as response:
                assert response.status == 200  # answered while the scan is still reading
            assert sim.state.scan_results == []
        release.set()
        await sim.state.settle()
        assert [m.name for m in sim.state.movies.values() if m.library_id == library.item_id] == ["Film"]
