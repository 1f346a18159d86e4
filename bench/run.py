#!/usr/bin/env python3
"""Benchmark harness for lava-deploy against its peers (vcstool, west, bare uv/pip).

Everything is generated locally (git repositories, wheels, a PEP 503 index on
127.0.0.1); after the one-time setup (a private venv under target/bench/ with
vcstool and west) the benchmark needs no network. See bench/README.md.
"""

import argparse
import base64
import contextlib
import glob
import hashlib
import http.server
import io
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

# The smart-HTTP handler the tests use too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "it", "support"))
import git_http  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
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


# --------------------------------------------------------------------------
# workload: git repositories

WORDS = (
    "lava server dispatcher device job test board boot kernel ramdisk dtb "
    "image deploy action pipeline worker master scheduler queue health check "
    "timeout retry power reset serial console login prompt shell result "
    "suite case measurement units pass fail skip unknown config template "
    "jinja yaml json value key string integer list dict parse render "
    "connection protocol lxc docker fastboot adb uboot grub ipxe tftp nfs "
    "http download overlay compress extract tar gzip xz checksum sha256 "
    "user group token admin api rest xmlrpc database migration model view"
).split()


def line_pool(seed=1234, count=4000):
    rng = random.Random(seed)
    pool = []
    for i in range(count):
        n = rng.randint(3, 12)
        words = " ".join(rng.choice(WORDS) for _ in range(n))
        indent = "    " * rng.randint(0, 2)
        pool.append(f"{indent}{words}  # {i}\n")
    return pool


def file_layout(idx):
    """~300 paths in a few subdirectories."""
    pkg = f"comp{idx:03d}"
    dirs = [
        (f"src/{pkg}", ".py", 60),
        (f"src/{pkg}/core", ".py", 50),
        (f"src/{pkg}/util", ".py", 40),
        ("tests", ".py", 60),
        ("docs", ".rst", 45),
        ("data", ".txt", 40),
    ]
    paths = ["README.md", "setup.cfg", "LICENSE", "Makefile"]
    for d, ext, count in dirs:
        paths += [f"{d}/mod_{j:03d}{ext}" for j in range(count)]
    return paths  # 299 files


def fi_data(payload):
    return b"data %d\n" % len(payload) + payload + b"\n"


def file_content(rng, pool, repo, path, rev):
    start = rng.randrange(len(pool) - 60)
    n = rng.randint(5, 55)
    text = f"# {repo}/{path} (revision {rev})\n" + "".join(pool[start : start + n])
    return text.encode()


def fast_import_stream(idx, pool, with_v2):
    """A git fast-import stream: 5 commits (tag v1 on the last), and for
    with_v2 one more commit tagged v2. Commit 5 is the same for every repo shape."""
    rng = random.Random(idx * 7919 + 1)
    name = f"repo{idx:03d}"
    paths = file_layout(idx)
    out = io.BytesIO()
    ts = 1_600_000_000 + idx
    ident = b"Bench <bench@lava-bench.invalid>"
    mark = 0

    def commit(msg, changes):
        nonlocal mark, ts
        mark += 1
        ts += 3600
        out.write(b"commit refs/heads/main\nmark :%d\n" % mark)
        out.write(b"author %s %d +0000\n" % (ident, ts))
        out.write(b"committer %s %d +0000\n" % (ident, ts))
        out.write(fi_data(msg.encode()))
        for path, content in changes:
            out.write(b"M 100644 inline %s\n" % path.encode())
            out.write(fi_data(content))
        return mark

    def tag(tagname, target):
        out.write(b"tag %s\nfrom :%d\n" % (tagname.encode(), target))
        out.write(b"tagger %s %d +0000\n" % (ident, ts))
        out.write(fi_data(f"{name} {tagname}".encode()))

    commit(f"{name}: initial import", [(p, file_content(rng, pool, name, p, 1)) for p in paths])
    last = None
    for rev in range(2, 6):
        changed = rng.sample(paths, 15)
        changes = [(p, file_content(rng, pool, name, p, rev)) for p in changed]
        changes.append((f"data/added_{rev}.txt", file_content(rng, pool, name, "added", rev)))
        last = commit(f"{name}: change {rev}", changes)
    tag("v1", last)
    if with_v2:
        changed = rng.sample(paths, 5)
        changes = [(p, file_content(rng, pool, name, p, 6)) for p in changed]
        changes.append(("CHANGES-v2.txt", b"only in v2\n"))
        v2 = commit(f"{name}: release 2", changes)
        tag("v2", v2)
    out.write(b"done\n")
    return out.getvalue()


def make_repos(base, count, env, jobs):
    """count bare repositories base/repoNNN (v1 tags; v2 on repo000)."""
    from concurrent.futures import ThreadPoolExecutor

    base.mkdir(parents=True, exist_ok=True)
    pool = line_pool()

    def one(idx):
        path = base / f"repo{idx:03d}"
        run(["git", "init", "-q", "--bare", "-b", "main", path], env)
        stream = fast_import_stream(idx, pool, with_v2=(idx == 0))
        run(["git", "-C", path, "fast-import", "--quiet", "--done"], env, stdin=stream)

    with ThreadPoolExecutor(max_workers=jobs) as ex:
        list(ex.map(one, range(count)))
    return [base / f"repo{i:03d}" for i in range(count)]


# --------------------------------------------------------------------------
# workload: wheels and a PEP 503 index


