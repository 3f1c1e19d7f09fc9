-- Debounce cap: a queued run's start may slide back with each merged request, but never past this
-- (set when the run is created by a caller that limits the slide, e.g. webhook bursts).
ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS latest_start timestamptz;
