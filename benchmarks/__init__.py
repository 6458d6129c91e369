"""Dossier benchmarks: `make bench` runs them all (see run.py)."""
