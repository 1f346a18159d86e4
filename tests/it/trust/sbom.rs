//! `sbom NAME`: CycloneDX and SPDX documents of a release with git,
//! archive, branch-path and python components, a local override and a
//! signed manifest, checked by the formats' maintained validators.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::index::PackageIndex;
use crate::support::signing::SigningKey;
use crate::support::{sha256_hex, stdout_of, tar_gz, Env};

const ALICE: &str = "alice@example.org";

/// `PYTHON -c CODE ARGS…` with the tests' python (`support::test_python`):
/// whether it exited 0, and its output; `None` when `probe` cannot be
/// imported (the validator is not installed): skipped through
/// `support::require`, a failure under `CI=true`.
fn python(probe: &str, wanted: &str, code: &str, args: &[&Path]) -> Option<(bool, String)> {
    let available = Command::new(crate::support::test_python())
        .args(["-c", &format!("import {probe}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !crate::support::require((!available).then(|| {
        format!(
            "{wanted} is not installed for {} (tools/test installs it into its venv)",
            crate::support::test_python()
        )
    })) {
        return None;
    }
    let output = Command::new(crate::support::test_python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("the test python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((output.status.success(), text))
}

const CYCLONEDX_CHECK: &str = "
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
print('INVALID: %r' % (errors,) if errors else 'VALID')
sys.exit(1 if errors else 0)
";

/// `pyspdxtools -i FILE`, without relying on pip's script directory being on PATH.
const SPDX_CHECK: &str = "
import sys
from spdx_tools.spdx.clitools.pyspdxtools import main
sys.argv = ['pyspdxtools', '-i', sys.argv[1]]
main()
";

fn component<'a>(components: &'a [Value], name: &str) -> &'a Value {
    components
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {components:#?}"))
}

fn property<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
    component["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == format!("lava-deploy:{name}"))
        .and_then(|p| p["value"].as_str())
}

#[test]
fn sbom_of_a_release_is_valid_cyclonedx_and_spdx() {
    let env = Env::new();
    let index = PackageIndex::start();
    let theme = tar_gz(Some("theme-1.2"), &[("style.css", "body {}\n")]);
    let theme_sha = sha256_hex(&theme);
    let theme_url = index.server.put("/theme-1.2.tar.gz", theme);
    let tool = env.git_repo("tool");
    tool.write("README", "tool\n");
    let tool_commit = tool.commit("v1");
    tool.tag("v1");

    let alice = SigningKey::new(&env.path("keys"), "alice");
    let signers = env.path("allowed_signers");
    std::fs::write(&signers, alice.allowed(ALICE, "")).unwrap();
    let manifest = env.git_repo("manifest");
    manifest
        .write(
            "lava.toml",
            &format!(
                "[python]\nindex-url = \"{}\"\n\
                 [components.greet]\npython = \"1.0\"\n[components.colorlib]\npython = \"1.0\"\n\
                 [components.tool]\ngit = \"{}\"\nrev = \"v1\"\n\
                 [components.theme]\nurl = \"{theme_url}\"\nsha256 = \"{theme_sha}\"\n\
                 [components.recipes]\npath = \"recipes\"\n",
                index.url(),
                tool.url()
            ),
        )
        .write("recipes/run.sh", "echo\n");
    let manifest_commit = alice.commit(&manifest, "signed manifest");
    env.cmd()
        .args(["install", "x", "--manifest-branch", &manifest.url()])
        .arg("--manifest-signers")
        .arg(&signers)
        .assert()
        .success();
    let first = env.current("x");
    // A checkout of tool in local/, matched by its origin.
    tool.clone_to(&env.instance_dir("x").join("local/my-tool"));
    env.run(&["rebuild", "x"]).success();
    let second = env.current("x");

    let sbom = |args: &[&str]| -> Value {
        let mut all = vec!["sbom", "x"];
        all.extend(args);
        serde_json::from_str(&stdout_of(&env.run(&all).success())).unwrap()
    };
    let cdx = sbom(&[]);
    assert_eq!(cdx["bomFormat"], "CycloneDX");
    assert_eq!(cdx["specVersion"], "1.5");
    assert_eq!(cdx["metadata"]["component"]["name"], "x");
    assert_eq!(cdx["metadata"]["component"]["version"], second.as_str());
    let components = cdx["components"].as_array().unwrap();

    let greet = component(components, "greet");
    assert_eq!(
        greet["purl"],
        format!("pkg:pypi/greet@1.0?repository_url={}", index.url())
    );
    assert_eq!(property(greet, "python-index"), Some(index.url().as_str()));
    let greet_sha = index.sha256_of("greet", "1.0");
    assert!(
        greet["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["alg"] == "SHA-256" && h["content"] == greet_sha.as_str()),
        "{greet:#}"
    );
    assert_eq!(component(components, "colorlib")["version"], "1.0");

    let tool_entry = component(components, "tool");
    assert_eq!(tool_entry["version"], tool_commit.as_str());
    assert_eq!(
        tool_entry["purl"],
        format!(
            "pkg:generic/tool@{tool_commit}?vcs_url=git%2Bfile://{}%40{tool_commit}",
            tool.url()
        )
    );
    assert_eq!(
        tool_entry["externalReferences"][0]["url"],
        format!("file://{}", tool.url())
    );
    assert!(
        property(tool_entry, "override")
            .unwrap()
            .starts_with("local/my-tool"),
        "{tool_entry:#}"
    );
    assert!(tool_entry["pedigree"]["notes"]
        .as_str()
        .unwrap()
        .contains("local/my-tool"));

    let theme_entry = component(components, "theme");
    assert_eq!(
        theme_entry["purl"],
        format!("pkg:generic/theme?download_url={theme_url}&checksum=sha256:{theme_sha}")
    );
    assert_eq!(theme_entry["hashes"][0]["content"], theme_sha.as_str());
    assert!(property(theme_entry, "override").is_none());

    let recipes = component(components, "recipes");
    assert!(
        recipes["version"].as_str().unwrap().starts_with("git:"),
        "{recipes:#}"
    );
    assert!(recipes["purl"]
        .as_str()
        .unwrap()
        .ends_with(&format!("%40{manifest_commit}#recipes")));

    let lava_toml = component(components, "lava.toml");
    assert_eq!(lava_toml["version"], manifest_commit.as_str());
    assert_eq!(property(lava_toml, "manifest-signer"), Some(ALICE));
    assert_eq!(
        property(lava_toml, "manifest-signer-key"),
        Some(alice.fingerprint.as_str())
    );

    let spdx = sbom(&["--format", "spdx"]);
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    let packages = spdx["packages"].as_array().unwrap();
    let purls: Vec<&str> = packages
        .iter()
        .filter_map(|p| p["externalRefs"][0]["referenceLocator"].as_str())
        .collect();
    for entry in [greet, tool_entry, theme_entry, recipes] {
        assert!(
            purls.contains(&entry["purl"].as_str().unwrap()),
            "{purls:?}"
        );
    }
    let spdx_tool = component(packages, "tool");
    assert!(spdx_tool["comment"]
        .as_str()
        .unwrap()
        .starts_with("OVERRIDDEN in this release by local/my-tool"));
    assert_eq!(
        component(packages, "theme")["checksums"][0]["checksumValue"],
        theme_sha.as_str()
    );
    assert!(spdx["annotations"][0]["comment"]
        .as_str()
        .unwrap()
        .contains(&alice.fingerprint));

    // An earlier release, by number; an unknown one is refused.
    let older = sbom(&["--release", "1"]);
    assert_eq!(older["metadata"]["component"]["version"], first.as_str());
    assert!(property(
        component(older["components"].as_array().unwrap(), "tool"),
        "override"
    )
    .is_none());
    env.run(&["sbom", "x", "--release", "9"]).code(2);

    assert_valid(&env, &cdx, &spdx);
}

/// The formats' own validators, against the published schemas: both
/// documents pass (a missing validator skips through `support::require`).
fn assert_valid(env: &Env, cdx: &Value, spdx: &Value) {
    let cdx_file = env.path("bom.cdx.json");
    let spdx_file = env.path("bom.spdx.json");
    std::fs::write(&cdx_file, serde_json::to_string_pretty(cdx).unwrap()).unwrap();
    std::fs::write(&spdx_file, serde_json::to_string_pretty(spdx).unwrap()).unwrap();
    if let Some((ok, said)) = python(
        "cyclonedx.validation.json",
        "cyclonedx-python-lib[json-validation]",
        CYCLONEDX_CHECK,
        &[&cdx_file],
    ) {
        assert!(ok && said.contains("VALID"), "CycloneDX: {said}");
    }
    if let Some((ok, said)) = python(
        "spdx_tools.spdx.clitools.pyspdxtools",
        "spdx-tools",
        SPDX_CHECK,
        &[&spdx_file],
    ) {
        // It logs only problems: exit 0 and silence is valid.
        assert!(ok && !said.contains("invalid"), "SPDX: {said}");
    }
}

/// What a production lock holds: sources on named hosts, a scp-like git
/// URL, python from the installer's default index, a tree built into the
/// environment. Written over a release's lock (the sbom reads only it).
const PUBLIC_LOCK: &str = r#"version = 1

[manifest]
source = "https://git.example.org/lava/manifests.git#2026.07"
commit = "1111111111111111111111111111111111111111"
describe = "2026.07"
file = "lava-production.toml"

[manifest.signature]
principal = "release@example.org"
key = "SHA256:muqpJYv/2A8Re3eGl/RP+R8oz1e9WRbVSVABCjDZgik"
object = "tag 2026.07 (2222222222222222222222222222222222222222)"
signers-file = "/etc/lava/allowed_signers"

[components.lava-server]
kind = "git"
git = "https://git.example.org/lava/lava-server.git"
rev = "2026.07"
commit = "3333333333333333333333333333333333333333"
install = "python"

[components.scripts]
kind = "git"
git = "git@git.example.org:lava/scripts.git"
commit = "4444444444444444444444444444444444444444"

[components.theme]
kind = "url"
url = "https://downloads.example.org/theme-1.2.tar.gz"
sha256 = "5555555555555555555555555555555555555555555555555555555555555555"

[components.recipes]
kind = "path"
path = "recipes"
tree = "git:6666666666666666666666666666666666666666"

[components.PyYAML]
kind = "python"
python = "6.0.2"
version = "6.0.2"

[environment]
installer = "uv"

[environment.packages.pyyaml]
name = "PyYAML"
version = "6.0.2"
hashes = ["7777777777777777777777777777777777777777777777777777777777777777", "8888888888888888888888888888888888888888888888888888888888888888"]

[environment.packages.lava-server]
name = "lava-server"
version = "2026.7"
source-tree = true
"#;

#[test]
fn sbom_of_public_sources_names_their_urls_and_the_default_index() {
    let env = Env::new();
    let manifest = env.git_repo("manifest");
    manifest
        .write("lava.toml", "[components.recipes]\npath = \"recipes\"\n")
        .write("recipes/run.sh", "echo\n");
    manifest.commit("manifest");
    env.install_from("x", &manifest).success();
    std::fs::write(
        env.instance_dir("x").join("code/current/lava.lock"),
        PUBLIC_LOCK,
    )
    .unwrap();
    let sbom = |format: &str| -> Value {
        let out = env.run(&["sbom", "x", "--format", format]).success();
        serde_json::from_str(&stdout_of(&out)).unwrap()
    };
    let spdx = sbom("spdx");
    let packages = spdx["packages"].as_array().unwrap();
    let location = |name: &str| component(packages, name)["downloadLocation"].clone();
    assert_eq!(
        location("lava-server"),
        "git+https://git.example.org/lava/lava-server.git@3333333333333333333333333333333333333333"
    );
    assert_eq!(
        location("scripts"),
        "git+ssh://git@git.example.org/lava/scripts.git@4444444444444444444444444444444444444444"
    );
    assert_eq!(
        location("theme"),
        "https://downloads.example.org/theme-1.2.tar.gz"
    );
    assert_eq!(
        location("recipes"),
        "git+https://git.example.org/lava/manifests.git@1111111111111111111111111111111111111111#recipes"
    );
    assert_eq!(location("PyYAML"), "NOASSERTION");

    let cdx = sbom("cyclonedx");
    let components = cdx["components"].as_array().unwrap();
    let pyyaml = component(components, "PyYAML");
    assert_eq!(pyyaml["purl"], "pkg:pypi/pyyaml@6.0.2");
    assert_eq!(
        property(pyyaml, "python-index"),
        Some("the installer's default index")
    );
    assert_eq!(pyyaml["hashes"].as_array().unwrap().len(), 2);
    let built = component(
        components
            .iter()
            .filter(|c| property(c, "kind") == Some("python"))
            .cloned()
            .collect::<Vec<_>>()
            .as_slice(),
        "lava-server",
    )
    .clone();
    assert_eq!(
        property(&built, "built-from"),
        Some("a component's source tree")
    );
    let manifest_entry = component(components, "lava-production.toml");
    assert_eq!(
        property(manifest_entry, "manifest-signer"),
        Some("release@example.org")
    );
    assert_valid(&env, &cdx, &spdx);
}
