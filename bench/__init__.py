"""Benchmarks (`make bench`): numbers go to docs/performance.md."""
