"""``python -m bench.retrieval``: retrieval quality per search mode and speed against raw libraries.

Nothing is imported here so that ``python -m bench.retrieval --help`` stays instant.
"""
