"""Named SQL of backup-database and GET /api/backups."""

RECORD_BACKUP = """
INSERT INTO database_backups (name, size_bytes, verified, verify_error, run_id)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (name) DO UPDATE SET size_bytes = $2, verified = $3, verify_error = $4, run_id = $5
"""

LIST_BACKUPS = "SELECT name, size_bytes, created_at, verified, verify_error FROM database_backups"

DELETE_BACKUP_ROWS = "DELETE FROM database_backups WHERE name = ANY($1::text[])"

SERVER_VERSION_NUM = "SELECT current_setting('server_version_num')::int"
