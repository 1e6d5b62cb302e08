"""Benchmarks: scripts that print figures and ratios (``python -m bench.<name>``).

Never asserted in tests: speed and memory are measured here, not in unit tests.
"""
