"""Per-user virtual libraries on disk: safe names, Kodi/Jellyfin NFO, and a diffing writer.

Pure filesystem code: no database, no media server. The `sync-movie-libraries` job
(`sidecar/movies/libraries.py`) feeds it and registers the folders in the media server.
"""
