"""The generated workload: git repositories (fast-import streams), wheels,
manifests and the peers' files (.repos, west.yml), and the checks that a
run produced what it should."""

import base64
import glob
import hashlib
import io
import random
import re
import zipfile
from pathlib import Path

from .proc import BenchError, run


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