def make_wheel(dest, name, version="1.0"):
    filename = f"{name}-{version}-py3-none-any.whl"
    distinfo = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": (
            f'"""lava-deploy benchmark package {name}."""\n'
            f'__version__ = "{version}"\n\n\ndef hello():\n    return "{name}"\n'
        ).encode(),
        f"{distinfo}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            f"Summary: lava-deploy benchmark package\n\n"
        ).encode(),
        f"{distinfo}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: lava-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ).encode(),
        f"{distinfo}/top_level.txt": f"{name}\n".encode(),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{distinfo}/RECORD,,")
    files[f"{distinfo}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    blob = buf.getvalue()
    (dest / filename).write_bytes(blob)
    return filename, hashlib.sha256(blob).hexdigest()


# The cache headers the public index sends: pages may be reused for 10 minutes.
PAGE_CACHE = "max-age=600, public"
FILE_CACHE = "max-age=365000000, immutable, public"


class LocalHttpServer:
    """A threaded HTTP server on 127.0.0.1 with `handler`, serving while
    used as a context manager."""

    def __init__(self, handler):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class IndexServer(LocalHttpServer):
    """PEP 503 simple index on 127.0.0.1: /simple/<name>/ and /files/<wheel>."""

    def __init__(self, wheel_dir, wheels):
        projects = {}
        for name, (filename, sha) in wheels.items():
            projects[re.sub(r"[-_.]+", "-", name).lower()] = (filename, sha)
        files = {fn: (wheel_dir / fn).read_bytes() for fn, _ in projects.values()}
        root_page = "<!DOCTYPE html><html><body>\n" + "".join(
            f'<a href="/simple/{p}/">{p}</a>\n' for p in sorted(projects)
        ) + "</body></html>\n"

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # idle keep-alive connections end by themselves

            def log_message(self, *a):
                pass

            def send(self, code, body, ctype, cache=None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                if cache:
                    self.send_header("Cache-Control", cache)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?", 1)[0].split("#", 1)[0]
                parts = [p for p in path.split("/") if p]
                if parts == ["simple"]:
                    return self.send(200, root_page.encode(), "text/html", PAGE_CACHE)
                if len(parts) == 2 and parts[0] == "simple":
                    key = re.sub(r"[-_.]+", "-", parts[1]).lower()
                    if key in projects:
                        fn, sha = projects[key]
                        page = (
                            f"<!DOCTYPE html><html><body>\n"
                            f'<a href="/files/{fn}#sha256={sha}">{fn}</a>\n</body></html>\n'
                        )
                        return self.send(200, page.encode(), "text/html", PAGE_CACHE)
                if len(parts) == 2 and parts[0] == "files" and parts[1] in files:
                    return self.send(200, files[parts[1]], "application/octet-stream", FILE_CACHE)
                return self.send(404, b"not found\n", "text/plain")

            do_HEAD = do_GET

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}/simple"


class GitDaemon:
    """`git daemon` on 127.0.0.1 serving base (for --transport git)."""

    def __init__(self, base, env):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.cmd = [
            "git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
            f"--port={self.port}", f"--base-path={base}", "--max-connections=64", str(base),
        ]
        self.env = env
        self.url_base = f"git://127.0.0.1:{self.port}"
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.__exit__()
        raise BenchError("git daemon did not start")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class GitHttp(LocalHttpServer):
    """Smart HTTP on 127.0.0.1: `git http-backend` run as CGI for each request
    (what a web server does), serving the repositories under base."""

    def __init__(self, base, env):
        Handler = git_http.handler(base, env, timeout=CMD_TIMEOUT)
        super().__init__(Handler)
        self.url_base = f"http://127.0.0.1:{self.port}"


# --------------------------------------------------------------------------
# manifests


def lava_toml(sources, rev0="v1"):
    """sources: [(name, url)]; the first one is at rev0, the others at v1."""
    text = '[manifest]\ndescription = "bench"\n'
    for i, (name, url) in enumerate(sources):
        rev = rev0 if i == 0 else "v1"
        text += f'\n[components.{name}]\ngit = "{url}"\nrev = "{rev}"\n'
    return text


def python_toml(index_url, names):
    text = f'[manifest]\ndescription = "bench python"\n\n[python]\nindex-url = "{index_url}"\n'
    for name in names:
        text += f'\n[components.{name}]\npython = "1.0"\n'
    return text


def make_manifest_repo(path, sources, index_url, wheel_names, env):
    path.mkdir(parents=True)
    (path / "lava.toml").write_text(lava_toml(sources))
    (path / "python.toml").write_text(python_toml(index_url, wheel_names))
    run(["git", "init", "-q", "-b", "main", path], env)
    run(["git", "-C", path, "add", "-A"], env)
    run(["git", "-C", path, "commit", "-q", "-m", "bench manifest"], env)
    run(["git", "-C", path, "tag", "-a", "-m", "bench", "bench-1"], env)


def flip_manifest(path, sources, rev0, env):
    """Points repo000 at rev0 in a new manifest commit."""
    (path / "lava.toml").write_text(lava_toml(sources, rev0))
    run(["git", "-C", path, "commit", "-q", "-am", f"repo000 at {rev0}"], env)


def vcs_repos_file(path, sources):
    text = "repositories:\n"
    for name, url in sources:
        text += f"  {name}:\n    type: git\n    url: {url}\n    version: v1\n"
    path.write_text(text)


def west_yml(path, url_base, repos):
    text = (
        "manifest:\n  remotes:\n    - name: bench\n"
        f"      url-base: {url_base}\n"
        "  defaults:\n    remote: bench\n  projects:\n"
    )
    for repo in repos:
        text += f"    - name: {repo.name}\n      revision: v1\n      path: {repo.name}\n"
    text += "  self:\n    path: manifest\n"
    path.write_text(text)


def git_env_for_commits(env):
    e = dict(env)
    e.update(
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@lava-bench.invalid",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@lava-bench.invalid",
    )
    return e


# --------------------------------------------------------------------------
# checks


CHECK_FILE = "src/comp000/core/mod_000.py"


def verify_tree(root, repos, what):
    """Every component's tree is there, at v1 for repo000 (no CHANGES-v2.txt)."""
    for repo in (repos[0], repos[-1]):
        idx = int(repo.name[4:])
        f = Path(root) / repo.name / CHECK_FILE.replace("comp000", f"comp{idx:03d}")
        if not f.is_file():
            raise BenchError(f"{what}: {f} is missing after the checkout")
    n = sum(1 for r in repos if (Path(root) / r.name / "README.md").is_file())
    if n != len(repos):
        raise BenchError(f"{what}: only {n} of {len(repos)} trees checked out under {root}")
    if (Path(root) / repos[0].name / "CHANGES-v2.txt").exists():
        raise BenchError(f"{what}: repo000 is not at v1")


def lava_src(root, name):
    return Path(root) / "instances" / name / "code" / "current" / "src"


# --------------------------------------------------------------------------
# statistics and the report


def med(values):
    return statistics.median(values) if values else float("nan")


def fmt_time(s):
    if s != s:
        return "—"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


class Report:
    def __init__(self):
        self.rows = []  # (scenario, lava, peer, ratio, target, result)
        self.samples = {}  # name -> list of values
        self.notes = []

    def add_samples(self, name, value):
        self.samples.setdefault(name, []).append(value)

    def row(self, scenario, lava, peer, ratio, target, ok):
        result = "—" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append((scenario, lava, peer, ratio, target, result))

    def time_row(self, scenario, lava_key, peer_key, max_ratio=None, target=None):
        lava, peer = med(self.samples.get(lava_key, [])), med(self.samples.get(peer_key, []))
        ratio = lava / peer if peer == peer and peer > 0 else float("nan")
        ok = None if max_ratio is None or ratio != ratio else ratio <= max_ratio
        self.row(
            scenario,
            fmt_time(lava),
            fmt_time(peer),
            "—" if ratio != ratio else f"{ratio:.2f}×",
            target or "—",
            ok,
        )

    def error(self, scenario, err):
        msg = str(err).strip().splitlines()
        self.rows.append((scenario, "ERROR", "—", "—", "—", "FAIL"))
        self.notes.append(f"**{scenario}** failed: " + " / ".join(m for m in msg if m.strip())[:1200])

    def markdown(self, header):
        lines = list(header)
        lines += [
            "",
            "| scenario | lava median | peer median | ratio lava/peer | target | result |",
            "|---|---:|---:|---:|---|---|",
        ]
        for r in self.rows:
            lines.append("| " + " | ".join(r) + " |")
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        lines += ["", "Samples (median / min / max, n):", ""]
        for name, vals in self.samples.items():
            if name.endswith("rss_kib"):
                lines.append(
                    f"- `{name}`: {med(vals) / 1024:.1f} / {min(vals) / 1024:.1f} / "
                    f"{max(vals) / 1024:.1f} MiB, n={len(vals)}"
                )
            elif name.endswith("fetches"):
                lines.append(f"- `{name}`: {vals}")
            else:
                lines.append(
                    f"- `{name}`: {fmt_time(med(vals))} / {fmt_time(min(vals))} / "
                    f"{fmt_time(max(vals))}, n={len(vals)}"
                )
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# scenarios


class Bench:
    def __init__(self, args, binary, env, resolved, work):
        self.args = args
        self.lava = str(binary)
        self.env = env
        self.resolved = resolved
        self.work = work
        self.vcs = str(VENV / "bin" / "vcs")
        self.west = str(VENV / "bin" / "west")
        self.report = Report()
        self.roots = {}  # N -> lava root holding instance "bench" (from the last cold run)
        self.repos = {}  # N -> list of repo paths
        self.manifests = {}  # N -> manifest repo path
        self.sources = {}  # N -> [(name, url)]
        self.net_manifests = {}  # URL base -> manifests of the real-transport scenarios
        self.url_base = None  # where the component repositories are served from
        self.scratch = work / "scratch"
        self.scratch.mkdir()
        self.counter = 0
        # Benchmarked commands keep their temporary files in the workload too.
        tmp = work / "tmp"
        tmp.mkdir()
        self.env = dict(env, TMPDIR=str(tmp))
        self.on_tmpfs = mount_of(work)[1] == "tmpfs"
        self.trash = work / "trash"
        self.trash.mkdir()

    def discard(self, path):
        """Removes a finished tree. On a disk file system it is only moved aside and
        deleted at the end: ext4 makes file creation slow for minutes in block groups
        with many recently deleted inodes, which would slow down the next runs."""
        if not os.path.lexists(path):
            return
        if self.on_tmpfs:
            rmtree(path)
        else:
            self.counter += 1
            os.rename(path, self.trash / f"{self.counter:05d}")

    def timed(self, cmd, env, cwd=None):
        self.settle()
        return run(cmd, env, cwd=cwd)

    def timed_rss(self, cmd, env, scratch, cwd=None):
        self.settle()
        return run_rss(cmd, env, scratch, cwd=cwd)

    def settle(self):
        """Before a timed command on disk: write back what earlier steps left dirty."""
        if not self.on_tmpfs:
            os.sync()

    def fresh(self, prefix):
        self.counter += 1
        return self.work / f"{prefix}-{self.counter:04d}"

    def lava_cmd(self, root, *rest):
        cmd = [self.lava, "--root", root]
        if self.args.jobs_explicit:
            cmd += ["--jobs", str(self.args.jobs)]
        return cmd + list(rest)

    def lava_env(self, installer=None):
        env = dict(self.env)
        if installer:
            env["LAVA_PYTHON_INSTALLER"] = installer
        return env

    # ---- workload
    def generate(self):
        ns = self.args.repos
        started = time.perf_counter()
        repos_dir = self.work / "repos"
        count = max(ns + ([NET_REPOS] if "network" in self.args.scenarios else []))
        all_repos = make_repos(repos_dir, count, self.env, os.cpu_count() or 2)
        wheel_dir = self.work / "wheels"
        wheel_dir.mkdir()
        self.wheels = {}
        for i in range(self.args.wheels):
            name = f"pkg{i:02d}"
            self.wheels[name] = make_wheel(wheel_dir, name)
        self.wheel_dir = wheel_dir
        self.repos_dir = repos_dir
        log(f"workload: {count} repos and {len(self.wheels)} wheels in {time.perf_counter() - started:.1f}s")
        self.all_repos = all_repos

    def make_manifests(self, index_url):
        genv = git_env_for_commits(self.env)
        for n in self.args.repos:
            repos = self.all_repos[:n]
            self.repos[n] = repos
            self.sources[n] = [(r.name, f"{self.url_base}/{r.name}") for r in repos]
            m = self.work / f"manifest-n{n}"
            make_manifest_repo(m, self.sources[n], index_url, list(self.wheels), genv)
            self.manifests[n] = m
            vcs_repos_file(self.work / f"n{n}.repos", self.sources[n])
            wdir = self.work / f"west-n{n}"
            wdir.mkdir()
            west_yml(wdir / "west.yml", self.url_base, repos)

    # ---- a. cold install (+ f. peak memory)
    def cold(self, n):
        r = self.report
        repos = self.repos[n]
        manifest = self.manifests[n]
        root = None
        for i in range(self.args.runs):
            if root:
                self.discard(root)
            root = self.fresh("lava-root")
            t, rss, _ = self.timed_rss(
                self.lava_cmd(root, "install", "bench", "--manifest-branch", manifest),
                self.lava_env(),
                self.scratch,
            )
            verify_tree(lava_src(root, "bench"), repos, "lava-deploy install")
            r.add_samples(f"cold_n{n}_lava", t)
            r.add_samples(f"cold_n{n}_lava_rss_kib", rss)

            dest = self.fresh("vcs")
            dest.mkdir()
            tv, rssv, _ = self.timed_rss(
                [self.vcs, "import", "--workers", self.args.jobs, "--input", self.work / f"n{n}.repos", dest],
                self.env,
                self.scratch,
            )
            verify_tree(dest, repos, "vcs import")
            r.add_samples(f"cold_n{n}_vcs", tv)
            r.add_samples(f"cold_n{n}_vcs_rss_kib", rssv)
            self.discard(dest)

            ws = self.fresh("west-ws")
            (ws / "manifest").mkdir(parents=True)
            shutil.copy(self.work / f"west-n{n}" / "west.yml", ws / "manifest" / "west.yml")
            ti, _ = self.timed([self.west, "init", "-l", ws / "manifest"], self.env, cwd=ws)
            tw, rssw, _ = self.timed_rss([self.west, "update"], self.env, self.scratch, cwd=ws)
            verify_tree(ws, repos, "west update")
            r.add_samples(f"cold_n{n}_west_init", ti)
            r.add_samples(f"cold_n{n}_west_update", tw)
            r.add_samples(f"cold_n{n}_west_rss_kib", rssw)
            self.discard(ws)
            log(
                f"[cold N={n}] run {i + 1}/{self.args.runs}: lava {fmt_time(t)}, "
                f"vcs {fmt_time(tv)}, west init {fmt_time(ti)} + update {fmt_time(tw)}"
            )
        self.roots[n] = root

    # ---- b. warm install
    def warm(self, n):
        r = self.report
        root = self.roots.get(n)
        if root is None:
            root = self.fresh("lava-root")
            self.timed(self.lava_cmd(root, "install", "bench", "--manifest-branch", self.manifests[n]), self.lava_env())
            self.roots[n] = root
        src = lava_src(root, "bench").resolve()
        for i in range(self.args.runs):
            name = f"warm{i}"
            t, _ = self.timed(
                self.lava_cmd(root, "install", name, "--manifest-branch", self.manifests[n]),
                self.lava_env(),
            )
            verify_tree(lava_src(root, name), self.repos[n], "lava-deploy warm install")
            r.add_samples(f"warm_n{n}_lava", t)
            self.discard(root / "instances" / name)

            dest = self.fresh("cpal")
            tl, _ = self.timed(["cp", "-al", src, dest], self.env)
            r.add_samples(f"warm_n{n}_cp_al", tl)
            self.discard(dest)
            dest = self.fresh("cpr")
            tr, _ = self.timed(["cp", "-r", src, dest], self.env)
            r.add_samples(f"warm_n{n}_cp_r", tr)
            verify_tree(dest, self.repos[n], "cp -r")
            self.discard(dest)
            log(
                f"[warm N={n}] run {i + 1}/{self.args.runs}: lava {fmt_time(t)}, "
                f"cp -al {fmt_time(tl)}, cp -r {fmt_time(tr)}"
            )

    # ---- c. no-op upgrade, d. one-component upgrade
    def upgrade(self, n):
        r = self.report
        root = self.roots.get(n)
        manifest = self.manifests[n]
        if root is None:
            root = self.fresh("lava-root")
            self.timed(self.lava_cmd(root, "install", "bench", "--manifest-branch", manifest), self.lava_env())
            self.roots[n] = root
        genv = git_env_for_commits(self.env)
        current = "v1"
        for i in range(self.args.runs):
            t, proc = self.timed(self.lava_cmd(root, "upgrade", "bench"), self.lava_env())
            out = (proc.stdout + proc.stderr).decode(errors="replace")
            if "up to date" not in out:
                raise BenchError(f"no-op upgrade did not say 'up to date':\n{out[-2000:]}")
            r.add_samples(f"upgrade_n{n}_noop", t)

            current = "v2" if current == "v1" else "v1"
            flip_manifest(manifest, self.sources[n], current, genv)
            t1, proc = self.timed(self.lava_cmd(root, "upgrade", "bench"), self.lava_env())
            has_v2 = (lava_src(root, "bench") / "repo000" / "CHANGES-v2.txt").exists()
            if has_v2 != (current == "v2"):
                raise BenchError(f"one-component upgrade to {current} did not switch repo000")
            r.add_samples(f"upgrade_n{n}_one", t1)

            dest = self.fresh("clone")
            tc, _ = self.timed(["git", "clone", "-q", "--bare", self.sources[n][0][1], dest], self.env)
            r.add_samples(f"upgrade_n{n}_git_clone_one", tc)
            self.discard(dest)
            log(
                f"[upgrade N={n}] run {i + 1}/{self.args.runs}: no-op {fmt_time(t)}, "
                f"one component ({current}) {fmt_time(t1)}, git clone --bare of it {fmt_time(tc)}"
            )

        # fetch counting, with debug logs
        _, proc = self.timed(self.lava_cmd(root, "-v", "upgrade", "bench"), self.lava_env())
        r.add_samples(f"upgrade_n{n}_noop_fetches", count_fetches(proc, manifest))
        current = "v2" if current == "v1" else "v1"
        flip_manifest(manifest, self.sources[n], current, genv)
        _, proc = self.timed(self.lava_cmd(root, "-v", "upgrade", "bench"), self.lava_env())
        r.add_samples(f"upgrade_n{n}_one_fetches", count_fetches(proc, manifest))
        # Self-check of the counter: a branch is fetched on every resolve, so
        # `plan` with repo000 at "main" must log one fetch (it may refuse the
        # unpinned revision afterwards; that does not matter here).
        flip_manifest(manifest, self.sources[n], "main", genv)
        _, proc = run(self.lava_cmd(root, "-v", "plan", "bench"), self.lava_env(), check=False)
        r.add_samples(f"upgrade_n{n}_branch_plan_fetches", count_fetches(proc, manifest))
        # back to v1 so the manifest is as generated
        flip_manifest(manifest, self.sources[n], "v1", genv)

    # ---- e. python environment
    def python(self, installer, index_url):
        r = self.report
        n = self.args.repos[0]
        manifest = self.manifests[n]
        pkgs = [f"{name}==1.0" for name in self.wheels]
        python3 = shutil.which("python3", path=self.env["PATH"])
        uv = shutil.which("uv", path=self.env["PATH"])
        if installer == "uv" and not uv:
            raise BenchError("uv is not on PATH")

        def lava_install(root, name):
            t, _ = self.timed(
                self.lava_cmd(root, "install", name, "--manifest-branch", manifest, "--cfg", "python.toml"),
                self.lava_env(installer),
            )
            check_env(root / "instances" / name / "code" / "current" / "env", self.wheels)
            return t

        def bare_install(cache, venv):
            env = dict(self.env)
            if installer == "uv":
                env.update(UV_CACHE_DIR=str(cache), UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
                t1, _ = self.timed([uv, "venv", "--quiet", "--no-project", "--python", python3, venv], env)
                t2, _ = run(
                    [uv, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "--index-url", index_url]
                    + pkgs,
                    env,
                )
            else:
                env.update(PIP_CACHE_DIR=str(cache), PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
                t1, _ = self.timed([python3, "-m", "venv", venv], env)
                t2, _ = run([venv / "bin" / "pip", "install", "--quiet", "--index-url", index_url] + pkgs, env)
            check_env(venv, self.wheels)
            return t1 + t2

        # cold caches: a fresh lava root (cache included) / a fresh installer cache
        for i in range(self.args.runs):
            root = self.fresh("py-root")
            t = lava_install(root, "py")
            self.discard(root)
            cache, venv = self.fresh("py-cache"), self.fresh("py-venv")
            tb = bare_install(cache, venv)
            self.discard(cache)
            self.discard(venv)
            r.add_samples(f"python_{installer}_cold_lava", t)
            r.add_samples(f"python_{installer}_cold_bare", tb)
            log(f"[python {installer} cold] run {i + 1}/{self.args.runs}: lava {fmt_time(t)}, bare {fmt_time(tb)}")

        # warm caches: one lava root, a new instance each run; one installer cache
        root = self.fresh("py-root")
        cache = self.fresh("py-cache")
        lava_install(root, "warmup")
        venv = self.fresh("py-venv")
        bare_install(cache, venv)
        self.discard(venv)
        for i in range(self.args.runs):
            name = f"py{i}"
            t = lava_install(root, name)
            self.discard(root / "instances" / name)
            venv = self.fresh("py-venv")
            tb = bare_install(cache, venv)
            self.discard(venv)
            r.add_samples(f"python_{installer}_warm_lava", t)
            r.add_samples(f"python_{installer}_warm_bare", tb)
            log(f"[python {installer} warm] run {i + 1}/{self.args.runs}: lava {fmt_time(t)}, bare {fmt_time(tb)}")
        self.discard(root)
        self.discard(cache)


    # ---- g. real transports: 40 small repositories over git daemon / smart HTTP
    def network_manifest(self, served):
        """A manifest of NET_REPOS repositories (tag v1) served from `served`
        (a URL base for self.work), itself served too: its URL."""
        key = f"net-{served}"
        if key not in self.net_manifests:
            sources = [(r.name, f"{served}/repos/{r.name}") for r in self.all_repos[:NET_REPOS]]
            self.counter += 1
            path = self.work / "served" / f"manifest-net{self.counter}"
            make_manifest_repo(path, sources, "http://127.0.0.1:9/simple", [], git_env_for_commits(self.env))
            vcs_repos_file(self.work / f"{path.name}.repos", sources)
            self.net_manifests[key] = (f"{served}/served/{path.name}", sources, self.work / f"{path.name}.repos")
        return self.net_manifests[key]

    def network(self, transport, served):
        r = self.report
        jobs = self.args.jobs
        manifest_url, sources, repos_file = self.network_manifest(served)
        repos = self.all_repos[:NET_REPOS]
        root = None
        for i in range(self.args.runs):
            if root:
                self.discard(root)
            root = self.fresh("net-root")
            t, _ = self.timed(
                [self.lava, "--root", root, "--jobs", jobs, "install", "bench", "--manifest-branch", manifest_url],
                self.lava_env(),
            )
            verify_tree(lava_src(root, "bench"), repos, f"lava-deploy install over {transport}")
            r.add_samples(f"net_{transport}_lava", t)

            dest = self.fresh("shallow")
            dest.mkdir()
            tc = self.parallel_clones(
                [["git", "clone", "-q", "--depth", "1", "--branch", "v1", url, dest / name] for name, url in sources]
            )
            verify_tree(dest, repos, "git clone --depth 1")
            r.add_samples(f"net_{transport}_shallow", tc)
            self.discard(dest)

            dest = self.fresh("vcs")
            dest.mkdir()
            tv, _ = self.timed([self.vcs, "import", "--workers", jobs, "--input", repos_file, dest], self.env)
            verify_tree(dest, repos, f"vcs import over {transport}")
            r.add_samples(f"net_{transport}_vcs", tv)
            self.discard(dest)
            log(
                f"[{NET_REPOS} repos over {transport}] run {i + 1}/{self.args.runs}: lava {fmt_time(t)}, "
                f"{NET_REPOS} shallow clones ({jobs} at once) {fmt_time(tc)}, vcs import {fmt_time(tv)}"
            )
        for i in range(self.args.runs):
            t, proc = self.timed([self.lava, "--root", root, "upgrade", "bench"], self.lava_env())
            if b"up to date" not in proc.stdout:
                raise BenchError("no-op upgrade did not say 'up to date'")
            r.add_samples(f"net_{transport}_noop", t)
        _, proc = self.timed([self.lava, "--root", root, "-v", "upgrade", "bench"], self.lava_env())
        r.add_samples(f"net_{transport}_noop_fetches", count_fetches(proc, manifest_url))
        self.discard(root)

    def parallel_clones(self, commands):
        """Runs the commands with --jobs of them at once; the wall-clock time."""
        from concurrent.futures import ThreadPoolExecutor

        self.settle()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.args.jobs) as ex:
            list(ex.map(lambda cmd: run(cmd, self.env), commands))
        return time.perf_counter() - started

    # ---- h. a real, large repository (--big-repo) over git daemon / smart HTTP
    def big_setup(self):
        """A mirror of --big-repo in the served tree, its two tags, and a
        manifest repository pinning it (tag m-prev: the older tag, m-new and
        main: the newer one)."""
        if getattr(self, "big", None):
            return self.big
        served = self.work / "served"
        served.mkdir(exist_ok=True)
        repo = served / "big.git"
        started = time.perf_counter()
        run(["git", "clone", "-q", "--mirror", Path(self.args.big_repo).resolve(), repo], self.env)
        _, proc = run(
            ["git", "-C", repo, "for-each-ref", "--sort=creatordate", "--format=%(refname:short)", "refs/tags"],
            self.env,
        )
        tags = proc.stdout.decode().split()
        new = self.args.big_tag or ("2026.07" if "2026.07" in tags else (tags[-1] if tags else None))
        if new not in tags or tags.index(new) == 0:
            raise BenchError(f"--big-repo needs the tag {new!r} and one before it; it has {len(tags)} tags")
        prev = self.args.big_prev_tag or tags[tags.index(new) - 1]

        def rev_parse(rev):
            return run(["git", "-C", repo, "rev-parse", f"{rev}^{{commit}}"], self.env)[1].stdout.decode().strip()

        def file_count(rev):
            out = run(["git", "-C", repo, "ls-tree", "-r", "--name-only", rev], self.env)[1].stdout
            return len(out.splitlines())

        _, proc = run(["git", "-C", repo, "count-objects", "-v"], self.env)
        stats = dict(line.split(": ", 1) for line in proc.stdout.decode().splitlines())
        self.big = {
            "repo": repo,
            "new": new,
            "prev": prev,
            "new_commit": rev_parse(new),
            "files": file_count(new),
            "objects": int(stats.get("in-pack", 0)) + int(stats.get("count", 0)),
            "pack_mib": int(stats.get("size-pack", 0)) / 1024,
        }
        log(
            f"big repository: {self.big['objects']} objects, {self.big['pack_mib']:.0f} MiB packed; "
            f"{prev} -> {new} ({self.big['files']} files) in {time.perf_counter() - started:.1f}s"
        )
        return self.big

    def big_manifest(self, served):
        """The big manifest for one URL base: the GIT_URL placeholder filled
        in a copy of the manifest repository (one per transport)."""
        key = f"big-{served}"
        if key in self.net_manifests:
            return self.net_manifests[key]
        big = self.big_setup()
        self.counter += 1
        name = f"manifest-big{self.counter}"
        path = self.work / "served" / name
        genv = git_env_for_commits(self.env)
        run(["git", "init", "-q", "-b", "main", path], genv)
        for tag, mtag in ((big["prev"], "m-prev"), (big["new"], "m-new")):
            (path / "lava.toml").write_text(
                f'[manifest]\ndescription = "big"\n\n[components.big]\ngit = "{served}/served/big.git"\nrev = "{tag}"\n'
            )
            run(["git", "-C", path, "add", "-A"], genv)
            run(["git", "-C", path, "commit", "-q", "-m", f"big at {tag}"], genv)
            run(["git", "-C", path, "tag", mtag], genv)
        repos_file = self.work / f"{name}.repos"
        repos_file.write_text(
            f"repositories:\n  big:\n    type: git\n    url: {served}/served/big.git\n    version: {big['new']}\n"
        )
        self.net_manifests[key] = (f"{served}/served/{name}", repos_file)
        return self.net_manifests[key]

    def check_big(self, tree, what):
        big = self.big
        n = 0
        for d, dirs, files in os.walk(tree):
            if d == str(tree) and ".git" in dirs:
                dirs.remove(".git")  # a clone's own repository is not part of the tree
            # git lists a symlink to a directory as one entry; os.walk as a directory
            n += len(files) + sum(1 for x in dirs if os.path.islink(os.path.join(d, x)))
        if n != big["files"]:
            raise BenchError(f"{what}: {n} files in {tree}, the tag has {big['files']}")

    def big_repo(self, transport, served):
        r = self.report
        big = self.big_setup()
        manifest_url, repos_file = self.big_manifest(served)
        repo_url = f"{served}/served/big.git"
        root = None
        for i in range(self.args.runs):
            if root:
                self.discard(root)
            root = self.fresh("big-root")
            t, _ = self.timed(
                [self.lava, "--root", root, "install", "big", "--manifest-branch", manifest_url], self.lava_env()
            )
            self.check_big(lava_src(root, "big") / "big", "lava-deploy install")
            r.add_samples(f"big_{transport}_lava", t)

            dest = self.fresh("big-clone")
            tc, _ = self.timed(["git", "clone", "-q", "--depth", "1", "--branch", big["new"], repo_url, dest], self.env)
            self.check_big(dest, "git clone --depth 1")
            r.add_samples(f"big_{transport}_shallow", tc)
            self.discard(dest)

            line = f"[big repo over {transport}] run {i + 1}/{self.args.runs}: lava {fmt_time(t)}, clone --depth 1 {fmt_time(tc)}"
            if transport == "git":
                dest = self.fresh("big-vcs")
                dest.mkdir()
                tv, _ = self.timed([self.vcs, "import", "--workers", "1", "--input", repos_file, dest], self.env)
                self.check_big(dest / "big", "vcs import")
                r.add_samples(f"big_{transport}_vcs", tv)
                self.discard(dest)
                line += f", vcs import {fmt_time(tv)}"
            log(line)
        # no-op upgrade, following the manifest's default branch
        for i in range(self.args.runs):
            t, proc = self.timed([self.lava, "--root", root, "upgrade", "big"], self.lava_env())
            if b"up to date" not in proc.stdout:
                raise BenchError("no-op upgrade of the big repository did not say 'up to date'")
            r.add_samples(f"big_{transport}_noop", t)
        _, proc = self.timed([self.lava, "--root", root, "-v", "upgrade", "big"], self.lava_env())
        r.add_samples(f"big_{transport}_noop_fetches", count_fetches(proc, manifest_url))
        self.discard(root)
        if transport != "git":
            return
        # upgrade from the older tag to the newer one
        for i in range(self.args.runs):
            root = self.fresh("big-root")
            run([self.lava, "--root", root, "install", "big", "--manifest-branch", f"{manifest_url}#m-prev"], self.lava_env())
            t, _ = self.timed(
                [self.lava, "--root", root, "upgrade", "big", "--manifest-branch", f"{manifest_url}#m-new"],
                self.lava_env(),
            )
            lock = lava_src(root, "big").parent / "lava.lock"
            if f'commit = "{big["new_commit"]}"' not in lock.read_text():
                raise BenchError(f"upgrade to {big['new']} did not pin {big['new_commit']}")
            r.add_samples(f"big_{transport}_upgrade", t)
            self.discard(root)

            dest = self.fresh("big-clone")
            run(["git", "clone", "-q", "--depth", "1", "--branch", big["prev"], repo_url, dest], self.env)
            tf, _ = self.timed(["git", "-C", dest, "fetch", "-q", "--depth", "1", "origin", "tag", big["new"]], self.env)
            r.add_samples(f"big_{transport}_git_fetch", tf)
            self.discard(dest)
            log(
                f"[big repo upgrade {big['prev']} -> {big['new']}] run {i + 1}/{self.args.runs}: "
                f"lava {fmt_time(t)}, git fetch --depth 1 {fmt_time(tf)}"
            )

    # ---- i. link modes (issue #10): the one-component upgrade, copy vs hardlink
    def linkmode(self, n):
        r = self.report
        manifest = self.manifests[n]
        root = self.fresh("link-root")
        run(self.lava_cmd(root, "install", "bench", "--manifest-branch", manifest), self.lava_env())
        genv = git_env_for_commits(self.env)
        current = "v1"
        for i in range(self.args.runs):
            times = {}
            for mode in ("copy", "hardlink"):
                current = "v2" if current == "v1" else "v1"
                flip_manifest(manifest, self.sources[n], current, genv)
                t, _ = self.timed(self.lava_cmd(root, "upgrade", "bench"), dict(self.lava_env(), LAVA_LINK_MODE=mode))
                has_v2 = (lava_src(root, "bench") / "repo000" / "CHANGES-v2.txt").exists()
                if has_v2 != (current == "v2"):
                    raise BenchError(f"upgrade to {current} ({mode}) did not switch repo000")
                r.add_samples(f"link_n{n}_{mode}", t)
                times[mode] = t
            log(f"[link modes N={n}] run {i + 1}/{self.args.runs}: copy {fmt_time(times['copy'])}, hardlink {fmt_time(times['hardlink'])}")
        if current != "v1":
            flip_manifest(manifest, self.sources[n], "v1", genv)
        self.discard(root)

        tarball = Path(self.args.lava_tarball)
        if not tarball.is_file():
            raise BenchError(f"no LAVA tarball at {tarball} (--lava-tarball)")
        sha = hashlib.sha256(tarball.read_bytes()).hexdigest()
        path = self.fresh("manifest-lavatree")
        path.mkdir()
        small = self.all_repos[0]

        def write(rev):
            (path / "lava.toml").write_text(
                f'[manifest]\ndescription = "lava tree"\n\n[components.lava]\nurl = "file://{tarball.resolve()}"\n'
                f'sha256 = "{sha}"\n\n[components.small]\ngit = "{small}"\nrev = "{rev}"\n'
            )

        write("v1")
        run(["git", "init", "-q", "-b", "main", path], genv)
        run(["git", "-C", path, "add", "-A"], genv)
        run(["git", "-C", path, "commit", "-q", "-m", "lava tree"], genv)
        root = self.fresh("lavatree-root")
        run([self.lava, "--root", root, "install", "tree", "--manifest-branch", path], self.lava_env())
        tree = lava_src(root, "tree").resolve() / "lava"
        current = "v1"
        for i in range(self.args.runs):
            times = {}
            for mode in ("copy", "hardlink"):
                current = "v2" if current == "v1" else "v1"
                write(current)
                run(["git", "-C", path, "commit", "-q", "-am", f"small at {current}"], genv)
                t, _ = self.timed(
                    [self.lava, "--root", root, "upgrade", "tree"], dict(self.lava_env(), LAVA_LINK_MODE=mode)
                )
                r.add_samples(f"link_lava_{mode}", t)
                times[mode] = t
            tree = lava_src(root, "tree").resolve() / "lava"
            for flag, key in (("-r", "cp_r"), ("-al", "cp_al")):
                dest = self.fresh("cptree")
                tc, _ = self.timed(["cp", flag, tree, dest], self.env)
                r.add_samples(f"link_lava_{key}", tc)
                times[key] = tc
                self.discard(dest)
            log(
                f"[link modes, LAVA tree] run {i + 1}/{self.args.runs}: copy {fmt_time(times['copy'])}, "
                f"hardlink {fmt_time(times['hardlink'])}, cp -r {fmt_time(times['cp_r'])}, cp -al {fmt_time(times['cp_al'])}"
            )
        self.lava_tree_files = sum(len(f) for _, _, f in os.walk(tree))
        self.discard(root)


def count_fetches(proc, manifest):
    """`fetching <url>` debug lines for anything but the manifest repository."""
    text = (proc.stdout + proc.stderr).decode(errors="replace")
    count = 0
    for line in text.splitlines():
        m = re.search(r"fetching (\S+)\s*$", line)
        if not m:
            continue
        url = m.group(1).rstrip("/")
        if url.startswith("file://"):
            url = url[len("file://") :]
        if url in (str(manifest), str(manifest) + ".git"):
            continue
        count += 1
    return count


def check_env(env_dir, wheels):
    sites = glob.glob(str(env_dir / "lib" / "python*" / "site-packages"))
    if not sites:
        raise BenchError(f"no site-packages under {env_dir}")
    missing = [n for n in wheels if not (Path(sites[0]) / n / "__init__.py").is_file()]
    if missing:
        raise BenchError(f"{env_dir}: packages not installed: {', '.join(missing[:5])}")


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


def build_rows(bench, args):
    r = bench.report
    big = max(args.repos)
    for n in args.repos:
        if f"cold_n{n}_lava" in r.samples:
            strict = n == big and n >= 100
            r.time_row(f"cold install, {n} git components vs `vcs import -w {args.jobs}`",
                       f"cold_n{n}_lava", f"cold_n{n}_vcs",
                       1.0 if strict else None, "≤ 1.0×" if strict else "(N=100: ≤ 1.0×)")
            r.time_row(f"cold install, {n} git components vs `west update`",
                       f"cold_n{n}_lava", f"cold_n{n}_west_update",
                       0.5 if strict else None, "≤ 0.5×" if strict else "(N=100: ≤ 0.5×)")
    for n in args.repos:
        if f"warm_n{n}_lava" in r.samples:
            r.time_row(f"warm install (cache full), {n} components vs `cp -r` of src/",
                       f"warm_n{n}_lava", f"warm_n{n}_cp_r", 3.0, "≤ 3×")
            r.time_row(f"warm install (cache full), {n} components vs `cp -al` of src/",
                       f"warm_n{n}_lava", f"warm_n{n}_cp_al", None, "—")
    if f"upgrade_n{big}_noop" in r.samples:
        noop = med(r.samples[f"upgrade_n{big}_noop"])
        r.row(f"no-op upgrade, {big} pinned components", fmt_time(noop), "—", "—", "< 300 ms", noop < 0.3)
        fetches = r.samples.get(f"upgrade_n{big}_noop_fetches", [None])[-1]
        r.row(f"no-op upgrade, {big} components: component fetches (`-v`)",
              str(fetches), "—", "—", "= 0", fetches == 0)
        one = med(r.samples[f"upgrade_n{big}_one"])
        clone = med(r.samples.get(f"upgrade_n{big}_git_clone_one", []))
        r.row(f"one-component upgrade, {big} components vs the no-op upgrade",
              fmt_time(one), fmt_time(noop), f"{one / noop:.2f}×",
              f"≤ 2× no-op + its fetch ({fmt_time(2 * noop + clone)})", one <= 2 * noop + clone)
        one_fetches = r.samples.get(f"upgrade_n{big}_one_fetches", [None])[-1]
        check = r.samples.get(f"upgrade_n{big}_branch_plan_fetches", [None])[-1]
        if check != 1:
            r.notes.append(
                f"fetch counter self-check: `plan` with repo000 on a branch logged {check} "
                "`fetching <url>` lines instead of 1, so the fetch counts above may not be meaningful."
            )
        r.notes.append(
            f"one-component upgrade: 'its fetch' = median `git clone --bare` of repo000 ({fmt_time(clone)}); "
            f"a `-v` one-component upgrade (tag already cached) logged {one_fetches} component fetch(es)."
        )
    for inst in ("uv", "pip"):
        for cache in ("cold", "warm"):
            key = f"python_{inst}_{cache}"
            if f"{key}_lava" in r.samples:
                bare = (
                    "`uv venv` + `uv pip install`" if inst == "uv" else "`python3 -m venv` + `pip install`"
                )
                r.time_row(f"python env, {args.wheels} wheels, {inst}, {cache} cache vs {bare}",
                           f"{key}_lava", f"{key}_bare", 1.2, "≤ 1.2×")
    names = {"git": "git daemon", "http": "smart HTTP"}
    jobs = args.jobs
    for t in ("git", "http"):
        if f"big_{t}_lava" in r.samples:
            b = bench.big
            r.time_row(f"cold install, 1 big repository ({b['new']}) over {names[t]} vs `git clone --depth 1 --branch {b['new']}`",
                       f"big_{t}_lava", f"big_{t}_shallow", 1.3, "≤ 1.3×")
            if f"big_{t}_vcs" in r.samples:
                r.time_row(f"cold install, 1 big repository over {names[t]} vs `vcs import`",
                           f"big_{t}_lava", f"big_{t}_vcs", 0.3, "≤ 0.3×")
            if f"big_{t}_upgrade" in r.samples:
                r.time_row(f"upgrade {b['prev']} → {b['new']} over {names[t]} vs `git fetch --depth 1 origin tag {b['new']}`",
                           f"big_{t}_upgrade", f"big_{t}_git_fetch", 1.5, "≤ 1.5×")
            noop = med(r.samples[f"big_{t}_noop"])
            fetches = r.samples.get(f"big_{t}_noop_fetches", [None])[-1]
            r.row(f"no-op upgrade, big repository over {names[t]} (manifest on its default branch)",
                  f"{fmt_time(noop)}, {fetches} component fetches", "—", "—", "< 100 ms, 0",
                  noop < 0.1 and fetches == 0)
    for t in ("git", "http"):
        if f"net_{t}_lava" in r.samples:
            r.time_row(f"cold install, {NET_REPOS} repos over {names[t]} vs {NET_REPOS} × `git clone --depth 1`, {jobs} at once",
                       f"net_{t}_lava", f"net_{t}_shallow", 1.2, "≤ 1.2×")
            r.time_row(f"cold install, {NET_REPOS} repos over {names[t]} vs `vcs import -w {jobs}`",
                       f"net_{t}_lava", f"net_{t}_vcs", 0.5, "≤ 0.5×")
            noop = med(r.samples[f"net_{t}_noop"])
            fetches = r.samples.get(f"net_{t}_noop_fetches", [None])[-1]
            r.row(f"no-op upgrade, {NET_REPOS} repos over {names[t]} (manifest on its default branch)",
                  f"{fmt_time(noop)}, {fetches} component fetches", "—", "—", "< 100 ms, 0",
                  noop < 0.1 and fetches == 0)
    if f"link_n{big}_copy" in r.samples:
        r.time_row(f"one-component upgrade, {big} components, `LAVA_LINK_MODE=copy` vs `hardlink`",
                   f"link_n{big}_copy", f"link_n{big}_hardlink")
    if "link_lava_copy" in r.samples:
        files = getattr(bench, "lava_tree_files", "?")
        r.time_row(f"upgrade beside the unchanged LAVA tree ({files} files, url component), `copy` vs `cp -r` of the tree",
                   "link_lava_copy", "link_lava_cp_r")
        r.time_row("upgrade beside the unchanged LAVA tree, `hardlink` vs `cp -al` of the tree",
                   "link_lava_hardlink", "link_lava_cp_al")
        r.time_row("upgrade beside the unchanged LAVA tree, `copy` vs `hardlink`",
                   "link_lava_copy", "link_lava_hardlink")
    key = f"cold_n{big}_lava_rss_kib"
    if key in r.samples:
        peak = max(r.samples[key]) / 1024
        vcs_peak = max(r.samples.get(f"cold_n{big}_vcs_rss_kib", [float("nan")])) / 1024
        r.row(f"peak memory (max RSS), cold install of {big} components vs `vcs import`",
              f"{peak:.1f} MiB", f"{vcs_peak:.1f} MiB" if vcs_peak == vcs_peak else "—",
              f"{peak / vcs_peak:.2f}×" if vcs_peak == vcs_peak else "—",
              "< 100 MiB", peak < 100)
    if any(k.startswith("cold_") for k in r.samples):
        r.notes.append(
            "cold install peer times are `vcs import` alone and `west update` alone; "
            "`west init -l` (median "
            + fmt_time(med([v for k, vs in r.samples.items() if k.endswith("west_init") for v in vs]))
            + ") is not counted. lava-deploy's time includes cloning the manifest repository."
        )
    if max(args.repos) < 100:
        r.notes.append("the targets are stated for N=100; this run's largest N is %d." % big)


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
        build_rows(bench, args)
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
    return 1 if any(row[-1] == "FAIL" and row[1] == "ERROR" for row in bench.report.rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as err:
        log(f"error: {err}")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
