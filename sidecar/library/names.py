"""File and folder names that are safe on every filesystem the media server may use.

Names come from movie titles and user names, i.e. from outside: they may hold `/`, `..`, quotes,
control characters or be very long. Each is turned into ONE path component that keeps its Unicode
(accents, CJK, emoji) but cannot climb out of its directory or break Windows/SMB shares.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

# Most filesystems allow 255 bytes per component; 200 leaves room for temp-name prefixes.
MAX_COMPONENT_BYTES = 200
FALLBACK_NAME = "Untitled"

# Reserved on Windows/SMB (and `/` everywhere). Readable substitutes instead of silent deletion.
_SUBSTITUTES = {
    "/": "-",
    "\\": "-",
    "|": "-",
    ":": " - ",
    '"': "'",
    "<": "(",
    ">": ")",
    "?": "",
    "*": "",
}
_WINDOWS_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)
}


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Cut `text` to at most `max_bytes` of UTF-8 without splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


@functools.lru_cache(maxsize=8192)  # pure, and asked again for every show of every user
def sanitize_component(
    raw: str, *, max_bytes: int = MAX_COMPONENT_BYTES, fallback: str = FALLBACK_NAME
) -> str:
    """One safe path component: no separators, reserved or control characters, no leading or
    trailing dots/spaces (so never `.`/`..` and never hidden), at most `max_bytes` UTF-8 bytes."""
    text = unicodedata.normalize("NFC", raw)
    # Path-like input ("../../x/"): drop the empty and dot-only segments rather than keep their debris.
    segments = [seg for seg in re.split(r"[/\\]", text) if seg.strip(" .")]
    text = "-".join(segments)
    cleaned: list[str] = []
    for char in text:
        if char in _SUBSTITUTES:
            cleaned.append(_SUBSTITUTES[char])
        elif unicodedata.category(char) == "Cc":
            cleaned.append(" ")
        elif unicodedata.category(char) in ("Zl", "Zp"):
            cleaned.append(" ")
        else:
            cleaned.append(char)
    name = " ".join("".join(cleaned).split())  # collapse whitespace runs, incl. former controls
    name = _strip_edges(name)
    name = _strip_edges(truncate_utf8(name, max_bytes))
    if not name:
        name = fallback
    if name.split(".")[0].upper() in _WINDOWS_DEVICE_NAMES:
        name = _strip_edges(truncate_utf8(f"_{name}", max_bytes))
    return name


def _strip_edges(name: str) -> str:
    # Leading dots would hide the entry from the media server; trailing dots/spaces break Windows.
    return name.strip(" .").strip()


# Room left in a component for the longest extension or rank prefix, so neither cuts the year off.
_BASE_NAME_BYTES = MAX_COMPONENT_BYTES - 16


def movie_base_name(title: str, year: int | None, *, max_bytes: int = _BASE_NAME_BYTES) -> str:
    """`Title (Year)`, the name every file of an entry shares; the year survives any truncation."""
    suffix = f" ({year})" if year else ""
    title_part = sanitize_component(title, max_bytes=max_bytes - len(suffix.encode()))
    return f"{title_part}{suffix}"


def rank_width(count: int) -> int:
    """Digits of the rank prefix: the width of the largest rank, at least two (`01`, like the product)."""
    return max(2, len(str(max(count, 1))))


def entry_folder_name(position: int, width: int, base_name: str) -> str:
    """`NN - Title (Year)` (the ranked layout): the zero-padded prefix makes name order the rank order."""
    prefix = f"{position:0{width}d} - "
    return prefix + truncate_utf8(base_name, MAX_COMPONENT_BYTES - len(prefix.encode())).rstrip(" .")


def disambiguated(base_name: str, tag: str) -> str:
    """`Title (Year) [tag]`: a second entry with the same name, told apart by its item's own id (never
    by rank, so the name stays when ranks change; `[tmdbid-N]` is also a hint the server understands)."""
    suffix = f" [{sanitize_component(tag, max_bytes=40)}]"
    return truncate_utf8(base_name, _BASE_NAME_BYTES - len(suffix.encode())).rstrip(" .") + suffix


def file_name(base_name: str, extension: str) -> str:
    """`base.ext` within the component limit (the extension is never cut)."""
    ext = extension if extension.startswith(".") else f".{extension}"
    return truncate_utf8(base_name, MAX_COMPONENT_BYTES - len(ext.encode())).rstrip(" .") + ext


def allocate_user_folders(wanted: Iterable[tuple[str, str]], reserved: dict[str, str]) -> dict[str, str]:
    """Folder name per user id, unique (case-insensitively) among all users.

    `reserved` maps user id -> folder already in use (remembered in the database): those never move,
    so a library path stays valid. New users, taken in `wanted` order (user id, display name), get
    their sanitised name, or `name-<first 8 of id>` when another user already holds it.
    """
    assigned = dict(reserved)
    taken = {folder.casefold() for folder in assigned.values()}
    for user_id, display_name in wanted:
        if user_id in assigned:
            continue
        folder = sanitize_component(display_name, max_bytes=100, fallback="user")
        if folder.casefold() in taken:
            short_id = sanitize_component(user_id, max_bytes=8)
            folder = f"{folder}-{short_id}"
            if folder.casefold() in taken:  # vanishingly rare: fall back to the whole id
                folder = f"{folder[: -len(short_id)]}{sanitize_component(user_id, max_bytes=64)}"
        assigned[user_id] = folder
        taken.add(folder.casefold())
    return assigned


# Jellyfin stores a library under a folder named after it and replaces these (and every control
# character) with a space (`ManagedFileSystem.GetValidFilename`, called on the trimmed name by
# `LibraryManager.AddVirtualFolder`); 12.0 rejects names with leading or trailing whitespace.
_SERVER_NAME_INVALID = frozenset('"<>|:*?\\/') | {chr(c) for c in range(32)}


def server_library_name(name: str) -> str:
    """A library name the server keeps exactly as sent: the characters Jellyfin would replace become
    spaces here, whitespace runs collapse, and the ends are trimmed (so 12.0 accepts it). Matching
    by this name is the fallback; libraries are matched by their remembered id first."""
    cleaned = "".join(" " if char in _SERVER_NAME_INVALID else char for char in name)
    return " ".join(cleaned.split()) or FALLBACK_NAME
