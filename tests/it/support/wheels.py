"""Builds the wheels of the tests' package index.

    wheels.py wheel OUTDIR NAME VERSION [--dep REQ]... [--script NAME]...
    wheels.py installed OUTDIR DIST   # repackage an installed distribution (setuptools)
    wheels.py installed-with-deps OUTDIR DIST [--skip DIST]...
                                      # the same for DIST and, recursively, what it
                                      # requires on this python (setuptools-scm)

Each `--script NAME` adds a console script NAME that prints
"NAME from <package> <version>". Pure python, py3-none-any.
"""
import base64
import hashlib
import importlib.metadata
import os
import sys
import zipfile


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def write_wheel(outdir, name, version, files):
    dist = f"{name.replace('-', '_')}-{version}"
    path = os.path.join(outdir, f"{dist}-py3-none-any.whl")
    records = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for arcname, data in files:
            whl.writestr(arcname, data)
            records.append(record_line(arcname, data))
        record = f"{dist}.dist-info/RECORD"
        records.append(f"{record},,")
        whl.writestr(record, "\n".join(records) + "\n")
    print(path)


def wheel(outdir, name, version, deps, scripts):
    module = name.replace("-", "_")
    dist = f"{module}-{version}"
    meta = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {dep}" for dep in deps]
    # pip ignores an extra the metadata does not declare.
    import re
    extras = sorted(set(re.findall(r"extra\s*==\s*[\"']([^\"']+)", " ".join(deps))))
    meta += [f"Provides-Extra: {extra}" for extra in extras]
    code = f"VERSION = {version!r}\n\ndef main():\n    import sys\n    print(f'{{sys.argv[0].rsplit(\"/\", 1)[-1]}} from {name} {version}')\n"
    files = [
        (f"{module}/__init__.py", code.encode()),
        (f"{dist}.dist-info/METADATA", ("\n".join(meta) + "\n").encode()),
        (f"{dist}.dist-info/WHEEL", b"Wheel-Version: 1.0\nGenerator: lava-deploy-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    if scripts:
        entry = "[console_scripts]\n" + "".join(f"{s} = {module}:main\n" for s in scripts)
        files.append((f"{dist}.dist-info/entry_points.txt", entry.encode()))
    write_wheel(outdir, name, version, files)


def installed(outdir, dist_name):
    dist = importlib.metadata.distribution(dist_name)
    files = []
    for f in dist.files:
        if str(f).startswith("..") or "__pycache__" in str(f) or str(f).endswith("/RECORD"):
            continue
        files.append((str(f), f.locate().read_bytes()))
    write_wheel(outdir, dist.metadata["Name"], dist.version, files)


def installed_with_deps(outdir, dist_name, skip):
    # packaging is a dependency of what this is used for (setuptools-scm),
    # so it is there whenever the distribution is.
    from packaging.requirements import Requirement

    seen = {normalize(name) for name in skip}
    todo = [dist_name]
    while todo:
        name = todo.pop()
        if normalize(name) in seen:
            continue
        seen.add(normalize(name))
        installed(outdir, name)
        for line in importlib.metadata.requires(name) or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)


def normalize(name):
    return name.lower().replace("_", "-").replace(".", "-")


def main(argv):
    if argv[0] == "wheel":
        outdir, name, version = argv[1:4]
        deps, scripts, rest = [], [], argv[4:]
        while rest:
            flag, value, rest = rest[0], rest[1], rest[2:]
            (deps if flag == "--dep" else scripts).append(value)
        wheel(outdir, name, version, deps, scripts)
    elif argv[0] == "installed":
        installed(argv[1], argv[2])
    elif argv[0] == "installed-with-deps":
        skip = [value for flag, value in zip(argv[3::2], argv[4::2]) if flag == "--skip"]
        installed_with_deps(argv[1], argv[2], skip)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
