"""Side-by-side benchmarks of `stack` against Docker Compose v2 on the same daemon.

Run `python -m bench` from the repository root (see `python -m bench --help`). Each scenario runs
alternately with stack and with docker-compose (A B A B ...), a warm-up round then N counted rounds,
and is reported as ratios taken pair by pair: these machines are noisy, ratios of neighbours less so.
"""
