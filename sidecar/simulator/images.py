"""Poster images of the simulated server: a small solid PNG per item, made without an imaging library.

The real servers answer `GET /Items/{id}/Images/Primary` with the image bytes and an image/* type
(Jellyfin: Jellyfin.Api/Controllers/ImageController.cs `GetItemImage`, anonymous; Emby: the same
path, behind the API key as its OpenAPI document says), 404 when the item has no such image.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

WIDTH, HEIGHT = 60, 90  # a poster's 2:3


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def poster_png(item_id: str) -> bytes:
    """A PNG whose colour follows the item id, so two posters can be told apart in a screenshot."""
    r, g, b = hashlib.sha256(item_id.encode()).digest()[:3]
    row = b"\x00" + bytes((r // 2 + 64, g // 2 + 64, b // 2 + 64)) * WIDTH
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * HEIGHT))
        + _chunk(b"IEND", b"")
    )
