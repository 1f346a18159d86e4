"""zc.buildout itself as the oracle for lava-deploy's `*.cfg` reader.

Reads JSON lists of cases on stdin, one per line, each case {"dir": D,
"cfg": F}: D is the
manifest branch's root on disk, F the configuration inside it. For each case
zc.buildout's own `Buildout` object computes the effective configuration the
way `bin/buildout` would before installing anything:

- `Buildout(D/F, [], use_user_defaults=False)` run in F's directory, no
  extensions loaded;
- recipes are not run: the recipe loader is stubbed (the recipe spec is still
  parsed as a requirement, as the real loader does first). A recipe may set
  options of its own section at run time (`${instance:instance-path}`), so a
  reference to an option that a section with a recipe does not define stays
  literal instead of failing;
- then what `install` does before building: `parts` read, every part's
  section loaded (`recipe` required), the parts installed are the sections
  with a recipe that got loaded (named in `parts` or pulled in by reference);
- then the sections lava-deploy reads: `[git-repos]`, `[git-heads]`.

Answers each line with one JSON list: per case {"error": "..."} or the view
described in `effective()`. Paths under D are written as `<DIR>` so that both sides
can be compared whatever temporary directory the case lives in.
"""

import contextlib
import io
import json
import os
import sys

import zc.buildout.buildout as zb
import zc.buildout.easy_install as ze
import pkg_resources


class StubRecipe:
    def __init__(self, buildout, name, options):
        pass

    def install(self):
        return ()

    update = install


def stub_install_and_load(spec, group, entry, buildout):
    pkg_resources.Requirement.parse(spec)
    return StubRecipe


original_get = zb.Options.get


def get_with_recipe_options(self, option, default=None, seen=None):
    value = original_get(self, option, default, seen)
    # `seen` is only given by substitution; a recipe computes such options.
    if (
        value is None
        and seen is not None
        and self._raw.get("recipe")
        and option != "_buildout_section_name_"
    ):
        return "${%s:%s}" % (self.name, option)
    return value


zb._install_and_load = stub_install_and_load
zb.Options.get = get_with_recipe_options


def egg_view(spec, versions):
    requirement = pkg_resources.Requirement.parse(spec)
    constraint = versions.get(ze.canonicalize_name(requirement.project_name))
    if constraint:
        requirement = ze._constrained_requirement(constraint, requirement)
    specs = requirement.specs
    pin = specs[0][1] if len(specs) == 1 and specs[0][0] == "==" else None
    return {
        "name": requirement.unsafe_name,
        "extras": sorted(requirement.extras),
        "specifier": str(requirement.specifier),
        "marker": str(requirement.marker) if requirement.marker else None,
        "url": requirement.url,
        "pin": pin,
    }


def effective(buildout):
    options = buildout["buildout"]
    # What `install` does first: every part named in `parts` is loaded.
    conf_parts = options["parts"].split()
    for part in conf_parts:
        buildout[part]["recipe"]
    parts = list(buildout._parts)
    # Only the pins the configuration wrote (zc.buildout adds minimums for
    # itself and zc.recipe.egg).
    versions_name = buildout._raw["buildout"]["versions"]
    versions = {}
    if versions_name:
        annotated = buildout._annotated.get(versions_name, {})
        for key, value in buildout[versions_name].items():
            entry = annotated.get(key)
            if entry is not None and entry.source == "DEFAULT_VALUE":
                continue
            versions[ze.canonicalize_name(key)] = value
    constraints = ze.Installer._versions
    eggs = {}
    for part in parts:
        section = buildout[part]
        recipe = section["recipe"].split(":")[0].strip()
        value = section.get("eggs")
        if value is None:
            if recipe != "zc.recipe.egg":
                continue
            value = part
        lines = [line.strip() for line in value.split("\n") if line.strip()]
        eggs[part] = [egg_view(line, constraints) for line in lines]
    view = {
        "parts": parts,
        "eggs": eggs,
        "versions": versions,
        "allow-picked-versions": zb.bool_option(options, "allow-picked-versions"),
        "develop": (options.get("develop") or "").split(),
        "find-links": (options.get("find-links") or "").split(),
        "index": options.get("index"),
    }
    for name in ("git-repos", "git-heads"):
        view[name] = dict(buildout[name].items()) if name in buildout._raw else None
    return view


def run(case):
    directory = os.path.realpath(case["dir"])
    cfg = os.path.join(directory, case["cfg"])
    # Where bin/buildout runs: beside the configuration.
    os.chdir(os.path.dirname(cfg))
    try:
        buildout = zb.Buildout(cfg, [], use_user_defaults=False)
        view = effective(buildout)
    except BaseException as error:  # everything zc.buildout raises is an answer
        if isinstance(error, KeyboardInterrupt):
            raise
        return {"error": "%s: %s" % (type(error).__name__, error)}
    text = json.dumps(view)
    return json.loads(text.replace(json.dumps(directory)[1:-1], "<DIR>"))


def main():
    # One JSON list of cases per line in, one JSON list of answers per line
    # out, so that one process answers many batches.
    out = sys.stdout
    for line in sys.stdin:
        cases = json.loads(line)
        results = []
        # zc.buildout logs and prints to stdout; only the answers go there.
        with contextlib.redirect_stdout(io.StringIO()):
            for case in cases:
                results.append(run(case))
        out.write(json.dumps(results) + "\n")
        out.flush()


if __name__ == "__main__":
    sys.setrecursionlimit(400)
    main()
