"""Complete default user policies and configurations, with each server's own key set."""

from __future__ import annotations

from typing import Any


def _access_and_playback(is_admin: bool) -> dict[str, Any]:
    """The run of keys both servers' policies share, in the same order (spliced in where it stands)."""
    return {
        "EnableUserPreferenceAccess": True,
        "AccessSchedules": [],
        "BlockUnratedItems": [],
        "EnableRemoteControlOfOtherUsers": is_admin,
        "EnableSharedDeviceControl": True,
        "EnableRemoteAccess": True,
        "EnableLiveTvManagement": is_admin,
        "EnableLiveTvAccess": True,
        "EnableMediaPlayback": True,
        "EnableAudioPlaybackTranscoding": True,
        "EnableVideoPlaybackTranscoding": True,
        "EnablePlaybackRemuxing": True,
    }


def _jellyfin_policy(is_admin: bool, is_disabled: bool, enabled_folders: list[str] | None) -> dict[str, Any]:
    return {
        "IsAdministrator": is_admin,
        "IsHidden": False,
        "EnableCollectionManagement": is_admin,
        "EnableSubtitleManagement": is_admin,
        "EnableLyricManagement": False,
        "IsDisabled": is_disabled,
        "BlockedTags": [],
        "AllowedTags": [],
        **_access_and_playback(is_admin),
        "ForceRemoteSourceTranscoding": False,
        "EnableContentDeletion": is_admin,
        "EnableContentDeletionFromFolders": [],
        "EnableContentDownloading": True,
        "EnableSyncTranscoding": True,
        "EnableMediaConversion": True,
        "EnabledDevices": [],
        "EnableAllDevices": True,
        "EnabledChannels": [],
        "EnableAllChannels": True,
        "EnabledFolders": list(enabled_folders or []),
        "EnableAllFolders": enabled_folders is None,
        "InvalidLoginAttemptCount": 0,
        "LoginAttemptsBeforeLockout": -1,
        "MaxActiveSessions": 0,
        "EnablePublicSharing": True,
        "BlockedMediaFolders": [],
        "BlockedChannels": [],
        "RemoteClientBitrateLimit": 0,
        "AuthenticationProviderId": "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider",
        "PasswordResetProviderId": "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider",
        "SyncPlayAccess": "CreateAndJoinGroups",
    }


def _emby_policy(is_admin: bool, is_disabled: bool, enabled_folders: list[str] | None) -> dict[str, Any]:
    return {
        "IsAdministrator": is_admin,
        "IsHidden": False,
        "IsHiddenRemotely": True,
        "IsHiddenFromUnusedDevices": False,
        "IsDisabled": is_disabled,
        "AllowTagOrRating": False,
        "BlockedTags": [],
        "IsTagBlockingModeInclusive": False,
        "IncludeTags": [],
        **_access_and_playback(is_admin),
        "EnableContentDeletion": is_admin,
        "RestrictedFeatures": [],
        "EnableContentDeletionFromFolders": [],
        "EnableContentDownloading": True,
        "EnableSubtitleDownloading": False,
        "EnableSubtitleManagement": False,
        "EnableSyncTranscoding": True,
        "EnableMediaConversion": True,
        "EnabledChannels": [],
        "EnableAllChannels": True,
        "EnabledFolders": list(enabled_folders or []),
        "EnableAllFolders": enabled_folders is None,
        "InvalidLoginAttemptCount": 0,
        "EnablePublicSharing": True,
        "BlockedMediaFolders": [],
        "RemoteClientBitrateLimit": 0,
        "AuthenticationProviderId": "Emby.Server.Implementations.Library.DefaultAuthenticationProvider",
        "ExcludedSubFolders": [],
        "SimultaneousStreamLimit": 0,
        "EnabledDevices": [],
        "EnableAllDevices": True,
        "AllowCameraUpload": True,
        "AllowSharingPersonalItems": False,
    }


def default_policy(
    kind: str, *, is_admin: bool = False, is_disabled: bool = False, enabled_folders: list[str] | None = None
) -> dict[str, Any]:
    """`enabled_folders=None` means every library (EnableAllFolders)."""
    build = _emby_policy if kind == "emby" else _jellyfin_policy
    return build(is_admin, is_disabled, enabled_folders)


def default_configuration(kind: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "AudioLanguagePreference": "eng",
        "PlayDefaultAudioTrack": True,
        "SubtitleLanguagePreference": "",
        "DisplayMissingEpisodes": False,
        "SubtitleMode": "Default",
        "OrderedViews": [],
        "LatestItemsExcludes": [],
        "MyMediaExcludes": [],
        "HidePlayedInLatest": True,
        "RememberAudioSelections": True,
        "RememberSubtitleSelections": True,
        "EnableNextEpisodeAutoPlay": True,
        "EnableLocalPassword": False,
    }
    if kind == "jellyfin":
        config.update({"GroupedFolders": [], "DisplayCollectionsView": False, "CastReceiverId": "F007D354"})
    else:
        config.update({"HidePlayedInMoreLikeThis": False, "HidePlayedInSuggestions": False})
    return config
