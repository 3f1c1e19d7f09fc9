"""Clients of outside services (TMDb, OMDb, Trakt, Jellyseerr...): a core package.

`http.py` is the base every client shares (rate limit, bounded retries, typed errors, secrets kept
out of every text); a client is a subclass that declares its URL, its auth and its limits. Nothing
here imports a feature package: the jobs that use these clients live in `sidecar/enrichment/`,
`sidecar/discovery/`, `sidecar/trakt/`.
"""
