"""A synthetic crowd: espeak-ng speakers, noisy takes with known defects, and a client of the HTTP API.

The package talks to the collector only over HTTP (`simulation.client`); the take generator
(`simulation.takes`) is pure and shared by `wordcrowd simulate` and benchmarks/ingest_rules.py.
"""
