"""The scenarios: each times lava-deploy and its peers, interleaved, into
samples of the report (the targets they are judged by are in targets.py)."""

import hashlib
import os
import shutil
import time
from pathlib import Path

from .proc import NET_REPOS, VENV, BenchError, log, mount_of, rmtree, run, run_rss
from .report import Report, fmt_time
from .workloads import (
    check_env,
    count_fetches,
    flip_manifest,
    git_env_for_commits,
    lava_src,
    make_manifest_repo,
    make_repos,
    make_wheel,
    vcs_repos_file,
    verify_tree,
    west_yml,
)


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
