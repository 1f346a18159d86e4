#!/usr/bin/env python3
"""Benchmark harness for lava-deploy against its peers (vcstool, west, bare uv/pip).

Everything is generated locally (git repositories, wheels, a PEP 503 index on
127.0.0.1); after the one-time setup (a private venv under target/bench/ with
vcstool and west) the benchmark needs no network. See bench/README.md.

The code is the package beside this file, `lava_bench/`: `proc` (running
commands, setup), `workloads` (repositories, wheels, manifests, checks),
`servers` (index, git daemon, smart HTTP), `scenarios` (what is timed),
`targets` (what each scenario's samples are judged by, as data), `report`
(the table) and `cli` (options, the run). A missed target makes the run
exit 1 unless `--no-gate`.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lava_bench.cli import entry  # noqa: E402

if __name__ == "__main__":
    sys.exit(entry())
