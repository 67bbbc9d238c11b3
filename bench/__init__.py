"""Benchmarks and the hall-day simulator: ./qms bench NAME (not part of ./qms test)."""
