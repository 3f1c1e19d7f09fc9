"""The text a movie is embedded from."""

from __future__ import annotations

from sidecar.movies.text import OVERVIEW_MAX_CHARS, movie_text


def test_text_carries_every_facet_in_a_stable_order() -> None:
    movie = {
        "title": "Heat",
        "original_title": "Heat",
        "year": 1995,
        "tagline": "A Los Angeles crime saga",
        "genres": ["Crime", "Thriller", "crime"],
        "overview": "Obsessive master thief  Neil McCauley leads a\n crew.",
        "people": [
            {"name": "Al Pacino", "type": "Actor", "role": "Vincent Hanna"},
            {"name": "Michael Mann", "type": "Director"},
            {"name": "Robert De Niro", "type": "Actor", "role": "Neil McCauley"},
            {"name": "Al Pacino", "type": "Actor", "role": "again"},
            {"name": "Dante Spinotti", "type": "Cinematographer"},
        ],
        "studios": ["Warner Bros. Pictures", "Regency Enterprises"],
        "tags": ["heist", "los angeles"],
    }
    assert movie_text(movie) == (
        "Heat (1995)\n"
        "Tagline: A Los Angeles crime saga\n"
        "Genres: Crime, Thriller\n"
        "Directed by: Michael Mann\n"
        "Starring: Al Pacino, Robert De Niro\n"
        "Studios: Warner Bros. Pictures, Regency Enterprises\n"
        "Keywords: heist, los angeles\n"
        "Obsessive master thief Neil McCauley leads a crew."
    )


def test_sparse_movie_still_has_its_title_and_original_title() -> None:
    text = movie_text(
        {"title": "Amélie", "original_title": "Le Fabuleux Destin d'Amélie Poulain", "genres": []}
    )
    assert text == "Amélie\nOriginal title: Le Fabuleux Destin d'Amélie Poulain"
    assert movie_text({"title": "", "people": None}) == "Untitled"


def test_long_overview_is_cut_at_a_word_and_actors_are_capped() -> None:
    people = [{"name": f"Actor {i}", "type": "Actor"} for i in range(12)]
    text = movie_text({"title": "Epic", "overview": "word " * 1000, "people": people})
    last = text.splitlines()[-1]
    assert len(last) <= OVERVIEW_MAX_CHARS + 1 and last.endswith("word…")
    assert "Starring: Actor 0, Actor 1, Actor 2, Actor 3, Actor 4\n" in text
    assert "Actor 5" not in text
