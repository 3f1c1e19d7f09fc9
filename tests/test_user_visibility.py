"""A user's picks come only from what the server's policy lets them see (#13 point 11): libraries,
parental rating, blocked and allowed tags. The server itself answers what a user sees (a listing
with their id), the watch-history step stores it for restricted users, and the recommendation and
library steps keep to it. Both dialects, one case per rule."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from tests.factory import add_plays, add_user, set_picks
from tests.recommend_helpers import two_cluster_library, user_list
from tests.simhelpers import settings_for

KINDS = ["jellyfin", "emby"]

VISIBLE = "SELECT item_ids FROM user_visible_items WHERE user_id = $1 AND media_type = 'movies'"


def _catalogue(state: Any) -> dict[str, str]:
    """Four movies in two libraries, with ratings and tags; name -> id."""
    family = state.add_library("Family Films", "movies", ["/media/family"])
    films = {
        "Cartoon": state.add_movie(name="Cartoon", year=2001, official_rating="G", tags=["kids"],
                                   library_id=family.item_id),
        "Teen Comedy": state.add_movie(name="Teen Comedy", year=2002, official_rating="PG-13",
                                       tags=["comedy"], library_id=family.item_id),
        "Thriller": state.add_movie(name="Thriller", year=2003, official_rating="R", tags=["violence"]),
        "Unrated Doc": state.add_movie(name="Unrated Doc", year=2004, official_rating=None, tags=[]),
    }  # fmt: skip
    state.family_guid = family.guid if state.kind == "emby" else family.item_id
    return {name: movie.id for name, movie in films.items()}


def _restrict(state: Any, user_id: str, rule: str) -> None:
    policy = state.users[user_id].policy
    if rule == "libraries":
        policy["EnableAllFolders"] = False
        policy["EnabledFolders"] = [state.family_guid]
    elif rule == "parental":
        policy["MaxParentalRating"] = 13  # PG-13 and below; unrated stays visible
    elif rule == "blocked_tags":
        policy["BlockedTags"] = ["Violence"]
    elif rule == "allowed_tags":
        if state.kind == "emby":  # Emby: BlockedTags as an allow-list
            policy["BlockedTags"] = ["kids", "comedy"]
            policy["IsTagBlockingModeInclusive"] = True
        else:
            policy["AllowedTags"] = ["kids", "comedy"]
    elif rule == "nothing":
        policy["MaxParentalRating"] = 0
        policy["BlockedTags"] = ["kids"]
        policy["BlockUnratedItems"] = ["Movie"]


EXPECTED = {
    "libraries": {"Cartoon", "Teen Comedy"},
    "parental": {"Cartoon", "Teen Comedy", "Unrated Doc"},
    "blocked_tags": {"Cartoon", "Teen Comedy", "Unrated Doc"},
    "allowed_tags": {"Cartoon", "Teen Comedy"},
    "nothing": set(),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rule", list(EXPECTED))
async def test_picks_and_library_keep_to_what_the_policy_shows(
    kind: str, rule: str, db: asyncpg.Pool, settings: Settings, run_job: Any, tmp_path: Any
) -> None:
    async with running_simulator(kind, None) as sim:
        state = sim.state
        state.add_library("Movies", "movies", ["/media/movies"])
        films = _catalogue(state)
        kid = state.add_user("kid")
        adult = state.add_user("adult")
        _restrict(state, kid.id, rule)
        cfg = settings_for(settings, sim, library_root=tmp_path / "libraries", path_mappings={})
        assert (await run_job("sync-movies", settings=cfg))["status"] == "completed"
        history = await run_job("sync-movie-watch-history", settings=cfg, variant="full")
        assert history["status"] == "completed", history["error"]

        names = {v: k for k, v in films.items()}
        seen = await db.fetchval(VISIBLE, kid.id)
        assert {names[i] for i in seen} == EXPECTED[rule]
        assert await db.fetchval(VISIBLE, adult.id) is None  # unrestricted: no list, everything

        # Picks made before the restriction never reach the library (the symlink would play it).
        await set_picks(db, kid.id, list(films.values()))
        await db.execute("UPDATE media_users SET enabled = true")
        libraries = await run_job(
            "sync-movie-libraries",
            # no server, stream URLs: the folder alone shows what was written
            settings=cfg.model_copy(
                update={
                    "media_server_url": None,
                    "library_mode": "strm",
                    "strm_url_template": "http://s/{item_id}",
                }
            ),
        )
        assert libraries["status"] == "completed", libraries["error"]
        folder = tmp_path / "libraries" / "users" / "kid" / "ai-movies"
        written = {p.name.split(" (")[0] for p in folder.iterdir()} if folder.exists() else set()
        assert written == EXPECTED[rule]


async def test_a_user_whose_restriction_is_lifted_sees_everything_again(
    db: asyncpg.Pool, settings: Settings, run_job: Any
) -> None:
    async with running_simulator("jellyfin", None) as sim:
        state = sim.state
        state.add_library("Movies", "movies", ["/media/movies"])
        _catalogue(state)
        kid = state.add_user("kid")
        _restrict(state, kid.id, "parental")
        cfg = settings_for(settings, sim)
        await run_job("sync-movies", settings=cfg)
        first = await run_job("sync-movie-watch-history", settings=cfg)
        assert len(await db.fetchval(VISIBLE, kid.id)) == 3
        assert kid.id in first["result"]["follow_ups"][0]["scope"]["user_ids"]  # new picks follow

        del state.users[kid.id].policy["MaxParentalRating"]
        await run_job("sync-movie-watch-history", settings=cfg)
        assert await db.fetchval(VISIBLE, kid.id) is None


async def test_recommendations_come_only_from_the_visible_items(db: asyncpg.Pool, run_job: Any) -> None:
    space, romance = await two_cluster_library(db)
    for user in ("kid", "nothing", "adult"):
        await add_user(db, user)
        await add_plays(db, user, space[:3])
    allowed = romance[:4] + space[5:7]
    await db.execute(
        "INSERT INTO user_visible_items (user_id, media_type, item_ids) VALUES ('kid', 'movies', $1),"
        " ('nothing', 'movies', '{}')",
        allowed,
    )

    row = await run_job("generate-movie-recommendations")

    assert row["status"] == "completed", row["error"]
    assert {r["movie_id"] for r in await user_list(db, "kid")} == set(allowed)
    assert await user_list(db, "nothing") == []  # hidden everything: an empty list, nobody else's taste
    assert len(await user_list(db, "adult")) > len(allowed)
