#!/usr/bin/env python3
"""Install to a Complete job: lava-deploy vs the by-hand script, same run.

    sudo python3 bench/lab.py [--runs 3] [--binary target/release/lava-deploy] [--keep]

Both sides build the same lab on this host from the fixture
../shared/fixtures/lava-2026.07.tar.gz and run one ssh job to Complete:

- lava-deploy: `install lab` (the built-in lava-server.toml, LAVA from a git
  repository of the fixture tagged 2026.07, an ssh device in the branch's
  devices/), the worker's token through `exec … workers details` and
  `secret set`, `install worker`, an admin token through `exec`, the job
  (examples/jobs/ssh-smoke.yaml) over the REST API until Finished;
- by hand: `lava-lab-by-hand.sh up` (it does all of that itself).

Timed from the first command to the job Finished, interleaved (lava, hand,
lava, …) after one untimed warm-up of each (so both find LAVA's
dependencies in the same uv cache). Also the job's submit-to-start latency
(start_time - submit_time on the server), the goal of issue 19 being < 2 s;
and the ratio lava/hand (goal <= 1.2). Needs root, postgresql, openssh-server,
uv, and the package index (uv installs LAVA's dependencies). Writes
target/bench/lab-results.md and .json.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures"
TARBALL = FIXTURES / "lava-2026.07.tar.gz"
BY_HAND = FIXTURES / "lava-lab-by-hand.sh"
UPSTREAM = "https://gitlab.com/lava/lava.git"


def log(msg):
    print(f"[lab-bench] {msg}", file=sys.stderr, flush=True)


def sh(cmd, env=None, cwd=None, stdin=None, timeout=1800):
    cmd = [str(c) for c in cmd]
    proc = subprocess.run(cmd, env=env, cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=timeout, start_new_session=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def kill_pidfile(path):
    try:
        os.kill(int(Path(path).read_text().split()[0]), signal.SIGTERM)
    except (OSError, ValueError, IndexError):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(repo, *args):
    return sh(["git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@example.org",
               "-c", "commit.gpgsign=false", *args])


def fixture_repo(scratch):
    repo = scratch / "lava.git-tree"
    repo.mkdir()
    sh(["tar", "xzf", TARBALL, "-C", repo, "--strip-components=1"])
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "LAVA 2026.07")
    git(repo, "tag", "2026.07")
    return repo


def start_dut(scratch):
    """An sshd on 127.0.0.1 that lets root in with a key: the ssh device."""
    dut = scratch / "dut"
    (dut / "results").mkdir(parents=True)
    for key in ["host_ed25519", "id_lava"]:
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dut / key])
    shutil.copy(dut / "id_lava.pub", dut / "authorized_keys")
    port = free_port()
    (dut / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {dut}/host_ed25519\nPidFile {dut}/sshd.pid\n"
        f"AuthorizedKeysFile {dut}/authorized_keys\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "Subsystem sftp /usr/lib/openssh/sftp-server\n")
    os.makedirs("/run/sshd", exist_ok=True)
    sh(["/usr/sbin/sshd", "-f", dut / "sshd_config", "-E", dut / "sshd.log"])
    top = Path(*dut.parts[:2])
    (dut / "results" / top.name).symlink_to(top)
    return dut, port


def lab_branch(scratch, repo, dut, ssh_port, ports, run):
    branch = scratch / f"branch-{run}"
    branch.mkdir()
    for name in ["lava-server.toml", "lava-worker.toml"]:
        text = (ROOT / "manifests" / name).read_text()
        (branch / name).write_text(text.replace(UPSTREAM, str(repo)))
    (branch / "lab.toml").write_text(
        '[manifest]\nextends = "lava-server.toml"\n\n[environment]\n'
        f'LAVA_SERVER_BIND = "127.0.0.1:{ports["http"]}"\n'
        f'LAVA_PUBLISHER_PORT = "{ports["ws"]}"\nLAVA_EVENT_PORT = "{ports["events"]}"\n')
    (branch / "lab-worker.toml").write_text(
        '[manifest]\nextends = "lava-worker.toml"\n\n[environment]\n'
        f'LAVA_SERVER_URL = "http://127.0.0.1:{ports["http"]}/"\n'
        f'LAVA_WORKER_WS_URL = "http://127.0.0.1:{ports["ws"]}/ws/"\nLAVA_WORKER_NAME = "bench-worker"\n')
    device = (ROOT / "examples/devices/ssh01.jinja2").read_text()
    for old, new in [("'worker1'", "'bench-worker'"), ("ssh_port = 22 ", f"ssh_port = {ssh_port} "),
                     ("'/root/.ssh/id_ed25519'", f"'{dut}/id_lava'"),
                     ("'/lava-%s'", f"'{dut}/results/lava-%s'")]:
        assert old in device, old
        device = device.replace(old, new)
    (branch / "devices").mkdir()
    (branch / "devices/ssh01.jinja2").write_text(device)
    git(branch, "init", "-q", "-b", "main")
    git(branch, "add", "-A")
    git(branch, "commit", "-qm", "lab")
    return branch


def api(base, token, path, body=None):
    request = urllib.request.Request(
        base + path, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def wait_finished(base, token, job_id, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api(base, token, f"/api/v0.2/jobs/{job_id}/")
        if job["state"] == "Finished":
            return job
        time.sleep(0.2)
    raise SystemExit(f"job {job_id} did not finish")


def latency(job):
    from datetime import datetime
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
    return (parse(job["start_time"]) - parse(job["submit_time"])).total_seconds()


def lava_run(binary, scratch, repo, dut, ssh_port, env, run):
    ports = {"http": free_port(), "ws": free_port(), "events": free_port()}
    branch = lab_branch(scratch, repo, dut, ssh_port, ports, run)
    root = scratch / f"root-{run}"
    lava = [binary, "--root", root]
    start = time.perf_counter()
    sh(lava + ["install", "lab", "--manifest-branch", branch, "--cfg", "lab.toml"], env)
    details = sh(lava + ["exec", "lab", "--", "lava-server", "manage", "workers", "details",
                         "bench-worker"], env)
    token = next(l.split(":", 1)[1].strip() for l in details.splitlines() if l.startswith("token"))
    sh(lava + ["secret", "set", "worker", "LAVA_WORKER_TOKEN"], env, stdin=token + "\n")
    sh(lava + ["install", "worker", "--manifest-branch", branch, "--cfg", "lab-worker.toml"], env)
    sh(lava + ["exec", "lab", "--", "lava-server", "manage", "users", "add", "--superuser",
               "--staff", "--passwd", "bench", "admin"], env)
    admin = sh(lava + ["exec", "lab", "--", "lava-server", "manage", "tokens", "add", "--user",
                       "admin"], env).strip()
    base = f"http://127.0.0.1:{ports['http']}"
    job_id = api(base, admin, "/api/v0.2/jobs/",
                 {"definition": (ROOT / "examples/jobs/ssh-smoke.yaml").read_text()})["job_ids"][0]
    job = wait_finished(base, admin, job_id)
    elapsed = time.perf_counter() - start
    if job["health"] != "Complete":
        raise SystemExit(f"lava-deploy's job ended {job['health']}")
    for name in ["worker", "lab"]:
        sh(lava + ["remove", name, "--yes"], env)
    shutil.rmtree(root, ignore_errors=True)
    return elapsed, latency(job)


def hand_run(scratch, env, run):
    where = scratch / f"hand-{run}"
    start = time.perf_counter()
    out = sh(["bash", BY_HAND, "up", where], env, cwd=scratch)
    elapsed = time.perf_counter() - start
    try:
        job_id = next(l.split()[1] for l in out.splitlines() if l.startswith("job "))
        token = (where / "admin.token").read_text().strip()
        job = api("http://127.0.0.1:18080", token, f"/api/v0.2/jobs/{job_id}/")
    finally:
        sh(["bash", BY_HAND, "down", where], env, cwd=scratch)
    shutil.rmtree(where, ignore_errors=True)
    return elapsed, latency(job)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="timed runs of each side (default 3)")
    p.add_argument("--binary", help="lava-deploy to time (default: cargo build --release)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("run as root: lava-run and the by-hand script insist")
    binary = args.binary
    if not binary:
        sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
        binary = ROOT / "target/release/lava-deploy"
    scratch = Path(tempfile.mkdtemp(prefix="lava-lab-bench-"))
    os.chmod(scratch, 0o755)  # the clusters run as postgres
    binary = shutil.copy(binary, scratch / "lava-deploy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAVA_", "UV_", "PIP_"))}
    env.update(LAVA_PYTHON_INSTALLER="uv", UV_CACHE_DIR=str(scratch / "uv-cache"),
               TARBALL=str(TARBALL))
    samples = {"lava": [], "hand": []}
    dut = None
    try:
        repo = fixture_repo(scratch)
        dut, ssh_port = start_dut(scratch)
        log("warm-up (untimed): both sides once, filling the uv cache")
        lava_run(binary, scratch, repo, dut, ssh_port, env, "warm")
        hand_run(scratch, env, "warm")
        for run in range(args.runs):
            for side in ["lava", "hand"]:
                result = (lava_run(binary, scratch, repo, dut, ssh_port, env, run) if side == "lava"
                          else hand_run(scratch, env, run))
                log(f"run {run + 1} {side}: {result[0]:.1f} s to Complete, "
                    f"submit-to-start {result[1]:.2f} s")
                samples[side].append(result)
    finally:
        if dut is not None:
            kill_pidfile(dut / "sshd.pid")
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    med = lambda side, i: statistics.median(s[i] for s in samples[side])
    ratio = med("lava", 0) / med("hand", 0)
    table = [
        "| | lava-deploy | by hand | ratio | goal |",
        "|---|---|---|---|---|",
        f"| install to a Complete job (median of {args.runs}) | {med('lava', 0):.1f} s | "
        f"{med('hand', 0):.1f} s | {ratio:.2f} | <= 1.2: {'PASS' if ratio <= 1.2 else 'FAIL'} |",
        f"| submit to start | {med('lava', 1):.2f} s | {med('hand', 1):.2f} s | | < 2 s: "
        f"{'PASS' if med('lava', 1) < 2 else 'FAIL'} |",
    ]
    load = os.getloadavg()
    text = "\n".join(table) + (
        f"\n\nsamples (s): lava {[round(s[0], 1) for s in samples['lava']]}, "
        f"hand {[round(s[0], 1) for s in samples['hand']]}; "
        f"{os.cpu_count()} cores, load {load[0]:.1f} at the end\n")
    print(text)
    out = ROOT / "target/bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "lab-results.md").write_text(text)
    (out / "lab-results.json").write_text(json.dumps(samples, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
