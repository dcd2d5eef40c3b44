"""Benchmarks (``make bench``). Each ``bench_*.py`` module has ``main()`` and records its section in
docs/benchmarks.md. Speeds are reported as ratios measured side by side in one run: machines are shared."""
