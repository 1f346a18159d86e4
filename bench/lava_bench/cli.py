"""The command line: options, the machine header, the run of the chosen
scenarios and the report."""

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .proc import BENCH, NET_REPOS, PROJECT, SCENARIOS, VENV, BenchError, bench_env, choose_tmpdir, log, mount_of, rmtree, setup
from . import targets
from .scenarios import Bench
from .servers import GitDaemon, GitHttp, IndexServer


# --------------------------------------------------------------------------
# main


def machine_header(args, binary, env, resolved, built_from):
    def out(cmd):
        try:
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except Exception as exc:  # noqa: BLE001 - informational only
            return f"? ({exc})"

    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        "# lava-deploy benchmark",
        "",
        f"- machine: nproc {os.cpu_count()}, CPU {model}, kernel {platform.release()}",
        f"- lava-deploy: {out([str(binary), '--version'])}, copy of `{built_from}` "
        f"(sha256 {hashlib.sha256(Path(binary).read_bytes()).hexdigest()[:12]}"
        + (
            f", project at {out(['git', '-C', str(PROJECT), 'describe', '--always', '--dirty'])})"
            if not args.binary
            else ")"
        ),
        f"- peers: {out([str(VENV / 'bin' / 'vcs'), '--version'])} (`vcs import --workers {args.jobs}`), "
        f"west {out([str(VENV / 'bin' / 'west'), '--version']).split()[-1]} (`west update`, sequential: west has no --jobs), "
        f"{out(['git', '--version'])}",
        f"- python3: `{resolved.get('python3')}` ({out(['python3', '--version'])}), "
        f"uv: `{resolved.get('uv')}` ({out(['uv', '--version'])})",
        f"- workload: {len(args.repos) and ', '.join(str(n) for n in args.repos)} git repos x ~300 files x 5-6 commits; "
        f"{args.wheels} wheels from a local index; runs={args.runs} (interleaved); "
        f"repositories named by {'plain path' if args.transport == 'path' else 'git:// URL (git daemon on 127.0.0.1)'}; "
        f"lava-deploy --jobs {args.jobs}{'' if args.jobs_explicit else ' (its default)'}",
    ]
    return lines


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark lava-deploy against vcstool, west and the bare python installers. "
        "Setup (cached under target/bench/): a venv with vcstool+west, /usr/bin/time, "
        "cargo build --release. Results: stdout and target/bench/results.md.",
    )
    p.add_argument("--repos", help="comma-separated numbers of git components (default 20,100; --quick: 20)")
    p.add_argument("--wheels", type=int, help="number of wheels in the python scenario (default 30; --quick: 10)")
    p.add_argument("--runs", type=int, help="timed runs per measurement, interleaved (default 5; --quick: 3)")
    p.add_argument("--quick", action="store_true", help="runs=3, N=20 only, 10 wheels (about 3 minutes)")
    p.add_argument("--jobs", type=int, help="parallelism: vcs import --workers, and lava-deploy --jobs if given (default 4 = lava-deploy's default)")
    p.add_argument(
        "--transport",
        choices=("path", "git"),
        default="path",
        help="how the component repositories are named: plain paths (default; git clone then "
        "hardlinks objects, libgit2 packs them in-process) or git:// URLs of a `git daemon` on 127.0.0.1",
    )
    p.add_argument(
        "--big-repo",
        help="a local clone (bare or not) of a large repository, e.g. LAVA's: served with git daemon and "
        "smart HTTP for the 'big' scenario (skipped without it)",
    )
    p.add_argument("--big-tag", help="the tag installed from --big-repo (default 2026.07 when it has it, else its newest tag)")
    p.add_argument("--big-prev-tag", help="the tag the upgrade starts from (default: the tag before --big-tag)")
    p.add_argument(
        "--lava-tarball",
        default=str(PROJECT.parent / "shared" / "fixtures" / "lava-2026.07.tar.gz"),
        help="the LAVA source tree as .tar.gz, a url component in the 'linkmode' scenario (default: %(default)s)",
    )
    p.add_argument(
        "--net-transports",
        default="git,http",
        help="transports of the 'network' and 'big' scenarios: git (git daemon), http (git http-backend); default git,http",
    )
    p.add_argument("--binary", help="lava-deploy binary to use (default: cargo build --release)")
    p.add_argument("--keep", action="store_true", help="keep the temporary workload directory")
    p.add_argument(
        "--no-gate",
        action="store_true",
        help="exit 0 even when a target is missed (a scenario that fails to run still exits 1)",
    )
    p.add_argument(
        "--tmpdir",
        help="where to create the workload directory (default: /dev/shm when it is a tmpfs "
        "with 4 GiB free, else the system temp dir)",
    )
    p.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)} (default: all)",
    )
    args = p.parse_args(argv)
    args.repos = [int(x) for x in (args.repos or ("20" if args.quick else "20,100")).split(",") if x.strip()]
    if not args.repos or min(args.repos) < 1:
        p.error("--repos needs positive numbers")
    args.repos = sorted(set(args.repos))
    args.wheels = args.wheels if args.wheels is not None else (10 if args.quick else 30)
    args.runs = args.runs if args.runs is not None else (3 if args.quick else 5)
    if args.runs < 1 or args.runs > 100 or args.wheels < 1 or args.wheels > 100:
        p.error("--runs and --wheels must be in 1..100")
    args.jobs_explicit = args.jobs is not None
    args.jobs = args.jobs or 4
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.net_transports = [t.strip() for t in args.net_transports.split(",") if t.strip()]
    if any(t not in ("git", "http") for t in args.net_transports):
        p.error("--net-transports takes git and/or http")
    for s in args.scenarios:
        if s not in SCENARIOS:
            p.error(f"unknown scenario {s!r}")
    return args


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    binary = setup(args)
    env, resolved = bench_env()
    work = Path(tempfile.mkdtemp(prefix="lava-bench-", dir=choose_tmpdir(args.tmpdir))).resolve()
    log(f"workload directory: {work}")
    # A private copy: others may rebuild target/release/lava-deploy while this runs.
    (work / "bin").mkdir()
    built_from = binary
    binary = work / "bin" / "lava-deploy"
    shutil.copy2(built_from, binary)
    header = machine_header(args, binary, env, resolved, built_from)
    load_before = os.getloadavg()
    mnt, fstype = mount_of(work)
    header.append(f"- workload directory: `{work}` ({fstype} at {mnt})")
    log("\n".join(header))
    bench = Bench(args, binary, env, resolved, work)
    try:
        bench.generate()
        with contextlib.ExitStack() as stack:
            index = stack.enter_context(IndexServer(bench.wheel_dir, bench.wheels))
            if args.transport == "git":
                bench.url_base = stack.enter_context(GitDaemon(bench.repos_dir, env)).url_base
            else:
                bench.url_base = str(bench.repos_dir)
            bench.make_manifests(index.url)
            steps = []
            for n in args.repos:
                if "cold" in args.scenarios:
                    steps.append((f"cold install N={n}", lambda n=n: bench.cold(n)))
                if "warm" in args.scenarios:
                    steps.append((f"warm install N={n}", lambda n=n: bench.warm(n)))
            if "upgrade" in args.scenarios:
                big = max(args.repos)
                steps.append((f"upgrade N={big}", lambda: bench.upgrade(big)))
            if "python" in args.scenarios:
                for inst in ("uv", "pip"):
                    steps.append((f"python env {inst}", lambda inst=inst: bench.python(inst, index.url)))
            served = {}
            if {"network", "big"} & set(args.scenarios):
                # Real transports serve the whole workload directory.
                if "git" in args.net_transports:
                    served["git"] = stack.enter_context(GitDaemon(work, env)).url_base
                if "http" in args.net_transports:
                    served["http"] = stack.enter_context(GitHttp(work, env)).url_base
            if "network" in args.scenarios:
                for transport, base in served.items():
                    steps.append(
                        (f"{NET_REPOS} repos over {transport}", lambda t=transport, b=base: bench.network(t, b))
                    )
            if "big" in args.scenarios and args.big_repo:
                for transport, base in served.items():
                    steps.append((f"big repository over {transport}", lambda t=transport, b=base: bench.big_repo(t, b)))
            elif "big" in args.scenarios:
                bench.report.notes.append("big repository: skipped (no --big-repo PATH)")
            if "linkmode" in args.scenarios:
                big = max(args.repos)
                steps.append((f"link modes N={big}", lambda: bench.linkmode(big)))
            for title, step in steps:
                try:
                    step()
                except BenchError as err:
                    log(f"[{title}] FAILED: {err}")
                    bench.report.error(title, err)
        for row in targets.rows(args, bench):
            bench.report.row(*row)
        bench.report.notes += targets.notes(args, bench)
    finally:
        if args.keep:
            log(f"kept the workload in {work}")
        else:
            rmtree(work)
    header.append(f"- total benchmark time: {time.perf_counter() - started:.0f} s")
    load_after = os.getloadavg()
    header.append(
        "- load average (1/5/15 min) at the start: "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", at the end: "
        + " ".join(f"{x:.2f}" for x in load_after)
        + " (2 cores shared: others' builds show here)"
    )
    if getattr(bench, "big", None):
        b = bench.big
        header.append(
            f"- big repository: `{args.big_repo}`, {b['objects']} objects, {b['pack_mib']:.0f} MiB packed; "
            f"install at {b['new']} ({b['files']} files), upgrade from {b['prev']}"
        )
    text = bench.report.markdown(header)
    print(text)
    BENCH.mkdir(parents=True, exist_ok=True)
    (BENCH / "results.md").write_text(text)
    (BENCH / "results.json").write_text(json.dumps(bench.report.samples, indent=1))
    log(f"written {BENCH / 'results.md'}")
    failed = [row for row in bench.report.rows if row[-1] == "FAIL"]
    errors = [row for row in failed if row[1] == "ERROR"]
    if errors:
        log(f"{len(errors)} scenario(s) failed to run")
        return 1
    if failed:
        log(f"{len(failed)} target(s) missed" + (" (not gated: --no-gate)" if args.no_gate else ""))
        return 0 if args.no_gate else 1
    return 0


def entry(argv=None):
    """The exit code of a run: 0, 1 (a target missed, unless --no-gate, or
    a scenario failed), 2 (the benchmark itself could not run), 130."""
    try:
        return main(argv)
    except BenchError as err:
        log(f"error: {err}")
        return 2
    except KeyboardInterrupt:
        return 130
