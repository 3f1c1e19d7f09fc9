"""State -> the JSON each server really sends: PascalCase names, per-dialect ids and shapes.

Optional BaseItemDto fields appear only when asked for in `Fields` (as on the real servers), so a
client that forgets a field it needs gets nothing, here as in production.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from typing import Any

from sidecar.simulator.model import SimLibrary, SimMovie, SimState, SimUser, SimUserData
from sidecar.simulator.policies import default_configuration

_NS = uuid.UUID("0b6f9a4e-51c2-4d36-9a0e-7c2a4b1d8e55")


def net_datetime(value: dt.datetime) -> str:
    """ISO-8601 with 7 fractional digits and Z, as .NET writes it."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0Z"


def _name_id(kind: str, name: str) -> Any:
    if kind == "emby":
        return zlib.crc32(name.encode()) % 1_000_000 + 1000
    return uuid.uuid5(_NS, name).hex


def render_user_data(state: SimState, movie: SimMovie, data: SimUserData | None) -> dict[str, Any]:
    data = data or SimUserData()
    out: dict[str, Any] = {}
    if data.rating is not None:
        out["Rating"] = data.rating
    if data.position_ticks and movie.runtime_ticks:
        out["PlayedPercentage"] = round(100 * data.position_ticks / movie.runtime_ticks, 2)
    out["PlaybackPositionTicks"] = data.position_ticks
    out["PlayCount"] = data.play_count
    out["IsFavorite"] = data.is_favorite
    if data.last_played is not None:
        out["LastPlayedDate"] = net_datetime(data.last_played)
    out["Played"] = data.played
    if state.kind == "jellyfin":
        out["Key"] = movie.provider_ids.get("Tmdb") or movie.provider_ids.get("Imdb") or movie.id
        out["ItemId"] = movie.id
    return out


