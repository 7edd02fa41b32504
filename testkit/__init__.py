"""Test doubles and process helpers that the tests and the benchmarks share (not shipped).

`telegram_server` is a Bot API server on 127.0.0.1; `process` runs `python -m bot` against it.
"""
