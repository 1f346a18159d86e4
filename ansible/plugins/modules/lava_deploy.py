#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, the lava-deploy authors
# MIT License (see LICENSE in the lava-deploy repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: lava_deploy
short_description: Install, upgrade or remove a lava-deploy service instance
description:
  - Drives the C(lava-deploy) binary on the managed host to bring a named
    instance (a LAVA server, a LAVA worker or any service described by a
    lava-deploy manifest) to the state the manifest branch describes.
  - With O(state=present) the instance is installed when it does not exist
    yet (or its first install did not finish) and upgraded otherwise. An
    upgrade builds nothing when the resolved pins did not change, so running
    the module again reports no change.
  - The result is the binary's own C(--json) report. A release whose
    C(post-switch) or C(check) hook fails is rolled back by the binary
    itself; the module then fails and returns RV(rolled_back) and
    RV(failed_release).
  - Check mode asks the binary for its plan (C(lava-deploy plan --json)) and
    changes nothing in the instance (the binary may fill its shared cache
    under the root while resolving). Diff mode shows every component's pin
    before and after, one line per component, and every changed service
    setting. When the run would be refused (pins whose release failed, a
    required secret not set), check mode reports no change, warns with the
    binary's message and returns RV(refusal).
version_added: "0.1.0"
author:
  - lava-deploy authors (!UNKNOWN)
requirements:
  - the C(lava-deploy) binary on the managed host (see O(binary))
