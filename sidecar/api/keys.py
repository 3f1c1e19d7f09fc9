"""Typed application keys: what the web app holds for its handlers."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from sidecar.api.poster_cache import PosterCache
from sidecar.jobs.queue import JobQueue
from sidecar.jobs.registry import JobRegistry
from sidecar.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", asyncpg.Pool)
QUEUE = web.AppKey("queue", JobQueue)
REGISTRY = web.AppKey("registry", JobRegistry)
POSTER_CACHE = web.AppKey("poster_cache", PosterCache)
