"""Discovery (#19 point 2): titles that are not on the server, suggested per user and media kind from
TMDb's recommendations of what they like, scored with their taste; an admin may request one from
Jellyseerr/Overseerr. The job (`job.py`, defined in `definition.py`), its API (`routes.py`),
requests (`requests.py`)."""
