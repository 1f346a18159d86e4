"""Running commands (timed, bounded, in their own process group), the
environment benchmarked commands get, and the one-time setup."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


PROJECT = Path(__file__).resolve().parent.parent.parent
BENCH = PROJECT / "target" / "bench"
VENV = BENCH / "venv"
VENV_PACKAGES = ["vcstool", "setuptools<80", "west"]
TIME = "/usr/bin/time"
# Upper bound for any single command the benchmark runs (keeps every step bounded).
CMD_TIMEOUT = 600

SCENARIOS = ("cold", "warm", "upgrade", "python", "network", "big", "linkmode")
# Small repositories in the real-transport scenario (issue: 40 pinned repos).
NET_REPOS = 40


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# running commands


def run(cmd, env, cwd=None, check=True, stdin=None, timeout=CMD_TIMEOUT):
    """Runs cmd, returns (seconds, CompletedProcess); raises BenchError on failure."""
    cmd = [str(c) for c in cmd]
    start = time.perf_counter()
    # Own process group, so that a timeout or Ctrl-C also ends the command's children.
    child = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = child.communicate(input=stdin, timeout=timeout)
    except BaseException as exc:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass
        child.wait()
        if isinstance(exc, subprocess.TimeoutExpired):
            raise BenchError(f"timed out after {timeout}s: {shlex.join(cmd)}")
        raise
    elapsed = time.perf_counter() - start
    proc = subprocess.CompletedProcess(cmd, child.returncode, stdout, stderr)
    if check and proc.returncode != 0:
        tail = b"\n".join((proc.stderr or b"").splitlines()[-15:]).decode(errors="replace")
        out = b"\n".join((proc.stdout or b"").splitlines()[-5:]).decode(errors="replace")
        raise BenchError(
            f"command failed (exit {proc.returncode}): {shlex.join(cmd)}\n{out}\n{tail}"
        )
    return elapsed, proc


def run_rss(cmd, env, scratch, cwd=None):
    """Like run() but under /usr/bin/time -v: returns (seconds, max RSS KiB, proc)."""
    out = Path(scratch) / "time-v.txt"
    elapsed, proc = run([TIME, "-v", "-o", out] + list(cmd), env, cwd=cwd)
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.read_text())
    if not match:
        raise BenchError(f"no max RSS in {TIME} output")
    return elapsed, int(match.group(1)), proc


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


def mount_of(path):
    """(mount point, fs type) holding path, from /proc/mounts."""
    path = os.path.realpath(path)
    best = ("/", "?")
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mnt = parts[1].replace("\\040", " ")
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
                    best = (mnt, parts[2])
    except OSError:
        pass
    return best


def choose_tmpdir(requested):
    """--tmpdir, else /dev/shm when it is a tmpfs with room, else the system temp dir."""
    if requested:
        return requested
    shm = "/dev/shm"
    try:
        st = os.statvfs(shm)
        if (
            mount_of(shm)[1] == "tmpfs"
            and os.access(shm, os.W_OK)
            and st.f_bavail * st.f_frsize >= 4 << 30
        ):
            return shm
    except OSError:
        pass
    return tempfile.gettempdir()


def resolve_shim(path, prog, env):
    """pyenv shims cost ~0.15 s per call: use the real program behind them."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return path
    if head.startswith(b"#!") and b"pyenv" in head and shutil.which("pyenv", path=env["PATH"]):
        proc = subprocess.run(
            ["pyenv", "which", prog], env=env, capture_output=True, text=True, timeout=60
        )
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    return path


def bench_env():
    """The environment every benchmarked command gets: no LAVA_*/PIP_*/UV_* settings
    from the caller, pyenv shims for python3/uv replaced by the real directories."""
    drop = ("LAVA_", "PIP_", "UV_", "WEST_")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(drop)
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "GIT_DIR", "GIT_WORK_TREE")
    }
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    front = []
    resolved = {}
    for prog in ("python3", "uv", "git"):
        found = shutil.which(prog, path=env.get("PATH", ""))
        if not found:
            if prog == "uv":
                continue
            raise BenchError(f"{prog} is not on PATH")
        real = resolve_shim(found, prog, env)
        resolved[prog] = real
        if real != found and os.path.dirname(real) not in front:
            front.append(os.path.dirname(real))
    env["PATH"] = os.pathsep.join(front + [env.get("PATH", "")])
    return env, resolved


# --------------------------------------------------------------------------
# setup


def setup(args):
    BENCH.mkdir(parents=True, exist_ok=True)
    marker = VENV / ".bench-ready"
    want = " ".join(VENV_PACKAGES)
    ready = (
        marker.exists()
        and marker.read_text() == want
        and (VENV / "bin" / "vcs").exists()
        and (VENV / "bin" / "west").exists()
    )
    if not ready:
        log(f"setup: creating {VENV} with {want}")
        if not (VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=CMD_TIMEOUT)
        subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", *VENV_PACKAGES],
            check=True,
            timeout=CMD_TIMEOUT,
        )
        # vcstool imports pkg_resources: prove it works before recording success.
        subprocess.run([str(VENV / "bin" / "vcs"), "--version"], check=True, capture_output=True, timeout=60)
        subprocess.run([str(VENV / "bin" / "west"), "--version"], check=True, capture_output=True, timeout=60)
        marker.write_text(want)
    if not os.access(TIME, os.X_OK):
        log(f"setup: installing {TIME} (apt-get install time)")
        subprocess.run(["apt-get", "update"], check=True, timeout=CMD_TIMEOUT)
        subprocess.run(
            ["apt-get", "install", "-y", "time"],
            check=True,
            timeout=CMD_TIMEOUT,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
    if args.binary:
        binary = Path(args.binary).resolve()
    else:
        log("setup: cargo build --release")
        subprocess.run(["cargo", "build", "--release"], cwd=PROJECT, check=True, timeout=3600)
        binary = PROJECT / "target" / "release" / "lava-deploy"
    if not os.access(binary, os.X_OK):
        raise BenchError(f"no lava-deploy binary at {binary}")
    return binary
