"""Watch state per item (Jellyfin >= 10.11, Emby) or per provider key (Jellyfin 10.10), and the client's
played/favourite marks with the webhooks the server sends for them (issue #13 point 1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sidecar.mediaserver import open_client
from sidecar.settings import Settings
from sidecar.simulator import MediaServerSimulator, running_simulator
from sidecar.simulator.model import SimState
from sidecar.simulator.webhook_bodies import DEFAULT_STYLE, render_webhook
from tests.simhelpers import settings_for
from webhooks import events as ev
from webhooks.emby import parse_emby
from webhooks.jellyfin import parse_jellyfin

KINDS = ["jellyfin", "emby"]


def _original_and_copy(state: SimState) -> tuple[str, str, str]:
    """(user, original, copy): two items with the same TMDb id, as after an AI Picks scan."""
    user = next(iter(state.users))
    original = state.add_movie(name="Heat", year=1995, provider_ids={"Tmdb": "949"}, emit=False)
    copy = state.add_movie(name="Heat", year=1995, provider_ids={"Tmdb": "949"}, emit=False)
    return user, original.id, copy.id


@pytest.mark.parametrize(
    ("kind", "version", "shared"),
    [("jellyfin", "10.11.11", False), ("jellyfin", "12.0.0", False), ("jellyfin", "10.10.7", True),
     ("emby", None, False)],
)  # fmt: skip
def test_a_played_copy_marks_the_original_only_where_the_server_shares_user_data(
    kind: str, version: str | None, shared: bool
) -> None:
    state = MediaServerSimulator(kind, seed="sample").state  # type: ignore[arg-type]
    if version is not None:
        state.version = version
    user, original, copy = _original_and_copy(state)
    state.record_play(user, copy)
    data = state.user_data_of(user, original)
    assert (data is not None and data.played) is shared
    assert state.user_data_of(user, copy).played  # type: ignore[union-attr]
    assert (original in state.items_with_data(user)) is shared


def test_emby_can_be_told_to_share_user_data_by_provider_key() -> None:
    state = MediaServerSimulator("emby", seed="sample").state
    state.user_data_sharing = "provider"  # closed source: the sidecar must work under both
    user, original, copy = _original_and_copy(state)
    state.set_favorite(user, copy)
    assert state.user_data_of(user, original).is_favorite  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", KINDS)
async def test_client_marks_an_item_played_and_favourite_for_a_user(kind: str, settings: Settings) -> None:
    async with running_simulator(kind, seed="sample") as sim:
        user, original, copy = _original_and_copy(sim.state)
        events: list[dict[str, Any]] = []
        sim.state.listeners.append(events.append)
        client = await open_client(settings_for(settings, sim))
        when = dt.datetime(2026, 11, 30, 20, 15, 0, tzinfo=dt.UTC)
        try:
            await client.mark_played(user, original, played_at=when)
            await client.mark_favorite(user, original)
            await client.mark_played(user, original)  # again, without a date: changes nothing
        finally:
            await client.close()
        data = sim.state.user_data_of(user, original)
        assert data is not None and data.played and data.is_favorite
        assert data.play_count == 1 and data.last_played == when
        assert sim.state.user_data_of(user, copy) is None  # per item: the copy is untouched
        # The server announces each mark as it does for a user's own toggle.
        bodies = [render_webhook(sim.state, e, DEFAULT_STYLE[kind]) for e in events]  # type: ignore[index]
        parse = parse_jellyfin if kind == "jellyfin" else parse_emby
        parsed = [parse(b.document) for b in bodies if b is not None]
        assert [(p.event, p.item_id, p.user_id) for p in parsed] == [
            (ev.MARK_PLAYED, original, user), (ev.RATED, original, user), (ev.MARK_PLAYED, original, user),
        ]  # fmt: skip
        routes = {r.route for r in sim.requests if r.method == "POST"}
        if kind == "jellyfin":
            assert routes == {"/UserPlayedItems/{itemId}", "/UserFavoriteItems/{itemId}"}
        else:
            assert routes == {"/Users/{UserId}/PlayedItems/{Id}", "/Users/{UserId}/FavoriteItems/{Id}"}


@pytest.mark.parametrize("kind", KINDS)
async def test_marking_an_item_the_user_may_not_see_is_refused(kind: str, settings: Settings) -> None:
    async with running_simulator(kind, seed="sample") as sim:
        kids = next(u for u in sim.state.users.values() if u.name == "kids")  # "Movies" only
        adults = sim.state.add_library("Adults", "movies", ["/media/adults"])
        hidden = sim.state.add_movie(name="Heat", year=1995, library_id=adults.item_id, emit=False).id
        client = await open_client(settings_for(settings, sim))
        try:
            with pytest.raises(Exception, match="404"):
                await client.mark_played(kids.id, hidden)
        finally:
            await client.close()
        assert sim.state.user_data_of(kids.id, hidden) is None


@pytest.mark.parametrize("version", ["10.10.7", "10.11.11"])
def test_switching_the_version_keeps_the_seeded_user_data(version: str) -> None:
    state = MediaServerSimulator("jellyfin", seed="sample").state
    before = {u: dict(state.items_with_data(u)) for u in state.users}
    state.version = version
    assert {u: dict(state.items_with_data(u)) for u in state.users} == before
    assert any(before.values())
