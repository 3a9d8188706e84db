"""``python -m bench.rlm``: long-context QA after the RLM paper, every contender in one run (see __main__)."""
