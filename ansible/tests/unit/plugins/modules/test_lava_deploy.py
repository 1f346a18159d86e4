# -*- coding: utf-8 -*-
# Unit tests of the lava_deploy module's pure helpers: the command lines it
# gives the binary and the results it builds from the binary's JSON. Run by
# plain pytest (.ci/run) or `ansible-test units`; the module is loaded from
# its file, so no collection needs to be installed.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = os.path.join(HERE, "..", "..", "..", "..", "plugins", "modules", "lava_deploy.py")
SPEC = importlib.util.spec_from_file_location("lava_deploy", MODULE)
lava_deploy = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(lava_deploy)


def params(**given):
    """The module's parameters as AnsibleModule fills them: every option,
    at its default unless given."""
    values = dict((name, spec.get("default")) for name, spec in lava_deploy.ARGUMENT_SPEC.items())
    values.update(given)
    return values


def test_common_args_are_the_global_options_in_order():
    assert lava_deploy.common_args(params()) == []
    assert lava_deploy.common_args(params(root="/srv/lava", no_hooks=True, wait=0)) == [
        "--root",
        "/srv/lava",
        "--no-hooks",
        "--wait=0",
    ]
    assert lava_deploy.common_args(params(wait=30)) == ["--wait=30"]


def test_source_args_name_the_manifest_and_its_signers():
    assert lava_deploy.source_args(params()) == []
    assert lava_deploy.source_args(
        params(
            manifest_branch="https://git.example.org/m.git#2026.07",
            cfg="lava-worker.toml",
            manifest_signers="/etc/lava/signers",
            manifest_revoked="/etc/lava/revoked",
        )
    ) == [
        "--manifest-branch",
        "https://git.example.org/m.git#2026.07",
        "--cfg",
        "lava-worker.toml",
        "--manifest-signers",
        "/etc/lava/signers",
        "--manifest-revoked",
        "/etc/lava/revoked",
    ]


def test_every_source_option_is_a_module_option():
    for option, flag in lava_deploy.SOURCE_OPTIONS:
        assert option in lava_deploy.ARGUMENT_SPEC
        assert flag.startswith("--")
        assert "\n  %s:\n" % option in lava_deploy.DOCUMENTATION


@pytest.mark.parametrize(
    "action, retry, expected",
    [
        ("install", True, ["install", "lab", "--json", "--cfg", "x.toml"]),
        ("upgrade", False, ["upgrade", "lab", "--json", "--cfg", "x.toml"]),
        ("upgrade", True, ["upgrade", "lab", "--json", "--cfg", "x.toml", "--retry-failed"]),
    ],
)
def test_run_args(action, retry, expected):
    assert lava_deploy.run_args(action, "lab", params(cfg="x.toml", retry_failed=retry)) == expected


@pytest.mark.parametrize(
    "stderr, line",
    [
        ("", ""),
        (None, ""),
        ("building\nerror: the check failed\n", "the check failed"),
        ("error: first\nmore detail\n\n", "first"),
        ("one\ntwo\n", "two"),
    ],
)
def test_last_line_is_the_error(stderr, line):
    assert lava_deploy.last_line(stderr) == line


def test_action_is_install_until_there_is_a_current_release():
    assert lava_deploy.action_for(None) == "install"
    assert lava_deploy.action_for({"name": "lab", "current": None}) == "install"
    assert lava_deploy.action_for({"name": "lab", "current": "0001-x"}) == "upgrade"


def test_instance_entry():
    entries = [{"name": "a"}, {"name": "lab", "current": "0002-y"}]
    assert lava_deploy.instance_entry(entries, "lab") == {"name": "lab", "current": "0002-y"}
    assert lava_deploy.instance_entry(entries, "b") is None


PLAN = {
    "changed": True,
    "installed": True,
    "current": "0003-2026.06",
    "path": "/srv/lava/instances/lab",
    "manifest": {"commit": "5f0c6e2d"},
    "components": [
        {"component": "lava", "change": "changed", "old": "2026.06", "new": "2026.07"},
        {"component": "lavacli", "change": "unchanged", "pin": "3.1.0"},
        {"component": "gone", "change": "removed", "old": "1.0"},
        {"component": "new", "change": "added", "new": "2.0"},
    ],
    "service": [{"key": "hooks.check", "old": "true", "new": "curl -fs http://127.0.0.1/"}],
}


