"""The simulated media server the outside-service tests share: the fixtures' sample movies and six
shows, a franchise (Alien, Aliens, Alien 3), a movie known only by its IMDb id, a show known only by
its TVDB id, and filler movies; the simulated TMDb is built from it."""

from __future__ import annotations

from sidecar.simulator.model import SimState
from sidecar.simulator.seeds import seed_sample
from sidecar.simulator.tv_library import load_catalogue
from sidecar.simulator.tv_seed import sample_catalogue

FILLERS = 12  # movies with TMDb ids 7001.. (outage tests need more items than the in-a-row rule)


def server() -> SimState:
    state = SimState("jellyfin")
    seed_sample(state)
    load_catalogue(state, sample_catalogue())
    library = state.libraries[0].item_id
    for name, tmdb, year in (("Alien", "348", 1979), ("Aliens", "679", 1986), ("Alien 3", "8077", 1992)):
        state.add_movie(emit=False, library_id=library, name=name, year=year, genres=["Horror"],
                        provider_ids={"Tmdb": tmdb, "Imdb": f"tt00{tmdb}"})  # fmt: skip
    state.add_movie(
        emit=False, library_id=library, name="Only Imdb", year=2001, provider_ids={"Imdb": "tt7777777"}
    )
    for n in range(FILLERS):
        state.add_movie(emit=False, library_id=library, name=f"Filler {n}", year=2000 + n, genres=["Drama"],
                        provider_ids={"Tmdb": str(7001 + n)})  # fmt: skip
    shows = next(lib.item_id for lib in state.libraries if lib.collection_type == "tvshows")
    state.tv.add_series(emit=False, name="Only Tvdb", library_id=shows, path="/media/shows/Only Tvdb",
                        provider_ids={"Tvdb": "424242"})  # fmt: skip
    return state
