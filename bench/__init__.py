"""Benchmarks of veille: a synthetic web on loopback, a ceiling, a naive baseline and peers.

Run `python -m bench --size small|full`; see BENCHMARKS.md for the latest table.
"""