def test_plan_result_lists_changes_and_diffs_every_pin():
    result = lava_deploy.plan_result(PLAN, {"current": "0003-2026.06"}, "upgrade", "lab")
    assert result["changed"] is True
    assert result["action"] == "upgrade"
    assert result["release"] == "0003-2026.06"
    assert result["changes"] == [
        {"component": "lava", "old": "2026.06", "new": "2026.07"},
        {"component": "gone", "old": "1.0", "new": None},
        {"component": "new", "old": None, "new": "2.0"},
    ]
    assert result["diff"] == {
        "before_header": "/srv/lava/instances/lab release 0003-2026.06",
        "after_header": "/srv/lava/instances/lab manifest 5f0c6e2d",
        "before": "lava: 2026.06\nlavacli: 3.1.0\ngone: 1.0\nhooks.check: true\n",
        "after": "lava: 2026.07\nlavacli: 3.1.0\nnew: 2.0\nhooks.check: curl -fs http://127.0.0.1/\n",
    }


def test_plan_result_of_nothing_to_do_has_no_diff():
    plan = {"changed": False, "components": [{"component": "lava", "change": "unchanged", "pin": "1"}]}
    result = lava_deploy.plan_result(plan, {"current": "0001-x"}, "upgrade", "lab")
    assert result["changed"] is False
    assert result["action"] == "none"
    assert result["changes"] == []
    assert "diff" not in result


def test_plan_result_of_a_refused_run_is_no_change_and_warns():
    refusal = {"kind": "failed-before", "exit_code": 1, "error": "release 0002-r2 had exactly these pins and failed"}
    plan = {"changed": False, "refusal": refusal, "components": [{"component": "lava", "change": "changed", "old": "1", "new": "2"}]}
    result = lava_deploy.plan_result(plan, {"current": "0001-r1"}, "upgrade", "lab")
    assert result["changed"] is False
    assert result["action"] == "none"
    assert result["refusal"] == refusal
    assert result["warnings"] == ["upgrade would be refused (exit 1): release 0002-r2 had exactly these pins and failed"]
    assert "diff" not in result


def test_plan_args_ask_for_the_plan_of_the_run():
    assert lava_deploy.plan_args("lab", params()) == ["plan", "lab", "--json"]
    assert lava_deploy.plan_args("lab", params(retry_failed=True, cfg="x.toml")) == [
        "plan",
        "lab",
        "--json",
        "--cfg",
        "x.toml",
        "--retry-failed",
    ]


def test_plan_of_a_new_instance_says_not_installed():
    plan = {"changed": True, "installed": False, "components": [], "manifest": {"commit": "abc"}}
    result = lava_deploy.plan_result(plan, None, "install", "lab")
    assert result["release"] is None
    assert result["diff"]["before_header"] == "lab (not installed)"


REPORT = {
    "changed": True,
    "previous": "0003-2026.06",
    "release": "0004-2026.07",
    "path": "/srv/lava/instances/lab",
    "changes": [{"component": "lava", "old": "2026.06", "new": "2026.07"}],
    "error": None,
}


def test_run_result_of_a_success_carries_the_report_and_its_diff():
    result = lava_deploy.run_result("upgrade", "lab", 0, dict(REPORT), "{}", "")
    assert result["changed"] is True
    assert result["release"] == "0004-2026.07"
    assert "path" not in result
    assert result["diff"] == {
        "before_header": "/srv/lava/instances/lab release 0003-2026.06",
        "after_header": "/srv/lava/instances/lab release 0004-2026.07",
        "before": "lava: 2026.06\n",
        "after": "lava: 2026.07\n",
    }


def test_run_result_of_a_failure_raises_with_the_report():
    report = dict(REPORT, error="the check failed; rolled back", rolled_back=True)
    with pytest.raises(lava_deploy.Failure) as raised:
        lava_deploy.run_result("upgrade", "lab", 1, report, "{}", "error: x\n")
    assert raised.value.msg == "the check failed; rolled back"
    assert raised.value.result["rolled_back"] is True
    assert raised.value.result["changed"] is True
    assert raised.value.result["rc"] == 1


