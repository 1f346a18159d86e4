#!/usr/bin/env bash
# Runs `ansible-test sanity` on this collection: ansible-test wants it at
# ansible_collections/lava/deploy/, so a copy is laid out that way in a
# temporary directory. Arguments go to ansible-test (default: --python of
# this machine's python3).
#
# ansible-test bootstraps pip in each test's virtualenv with a get-pip script
# it downloads from its own file server, which the machines of this project
# cannot reach; a stand-in is put in its cache instead that installs pip
# from the pip wheel of the same version, fetched from the package index.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# The shellcheck sanity test needs Debian's shellcheck (ansible-test only
# warns and leaves the test out without it).
if ! command -v shellcheck >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck
  else
    echo "run-sanity.sh: please install shellcheck (apt-get install shellcheck)" >&2
    exit 1
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# ansible-test from a virtualenv of its own, so its requirements never land
# in the machine's python; ansible-core at the version the tests pin.
ansible_core="$(grep -E '^ansible-core==' "$here/../tools/test-requirements.txt")"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$ansible_core"
export PATH="$work/venv/bin:$PATH"

# The pip version ansible-test bootstraps (its default_packages).
pip_version="$("$work/venv/bin/python" -c '
import pathlib, re, ansible_test
text = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip=.([0-9.]+).", text).group(1))')"
cache="$HOME/.ansible/test/cache"
bootstrap="$cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$bootstrap" ]; then
  mkdir -p "$cache"
  "$work/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps -d "$cache" "pip==$pip_version"
  cat >"$bootstrap" <<EOF
# Stand-in for get-pip.py $pip_version: installs pip from its wheel beside this file.
import glob, os, sys
wheel = glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-$pip_version-*.whl"))[0]
sys.path.insert(0, wheel)
from pip._internal.cli.main import main
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall"] + args))
EOF
fi

mkdir -p "$work/ansible_collections/lava"
cp -r "$here" "$work/ansible_collections/lava/deploy"
find "$work/ansible_collections" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$work/ansible_collections/lava/deploy/tests/output"
cd "$work/ansible_collections/lava/deploy"
if [ $# -eq 0 ]; then
  set -- --python "$version"
fi
ansible-test sanity --venv "$@"
