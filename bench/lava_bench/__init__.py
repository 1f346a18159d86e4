"""lava-deploy's benchmark harness; `bench/run.py` is its command line (see bench/README.md)."""
