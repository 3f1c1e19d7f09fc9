"""Benchmarks: `python -m bench.<name>`; each prints a table and saves bench/results/<name>.json."""
