"""Benchmarks of Touchstone (not tests): ``python -m bench.records`` measures the records service."""
