"""Benchmarks, one command each (``python -m bench.<name> [--quick] [--json]``), each measured against a
named peer in the same run."""
