"""The complete `LibraryOptions` of an AI Picks library, per server (issue #13 point 7).

Our NFO next to every entry carries all the metadata the library needs, so the server must not ask
TMDb/OMDb for each of tens of thousands of copies, nor extract chapter images or trickplay tiles from
the originals, nor write its own NFOs into our folders. Every other option keeps the server default.

Jellyfin reads a type's fetchers as an allow-list: with a `TypeOptions` entry for "Movie" whose
`MetadataFetchers`/`ImageFetchers` are empty, no remote provider runs (jellyfin/jellyfin
`MediaBrowser.Controller/BaseItemManager/BaseItemManager.cs`, `IsMetadataFetcherEnabled`); without
the entry the server-wide defaults (all fetchers) apply. The field names are checked against both
servers' OpenAPI `LibraryOptions` schemas in tests/mediaserver/test_library_options.py.
"""

from __future__ import annotations

from typing import Any

from sidecar.mediaserver.base import ServerKind

_NO_REMOTE_FETCHERS = {
    "Type": "Movie",
    "MetadataFetchers": [],
    "MetadataFetcherOrder": [],
    "ImageFetchers": [],
    "ImageFetcherOrder": [],
}
# Options both servers name the same way.
_COMMON: dict[str, Any] = {
    "EnableRealtimeMonitor": True,  # a rewrite shows up without a scan of every library
    "EnablePhotos": False,
    "EnableChapterImageExtraction": False,
    "ExtractChapterImagesDuringLibraryScan": False,
    "SaveLocalMetadata": False,  # never write the server's NFOs/images into our folders
    "MetadataSavers": [],
    "EnableEmbeddedTitles": False,  # the NFO title wins
    "AutomaticRefreshIntervalDays": 0,
    "SkipSubtitlesIfEmbeddedSubtitlesPresent": True,
    "SubtitleDownloadLanguages": [],
    "DisabledSubtitleFetchers": [],
    "SaveSubtitlesWithMedia": False,
    "SaveLyricsWithMedia": False,
}
_JELLYFIN: dict[str, Any] = {
    "Enabled": True,
    "EnableTrickplayImageExtraction": False,
    "ExtractTrickplayImagesDuringLibraryScan": False,
    "SaveTrickplayWithMedia": False,
    "EnableLUFSScan": False,
    "EnableInternetProviders": False,  # deprecated, read by 10.x servers that still honour it
    "AutomaticallyAddToCollection": False,
}
_EMBY: dict[str, Any] = {
    "EnableMarkerDetection": False,
    "EnableMarkerDetectionDuringLibraryScan": False,
    "DownloadImagesInAdvance": False,
    "SaveLocalThumbnailSets": False,
    "ImportCollections": False,
    "EnableAdultMetadata": False,
}


def ai_library_options(kind: ServerKind, path: str) -> dict[str, Any]:
    """The LibraryOptions body for a new AI Picks library holding `path`."""
    options = {**_COMMON, **(_JELLYFIN if kind == "jellyfin" else _EMBY)}
    options["TypeOptions"] = [dict(_NO_REMOTE_FETCHERS)]
    # The folder goes in PathInfos: Jellyfin splits a `paths` query value on commas.
    options["PathInfos"] = [{"Path": path}]
    return options