# Runs of BaseItemDto keys every item type writes in the same order (movies here, series and
# episodes in tv_render.py): one writer each, so the types cannot drift apart.
def start_dto(
    state: SimState, fields: set[str], *, name: str, item_id: str, date_created: dt.datetime,
    original_title: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Name, OriginalTitle (when asked and known), ServerId, Id, DateCreated (when asked)."""
    out: dict[str, Any] = {"Name": name}
    if "originaltitle" in fields and original_title:
        out["OriginalTitle"] = original_title
    out["ServerId"] = state.server_id
    out["Id"] = item_id
    if "datecreated" in fields:
        out["DateCreated"] = net_datetime(date_created)
    return out


def put_rating_and_overview(
    state: SimState, out: dict[str, Any], fields: set[str], official_rating: str | None, overview: str | None
) -> None:
    """OfficialRating (when set), ChannelId (Jellyfin: null), Overview (when asked and set)."""
    if official_rating:
        out["OfficialRating"] = official_rating
    if state.kind == "jellyfin":
        out["ChannelId"] = None
    if "overview" in fields and overview:
        out["Overview"] = overview


def put_numbers(
    out: dict[str, Any], rating: float | None, runtime_ticks: int | None, year: int | None
) -> None:
    """CommunityRating, RunTimeTicks, ProductionYear, each only when known."""
    if rating is not None:
        out["CommunityRating"] = rating
    if runtime_ticks is not None:
        out["RunTimeTicks"] = runtime_ticks
    if year is not None:
        out["ProductionYear"] = year


def put_placement(
    out: dict[str, Any],
    fields: set[str],
    provider_ids: dict[str, str],
    *,
    folder: bool,
    parent_id: str,
    type_: str,
) -> None:
    """ProviderIds (when asked), IsFolder, ParentId (when asked), Type."""
    if "providerids" in fields:
        out["ProviderIds"] = dict(provider_ids)
    out["IsFolder"] = folder
    if "parentid" in fields:
        out["ParentId"] = parent_id
    out["Type"] = type_


def render_movie(
    state: SimState,
    movie: SimMovie,
    fields: set[str],
    *,
    user_data: SimUserData | None = None,
    with_user_data: bool = False,
    images: bool = True,
) -> dict[str, Any]:
    kind = state.kind
    jellyfin = kind == "jellyfin"
    out = start_dto(state, fields, name=movie.name, item_id=movie.id, date_created=movie.date_created,
                    original_title=movie.original_title)  # fmt: skip
    out["Container"] = movie.container
    if "sortname" in fields:
        out["SortName"] = movie.sort_name or movie.name
    if movie.premiere_date is not None:
        out["PremiereDate"] = net_datetime(movie.premiere_date)
    if movie.critic_rating is not None:
        out["CriticRating"] = movie.critic_rating
    if "path" in fields and movie.path:
        out["Path"] = movie.path
    put_rating_and_overview(state, out, fields, movie.official_rating, movie.overview)
    if "taglines" in fields:
        out["Taglines"] = list(movie.taglines)
    if "genres" in fields:
        out["Genres"] = list(movie.genres)
    put_numbers(out, movie.community_rating, movie.runtime_ticks, movie.year)
    # ParentId: its folder, not the library.
    put_placement(
        out, fields, movie.provider_ids, folder=False, parent_id=state.folder_id(movie), type_="Movie"
    )
    if "people" in fields:
        out["People"] = [
            {
                "Name": p["Name"],
                "Id": _name_id("jellyfin", p["Name"]) if jellyfin else str(_name_id("emby", p["Name"])),
                **({"Role": p["Role"]} if p.get("Role") else {}),
                "Type": p.get("Type", "Unknown"),
            }
            for p in movie.people
        ]
    if "studios" in fields:
        out["Studios"] = [{"Name": s, "Id": _name_id(kind, s)} for s in movie.studios]
    if "genres" in fields:
        out["GenreItems"] = [{"Name": g, "Id": _name_id(kind, g)} for g in movie.genres]
    if "tags" in fields:
        if jellyfin:
            out["Tags"] = list(movie.tags)
        else:
            out["TagItems"] = [{"Name": t, "Id": _name_id(kind, t)} for t in movie.tags]
    if with_user_data:
        out["UserData"] = render_user_data(state, movie, user_data)
    if jellyfin:
        out["VideoType"] = "VideoFile"
    if images and movie.image_tag:
        out["ImageTags"] = {"Primary": movie.image_tag}
        out["BackdropImageTags"] = []
        if jellyfin:
            out["ImageBlurHashes"] = {"Primary": {movie.image_tag: "dA8qm_-;00009F?bIU%M?vofM{WB"}}
    if jellyfin:
        out["LocationType"] = "FileSystem"
    out["MediaType"] = "Video"
    return out


def render_user(state: SimState, user: SimUser) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": user.name, "ServerId": state.server_id}
    if state.kind == "emby":
        out["DateCreated"] = net_datetime(user.date_created)
    out["Id"] = user.id
    out["HasPassword"] = True
    out["HasConfiguredPassword"] = True
    out["HasConfiguredEasyPassword"] = False
    out["EnableAutoLogin"] = False
    if user.last_login is not None:
        out["LastLoginDate"] = net_datetime(user.last_login)
        out["LastActivityDate"] = net_datetime(user.last_login)
    out["Configuration"] = default_configuration(state.kind)
    out["Policy"] = dict(user.policy)
    return out


def render_virtual_folder(state: SimState, library: SimLibrary) -> dict[str, Any]:
    options: dict[str, Any] = {
        "EnablePhotos": True,
        "EnableRealtimeMonitor": True,
        "PathInfos": [{"Path": p} for p in library.locations],
        "SaveLocalMetadata": False,
        "AutomaticRefreshIntervalDays": 0,
        "PreferredMetadataLanguage": "en",
        "MetadataCountryCode": "US",
    }
    out: dict[str, Any] = {"Name": library.name, "Locations": list(library.locations)}
    if library.collection_type:
        out["CollectionType"] = library.collection_type
    # LibraryManager.GetVirtualFolderInfo: Queued/Active while a refresh of it is pending.
    status = "Queued" if library.item_id in state.busy_libraries else "Idle"
    if state.kind == "jellyfin":
        out["LibraryOptions"] = {"Enabled": True, **options}
        out["ItemId"] = library.item_id
        out["PrimaryImageItemId"] = library.item_id
        out["RefreshStatus"] = status
    else:
        out["LibraryOptions"] = options
        out["ItemId"] = library.item_id
        out["Id"] = library.folder_id
        out["Guid"] = library.guid
        out["PrimaryImageItemId"] = library.item_id
        out["RefreshStatus"] = status
    return out


def render_public_info(state: SimState, local_address: str) -> dict[str, Any]:
    if state.kind == "jellyfin":
        return {
            "LocalAddress": local_address,
            "ServerName": state.server_name,
            "Version": state.version,
            "ProductName": "Jellyfin Server",
            "OperatingSystem": "",
            "Id": state.server_id,
            "StartupWizardCompleted": True,
        }
    return {
        "LocalAddress": local_address,
        "LocalAddresses": [local_address],
        "RemoteAddresses": [],
        "ServerName": state.server_name,
        "Version": state.version,
        "Id": state.server_id,
    }
