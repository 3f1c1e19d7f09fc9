"""Trakt integration (issue #19): a user links their Trakt account with the device-code flow from the
page (`routes.py`, `link.py`), tokens stored encrypted (`tokens.py`); the `sync-trakt` job
(`job.py`, `importer.py`) imports their ratings and watch history for titles on the server into
`imported_plays`/`imported_ratings`, which the recommender merges with the server's own plays.

A feature package: the composition root registers its job and routes; core never imports it.
"""
