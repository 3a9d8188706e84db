"""rlm package."""
