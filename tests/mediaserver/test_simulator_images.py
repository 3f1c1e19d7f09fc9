"""The simulator's item images (what the sidecar's poster proxy reads): a PNG for every movie and TV item,
anonymous on Jellyfin (ImageController.GetItemImage), behind the key on Emby, 404 for unknown items."""

from __future__ import annotations

import aiohttp
import pytest

from sidecar.simulator import running_simulator


@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_movies_and_series_have_primary_images(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim, aiohttp.ClientSession() as http:  # type: ignore[arg-type]
        base = sim.url + ("/emby" if kind == "emby" else "")
        movie = next(iter(sim.state.movies))
        series = next(iter(sim.state.tv.series))
        key = {"X-Emby-Token": sim.api_key}
        for item in (movie, series):
            async with http.get(f"{base}/Items/{item}/Images/Primary", headers=key) as answer:
                assert answer.status == 200 and answer.content_type == "image/png"
                assert (await answer.read()).startswith(b"\x89PNG")
        async with http.get(f"{base}/Items/{movie}/Images/Primary") as anonymous:
            assert anonymous.status == (200 if kind == "jellyfin" else 401)
        async with http.get(f"{base}/Items/{'0' * 32}/Images/Primary", headers=key) as unknown:
            assert unknown.status == 404
        async with http.get(f"{base}/Items/{movie}/Images/Backdrop", headers=key) as other:
            assert other.status == 404
