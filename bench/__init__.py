"""Benchmarks that drive the whole bot; not tests (see README, "Performance")."""
