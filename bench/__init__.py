"""Benchmarks and the recommendation quality harness (`python -m bench.<name>`)."""