options:
  name:
    description:
      - The instance name (a directory under C(ROOT/instances/)).
    type: str
    required: true
  state:
    description:
      - V(present) installs or upgrades the instance.
      - V(absent) removes it (C(lava-deploy remove --yes)); the shared cache
        under the root is kept.
    type: str
    choices: [present, absent]
    default: present
  manifest_branch:
    description:
      - The manifest repository (URL, C(file://) URL or path on the managed
        host) with an optional C(#REF) (branch, tag or full commit).
      - Recorded by the binary as what the instance follows; when omitted an
        existing instance keeps following what it followed, and a new one
        uses the binary's built-in manifests.
      - For a lab give every host the same full commit, as the
        C(lava.deploy.lab) playbook does.
    type: str
  cfg:
    description:
      - The manifest file in the branch (default C(lava.toml), else
        C(buildout.cfg)). Recorded like O(manifest_branch).
    type: str
  manifest_signers:
    description:
      - An OpenSSH allowed-signers file on the managed host; the manifest
        commit (or the annotated tag of C(#TAG)) must carry a valid SSH
        signature by a key listed there (C(--manifest-signers)).
      - Recorded by the binary, so later upgrades keep checking.
    type: path
  manifest_revoked:
    description:
      - Revoked keys (an OpenSSH KRL or public keys) on the managed host that
        no manifest signature may be made with (C(--manifest-revoked)).
    type: path
  root:
    description:
      - The lava-deploy root directory on the managed host.
      - When omitted the binary decides (C(LAVA_ROOT) or C(/srv/lava)).
    type: path
  binary:
    description:
      - The C(lava-deploy) program on the managed host, a path or a name
        looked up on C(PATH).
    type: path
    default: lava-deploy
  retry_failed:
    description:
      - Build again pins whose release failed its C(post-switch) or C(check)
        before. Without it such an upgrade fails saying so.
    type: bool
    default: false
  no_hooks:
    description:
      - Run no hook at all (the binary says so loudly in its log). For
        repairs, not for normal deployments.
    type: bool
    default: false
  wait:
    description:
      - Seconds to wait for an instance busy with another lava-deploy run;
        V(0) waits as long as it takes. When omitted a busy instance fails
        the task at once.
    type: int
  secrets:
    description:
      - Secrets of the instance, C(KEY) to value (for example the worker's
        C(LAVA_WORKER_TOKEN)), set with C(lava-deploy secret set NAME KEY)
        (the value on standard input, never on a command line) before the
        install or upgrade, which then deploys them (a changed secret is a
        new release). Keys the dict does not name are left as they are.
      - The values are never returned, logged or shown in a diff (the
        option is C(no_log)); a changed one is reported by key only, in
        RV(secrets) and as C(~ secret KEY changed) in diff mode.
      - In check mode each value is compared with the stored one
        (C(secret set --check)) and nothing is written.
      - Ignored with O(state=absent), which removes the secrets with the
        instance.
    type: dict
attributes:
  check_mode:
    support: partial
    details:
      - Changes nothing in the instance, but the binary resolves the
        manifest for its plan and so may fill its shared cache under the
        root (git mirrors, downloads).
  diff_mode:
    support: full
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
notes:
  - The binary's exit code decides failure; its report's RV(error) becomes
    the task's C(msg).
  - In check mode an instance that does not exist yet is reported as
    changed, and its diff lists the components at the exact pins the
    install would deploy (the binary's plan resolves them).
  - With O(state=absent) the binary runs the C(stop) hooks of the current
    release first; when they fail nothing is removed and the task fails.
  - Secrets are set even when the install or upgrade then fails (they are
    the instance's), and the next run finds them unchanged.
"""

EXAMPLES = r"""
- name: Install or upgrade the lab instance from an exact manifest commit
  lava.deploy.lava_deploy:
    name: lab
    manifest_branch: "https://git.example.org/lab/manifest.git#5f0c6e2d9a1b4c7e8f0a1b2c3d4e5f60718293a4"
    root: /srv/lava
    binary: /srv/lava/bin/lava-deploy

- name: Follow a branch with a non-default manifest file
  lava.deploy.lava_deploy:
    name: worker
    manifest_branch: "https://git.example.org/lab/manifest.git#production"
    cfg: lava-worker.toml

- name: Build pins that failed their health check before, once fixed elsewhere
  lava.deploy.lava_deploy:
    name: lab
    retry_failed: true

- name: A worker with the token its server made for it (no value is ever shown)
  lava.deploy.lava_deploy:
    name: lab
    manifest_branch: "https://git.example.org/lab/manifest.git#production"
    cfg: lava-worker.toml
    secrets:
      LAVA_WORKER_TOKEN: "{{ worker_token }}"

- name: Remove an instance (the shared cache stays)
  lava.deploy.lava_deploy:
    name: old-lab
    state: absent
"""

RETURN = r"""
instance:
  description: The instance name.
  returned: always
  type: str
  sample: lab
action:
  description:
    - What was done or, in check mode, would be done.
  returned: always
  type: str
  choices: [install, upgrade, remove, none]
  sample: upgrade
release:
  description:
    - The release C(current) points at when the module ends; after a
      rollback, the release it went back to. In check mode, the current one.
  returned: when the instance has a release
  type: str
  sample: 0004-2026.07
previous:
  description: The release C(current) pointed at before.
  returned: install and upgrade, not in check mode
  type: str
  sample: 0003-2026.06
changes:
  description:
    - The components that changed, or in check mode would change; C(old)
      is null for an added component and C(new) for a removed one.
  returned: always
  type: list
  elements: dict
  sample: [{"component": "lava", "old": "2026.06 (1f2e3d4c5b6a)", "new": "2026.07 (bf31a2b3c4d5)"}]
service:
  description:
    - The C([shared]), C([environment]) and C([hooks]) settings that would
      change (check mode only).
  returned: check mode, upgrade
  type: list
  elements: dict
  sample: [{"key": "hooks.check", "old": "true", "new": "curl -fs http://127.0.0.1/"}]
refusal:
  description:
    - Check mode only, when install or upgrade would stop without building
      (C(lava-deploy plan --json)'s C(refusal)) - C(kind)
      (C(failed-before) or C(missing-secrets)), C(exit_code) and C(error),
      the message the run would fail with.
  returned: check mode, when the run would be refused
  type: dict
  sample: {"kind": "failed-before", "exit_code": 1, "error": "release 0005-2026.08 had exactly these pins and failed (...)"}
hooks:
  description: Every hook command the binary ran, with its phase, release, result and duration.
  returned: install and upgrade, not in check mode
  type: list
  elements: dict
  sample: [{"phase": "check", "release": "0004-2026.07", "command": "lava-worker-check", "ok": true, "seconds": 1.2}]
rolled_back:
  description:
    - True when the new release failed its C(post-switch) or C(check) and
      the binary switched back to the previous release.
  returned: install and upgrade, not in check mode
  type: bool
  sample: false
failed_release:
  description: The release that failed and was rolled back, marked failed on the host.
  returned: install and upgrade, not in check mode
  type: str
  sample: 0005-2026.08
error:
  description: The binary's error message, null on success.
  returned: install and upgrade, not in check mode
  type: str
  sample: null
manifest:
  description:
    - The manifest of the current release (after the run) or, in check mode,
      the manifest that would be deployed; with C(source), C(commit),
      C(describe) and C(file).
  returned: when the instance has a release after the run, or in check mode
  type: dict
  sample:
    source: https://git.example.org/lab/manifest.git
    commit: 5f0c6e2d9a1b4c7e8f0a1b2c3d4e5f60718293a4
    describe: "2026.07"
    file: lava.toml
follows:
  description:
    - What the instance follows after the run (its manifest branch and file),
      as recorded in its C(instance.toml).
  returned: when the instance exists after the run (not in check mode)
  type: dict
  sample: {"branch": "https://git.example.org/lab/manifest.git#5f0c6e2d9a1b4c7e8f0a1b2c3d4e5f60718293a4"}
secrets:
  description:
    - The secrets that changed, by key only (never a value), with
      C(change) V(changed), V(added) or V(removed); in check mode, what
      would change. Both those set by O(secrets) and those the new release
      deploys.
  returned: always with O(state=present)
  type: list
  elements: dict
  sample: [{"key": "LAVA_WORKER_TOKEN", "change": "changed"}]
stderr:
  description: The binary's progress and error output.
  returned: on failure
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

# Module options given to the binary as `--flag VALUE` after the
# subcommands that read a manifest (install, upgrade, plan), in this order.
SOURCE_OPTIONS = (
    ("manifest_branch", "--manifest-branch"),
    ("cfg", "--cfg"),
    ("manifest_signers", "--manifest-signers"),
    ("manifest_revoked", "--manifest-revoked"),
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    manifest_branch=dict(type="str"),
    cfg=dict(type="str"),
    manifest_signers=dict(type="path"),
    manifest_revoked=dict(type="path"),
    root=dict(type="path"),
    binary=dict(type="path", default="lava-deploy"),
    retry_failed=dict(type="bool", default=False),
    no_hooks=dict(type="bool", default=False),
    wait=dict(type="int"),
    secrets=dict(type="dict", no_log=True),
)


class Failure(Exception):
    """The task fails: `msg` and the other fields of its result. Raised
    anywhere; main() turns it into the one `fail_json`."""

    def __init__(self, msg, **result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result


def common_args(params):
    """The global options every call of the binary shares."""
    args = []
    if params.get("root"):
        args += ["--root", params["root"]]
    if params.get("no_hooks"):
        args.append("--no-hooks")
    if params.get("wait") is not None:
        args.append("--wait=%d" % params["wait"])
    return args


def source_args(params):
    """Which manifest to read, as the binary's options."""
    args = []
    for option, flag in SOURCE_OPTIONS:
        if params.get(option):
            args += [flag, params[option]]
    return args


def last_line(text):
    """The binary prints `error: …` last; that line says why."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return lines[-1] if lines else ""


def parse_json(text):
    """The binary's JSON output, or None when it printed none."""
    try:
        return json.loads(text)
    except ValueError:
        return None


class Binary(object):
    """The lava-deploy program with the options every call shares."""

    def __init__(self, module, path):
        self.module = module
        self.path = path
        self.common = common_args(module.params)

    def run(self, args, data=None):
        """(rc, parsed JSON or None, stdout, stderr); `data` (bytes) goes
        to the program's standard input as it is."""
        rc, out, err = self.module.run_command([self.path] + self.common + args, data=data, binary_data=True)
        return rc, parse_json(out), out, err

    def run_json(self, args, what):
        """A read-only call that must succeed and print JSON."""
        rc, data, out, err = self.run(args)
        if rc != 0 or data is None:
            raise Failure(
                "lava-deploy %s failed (exit %d): %s" % (what, rc, last_line(err) or out.strip()),
                rc=rc,
                stdout=out,
                stderr=err,
            )
        return data


def find_instance(binary, name):
    """The `list --json` entry of `name`, or None when there is none."""
    return instance_entry(binary.run_json(["list", "--json"], "list"), name)


def instance_entry(entries, name):
    for entry in entries:
        if entry.get("name") == name:
            return entry
    return None


def component_lines(entries):
    return "".join("%s: %s\n" % entry for entry in entries)


def diff_from_plan(plan, path):
    """Every component's pin before and after (unchanged ones too, as the
    context of the diff), then the service settings that change. The
    headers name the instance's directory: diffs of many hosts are told
    apart by it."""
    before, after = [], []
    for change in plan.get("components", []):
        component = change["component"]
        kind = change.get("change")
        if kind == "unchanged":
            before.append((component, change["pin"]))
            after.append((component, change["pin"]))
        if kind in ("changed", "removed"):
            before.append((component, change["old"]))
        if kind in ("changed", "added"):
            after.append((component, change["new"]))
    for setting in plan.get("service", []):
        if setting.get("old") is not None:
            before.append((setting["key"], setting["old"]))
        if setting.get("new") is not None:
            after.append((setting["key"], setting["new"]))
    manifest = plan.get("manifest") or {}
    if plan.get("installed", True):
        before_header = "%s release %s" % (path, plan.get("current"))
    else:
        before_header = "%s (not installed)" % path
    return {
        "before_header": before_header,
        "after_header": "%s manifest %s" % (path, manifest.get("commit", "?")),
        "before": component_lines(before),
        "after": component_lines(after),
    }


def diff_from_report(report, path):
    """The components the run changed, old and new pin."""
    before = [(c["component"], c["old"]) for c in report.get("changes", []) if c.get("old") is not None]
    after = [(c["component"], c["new"]) for c in report.get("changes", []) if c.get("new") is not None]
    return {
        "before_header": "%s release %s" % (path, report.get("previous")),
        "after_header": "%s release %s" % (path, report.get("release")),
        "before": component_lines(before),
        "after": component_lines(after),
    }


def secret_args(name, key, check_mode):
    """`secret set` of one key; the value goes on standard input."""
    args = ["secret", "set", name, key, "--json"]
    if check_mode:
        args.append("--check")
    return args


def secret_lines(changes):
    """`~ secret KEY changed` (`+`/`-` for added and removed) per key, the
    way lava-deploy's plan shows them: never a value."""
    signs = {"added": "+", "removed": "-"}
    return "".join("%s secret %s %s\n" % (signs.get(c["change"], "~"), c["key"], c["change"]) for c in changes)


def merge_secret_changes(first, second):
    """One entry per key, sorted by key; an entry of `first` wins (what the
    module set is said before what the release's lock differs by)."""
    merged = {}
    for change in list(first) + list(second):
        merged.setdefault(change["key"], {"key": change["key"], "change": change["change"]})
    return [merged[key] for key in sorted(merged)]


def with_secret_diff(diff, changes):
    """The component diff, then a prepared diff of the secrets (Ansible
    shows a list of diffs one after the other); an empty component diff is
    left out."""
    if not changes:
        return diff
    secrets = {"prepared": secret_lines(changes)}
    if diff and (diff.get("before") or diff.get("after")):
        return [diff, secrets]
    return [secrets]


def set_secrets(binary, name, secrets, check_mode):
    """`secret set NAME KEY --json` per key, sorted, the value on standard
    input (`--check` in check mode: compared, nothing written). Returns the
    keys that changed, or would, as `{"key", "change"}`."""
    changes = []
    for key in sorted(secrets or {}):
        value = secrets[key]
        if value is None:
            raise Failure("secret %s of %s has no value (null): give one, or leave the key out" % (key, name))
        rc, report, out, err = binary.run(secret_args(name, key, check_mode), data=to_text(value).encode("utf-8"))
        if rc != 0 or report is None:
            # The binary never prints a value; its error names the key.
            raise Failure(
                "lava-deploy secret set %s %s failed (exit %d): %s" % (name, key, rc, last_line(err) or out.strip()),
                rc=rc,
                stderr=err,
            )
        if report.get("changed"):
            changes.append({"key": key, "change": "changed"})
    return changes


def action_for(entry):
    """An instance whose first install did not finish has no current
    release: `install` resumes it, `upgrade` would refuse it."""
    return "upgrade" if entry and entry.get("current") else "install"


def plan_result(plan, entry, action, name, secret_changes=()):
    """The check-mode result of install or upgrade, from the binary's plan
    (which also answers for an instance that does not exist yet). `changed`
    includes a change of what the instance follows, as the run would
    record it, and the secrets `set_secrets` would change."""
    secrets = merge_secret_changes(secret_changes, plan.get("secrets", []))
    changed = bool(plan.get("changed")) or bool(secrets)
    changes = [
        {"component": c["component"], "old": c.get("old"), "new": c.get("new")}
        for c in plan.get("components", [])
        if c.get("change") != "unchanged"
    ]
    result = dict(
        changed=changed,
        instance=name,
        action=action if changed else "none",
        release=entry.get("current") if entry else None,
        changes=changes,
        service=plan.get("service", []),
        manifest=plan.get("manifest"),
        secrets=secrets,
    )
    refusal = plan.get("refusal")
    missing = set(plan.get("missing_secrets") or [])
    if refusal and missing and missing <= set(c["key"] for c in secret_changes):
        # Missing secrets the module sets before the run: not refused then.
        refusal = None
    if refusal:
        # The real run would fail with this message (and change nothing,
        # which the plan's `changed` already says).
        result["refusal"] = refusal
        result["warnings"] = [
            "%s would be refused (exit %s): %s" % (action, refusal.get("exit_code"), refusal.get("error"))
        ]
    if changed:
        result["diff"] = with_secret_diff(diff_from_plan(plan, plan.get("path", name)), secrets)
    return result


def plan_args(name, params):
    """The binary's command line for check mode: the plan of the run."""
    args = ["plan", name, "--json"] + source_args(params)
    if params.get("retry_failed"):
        args.append("--retry-failed")
    return args


def run_args(action, name, params):
    """The binary's command line for install or upgrade."""
    args = [action, name, "--json"] + source_args(params)
    if action == "upgrade" and params.get("retry_failed"):
        args.append("--retry-failed")
    return args


def run_result(action, name, rc, report, out, err, secret_changes=()):
    """The result of an install or upgrade from the binary's exit code and
    `--json` report, with the secrets set before it; raises Failure when
    it failed."""
    if report is None:
        raise Failure(
            "lava-deploy %s printed no report (exit %d): %s" % (action, rc, last_line(err)),
            rc=rc,
            stdout=out,
            stderr=err,
        )
    result = dict(report)
    changed = bool(result.pop("changed", False)) or bool(secret_changes)
    result["secrets"] = merge_secret_changes(secret_changes, report.get("secrets", []))
    if rc != 0:
        msg = report.get("error") or last_line(err) or "lava-deploy %s failed (exit %d)" % (action, rc)
        result.update(changed=changed, rc=rc, stderr=err)
        raise Failure(msg, **result)
    # The report also says where the instance now stands (the manifest
    # commit of its release, what it follows): what a lab compares across
    # hosts.
    path = result.pop("path", None) or name
    if changed:
        result["diff"] = with_secret_diff(diff_from_report(report, path), result["secrets"])
    result["changed"] = changed
    return result


def present(module, binary):
    params = module.params
    name = params["name"]
    entry = find_instance(binary, name)
    action = action_for(entry)
    # Before the build: a required secret must be there, and a changed one
    # is what makes the upgrade build.
    secret_changes = set_secrets(binary, name, params.get("secrets"), module.check_mode)
    if module.check_mode:
        plan = binary.run_json(plan_args(name, params), "plan")
        return plan_result(plan, entry, action, name, secret_changes)
    rc, report, out, err = binary.run(run_args(action, name, params))
    return run_result(action, name, rc, report, out, err, secret_changes)


def absent(module, binary):
    name = module.params["name"]
    entry = find_instance(binary, name)
    if entry is None:
        return dict(changed=False, instance=name, action="none", changes=[])
    result = dict(
        changed=True,
        instance=name,
        action="remove",
        release=entry.get("current"),
        changes=[],
        diff={"before": "instance %s (release %s)\n" % (name, entry.get("current")), "after": ""},
    )
    if module.check_mode:
        return result
    rc, dummy, out, err = binary.run(["remove", name, "--yes"])
    if rc != 0:
        del result["changed"], result["diff"]
        raise Failure("lava-deploy remove failed (exit %d): %s" % (rc, last_line(err)), rc=rc, stdout=out, stderr=err, **result)
    return result


def deploy(module):
    """The task's result; raises Failure."""
    params = module.params
    path = params["binary"]
    if os.sep not in path:
        path = module.get_bin_path(path, opt_dirs=["/usr/local/bin"])
    if not path or not os.access(path, os.X_OK):
        if module.check_mode and params["state"] == "present":
            # A first check run on a fresh host: the binary would be copied
            # by an earlier task that check mode did not run.
            module.warn("lava-deploy is not on the host yet; assuming a first install")
            return dict(changed=True, instance=params["name"], action="install", changes=[])
        raise Failure("lava-deploy binary not found on the host: %s" % params["binary"])
    binary = Binary(module, path)
    if params["state"] == "absent":
        return absent(module, binary)
    return present(module, binary)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = deploy(module)
    except Failure as failure:
        module.fail_json(msg=failure.msg, **failure.result)
    else:
        module.exit_json(**result)


if __name__ == "__main__":
    main()
