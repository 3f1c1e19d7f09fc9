"""Global jobs: what needs only the media server and the database (users, Top Picks, backups,
housekeeping) and the run notifications. A feature package: registered by the composition root."""
