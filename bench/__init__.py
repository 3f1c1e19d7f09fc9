"""Benchmarks and the recommendation quality harness: `python -m bench.<name>`; results in bench/results/."""
