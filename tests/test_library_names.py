"""Safe names: hostile titles become one harmless path component, Unicode is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.library import names


@pytest.mark.parametrize(
    "raw",
    [
        "AC/DC: Live",
        "..",
        "../../etc/passwd",
        "a\\b",
        'He said "no"',
        "What? <Why> *|*",
        "trailing. . ",
        ".hidden",
    ],
)
def test_hostile_names_become_one_plain_component(raw: str, tmp_path: Path) -> None:
    name = names.sanitize_component(raw)
    assert name not in ("", ".", "..")
    assert not any(c in name for c in '<>:"/\\|?*')
    assert not name.startswith(".") and not name.endswith((".", " "))
    # it is usable as exactly one component inside the directory
    (tmp_path / name).mkdir()
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_control_characters_are_dropped_and_whitespace_collapsed() -> None:
    assert names.sanitize_component("Line\nbreak\tand\x00nul\x7f  here") == "Line break and nul here"


def test_unicode_is_kept() -> None:
    for title in ("Amélie", "千と千尋の神隠し", "Crème brûlée 🍮", "👩‍👩‍👧 Family"):
        assert names.sanitize_component(title) == title


def test_reserved_device_names_are_defused() -> None:
    assert names.sanitize_component("CON") != "CON"
    assert names.sanitize_component("nul.txt").upper() != "NUL.TXT"


def test_empty_result_falls_back() -> None:
    assert names.sanitize_component("???") == names.FALLBACK_NAME
    assert names.sanitize_component(" . ") == names.FALLBACK_NAME


def test_long_names_are_cut_on_a_character_boundary() -> None:
    raw = "é" * 150 + "🎬" * 100  # 300 + 400 bytes
    name = names.sanitize_component(raw)
    encoded = name.encode("utf-8")
    assert len(encoded) <= names.MAX_COMPONENT_BYTES
    assert encoded.decode("utf-8") == name  # no broken character
    assert name.startswith("é" * 100)


def test_truncate_utf8_never_splits_a_character() -> None:
    for limit in range(10):
        cut = names.truncate_utf8("日本語🎬", limit)
        assert len(cut.encode()) <= limit
        assert "日本語🎬".startswith(cut)


def test_base_name_keeps_the_year_of_a_very_long_title() -> None:
    base = names.movie_base_name("Long " * 200, 1999)
    assert base.endswith(" (1999)")
    assert len(names.file_name(base, ".strm").encode()) <= names.MAX_COMPONENT_BYTES
    assert names.file_name(base, ".strm").endswith(" (1999).strm")
    folder = names.entry_folder_name(7, 2, base)
    assert folder.startswith("07 - ") and folder.endswith("(1999)")
    assert len(folder.encode()) <= names.MAX_COMPONENT_BYTES


def test_rank_width_is_the_width_of_the_largest_rank_at_least_two() -> None:
    assert [names.rank_width(n) for n in (0, 1, 9, 10, 99, 100, 500)] == [2, 2, 2, 2, 2, 3, 3]


def test_user_folders_are_unique_and_remembered_ones_never_move() -> None:
    folders = names.allocate_user_folders(
        [
            ("aaaa1111", "Bob/Alice"),
            ("bbbb2222", "bob-alice"),
            ("cccc3333", "BOB-ALICE"),
            ("dddd4444", "Eve"),
        ],
        reserved={"dddd4444": "Eve-old"},
    )
    assert folders["aaaa1111"] == "Bob-Alice"
    assert folders["dddd4444"] == "Eve-old"
    assert len({f.casefold() for f in folders.values()}) == 4
    assert folders["bbbb2222"] == "bob-alice-bbbb2222"
    assert folders["cccc3333"] == "BOB-ALICE-cccc3333"


def test_a_reserved_folder_pushes_a_new_user_to_a_suffixed_name() -> None:
    folders = names.allocate_user_folders([("new00000", "Ann")], reserved={"old00000": "ann"})
    assert folders["new00000"] == "Ann-new00000"