def test_run_result_without_a_report_raises_with_stderr():
    with pytest.raises(lava_deploy.Failure) as raised:
        lava_deploy.run_result("install", "lab", 2, None, "", "error: invalid manifest\n")
    assert raised.value.msg == "lava-deploy install printed no report (exit 2): invalid manifest"
    assert raised.value.result["stderr"] == "error: invalid manifest\n"


def test_secret_args_put_no_value_on_the_command_line():
    assert lava_deploy.secret_args("w", "LAVA_WORKER_TOKEN", False) == [
        "secret",
        "set",
        "w",
        "LAVA_WORKER_TOKEN",
        "--json",
    ]
    assert lava_deploy.secret_args("w", "T", True)[-1] == "--check"


def test_secret_lines_name_keys_only():
    changes = [
        {"key": "A", "change": "changed"},
        {"key": "B", "change": "added"},
        {"key": "C", "change": "removed"},
    ]
    assert lava_deploy.secret_lines(changes) == "~ secret A changed\n+ secret B added\n- secret C removed\n"


def test_merge_secret_changes_one_per_key_the_first_wins():
    first = [{"key": "TOKEN", "change": "changed"}]
    second = [{"key": "TOKEN", "change": "added"}, {"key": "DB", "change": "removed", "extra": 1}]
    assert lava_deploy.merge_secret_changes(first, second) == [
        {"key": "DB", "change": "removed"},
        {"key": "TOKEN", "change": "changed"},
    ]
    assert lava_deploy.merge_secret_changes([], []) == []


def test_with_secret_diff_adds_a_prepared_diff_and_drops_an_empty_one():
    diff = {"before": "lava: 1\n", "after": "lava: 2\n"}
    secrets = [{"key": "T", "change": "changed"}]
    assert lava_deploy.with_secret_diff(diff, []) is diff
    assert lava_deploy.with_secret_diff(diff, secrets) == [diff, {"prepared": "~ secret T changed\n"}]
    assert lava_deploy.with_secret_diff({"before": "", "after": ""}, secrets) == [{"prepared": "~ secret T changed\n"}]


def test_plan_result_counts_a_secret_that_would_change():
    plan = {"changed": False, "components": [{"component": "lava", "change": "unchanged", "pin": "1"}]}
    result = lava_deploy.plan_result(plan, {"current": "0001-x"}, "upgrade", "lab", [{"key": "T", "change": "changed"}])
    assert result["changed"] is True
    assert result["action"] == "upgrade"
    assert result["secrets"] == [{"key": "T", "change": "changed"}]
    assert result["diff"][-1] == {"prepared": "~ secret T changed\n"}


def test_run_result_of_a_changed_secret_alone_is_a_change():
    report = dict(REPORT, changed=False, changes=[], secrets=[])
    result = lava_deploy.run_result("upgrade", "lab", 0, report, "{}", "", [{"key": "T", "change": "changed"}])
    assert result["changed"] is True
    assert result["secrets"] == [{"key": "T", "change": "changed"}]
    assert result["diff"] == [{"prepared": "~ secret T changed\n"}]


def test_secrets_option_is_no_log():
    assert lava_deploy.ARGUMENT_SPEC["secrets"] == {"type": "dict", "no_log": True}


def test_plan_refused_for_missing_secrets_the_module_sets_is_no_refusal():
    plan = {
        "changed": False,
        "components": [],
        "refusal": {"exit_code": 2, "error": "instance w needs the secret LAVA_WORKER_TOKEN"},
        "missing_secrets": ["LAVA_WORKER_TOKEN"],
    }
    given = [{"key": "LAVA_WORKER_TOKEN", "change": "changed"}]
    result = lava_deploy.plan_result(plan, None, "install", "w", given)
    assert "refusal" not in result and "warnings" not in result
    assert result["changed"] is True
    refused = lava_deploy.plan_result(plan, None, "install", "w", [])
    assert refused["refusal"]["exit_code"] == 2
    assert "would be refused" in refused["warnings"][0]
