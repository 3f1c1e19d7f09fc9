"""AI Picks sidecar: personal recommendation libraries for Jellyfin and Emby."""

__version__ = "0.1.0"
