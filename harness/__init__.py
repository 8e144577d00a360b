"""What the tests and the benchmarks share: local servers, sites and generated pages, the
`newsdesk` and Prefect processes they start and kill, and the checks they make afterwards.

Not part of the wheel: `tests/` and `bench/` import it from the repository root (pytest's
`pythonpath`, or `python -m bench.X`).
"""
