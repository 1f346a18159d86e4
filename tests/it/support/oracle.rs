//! zc.buildout itself as an oracle for the `*.cfg` reader: cases written to
//! disk, read by `buildout_oracle.py` (zc.buildout 6.0.1's own `Buildout`)
//! and by lava-deploy's reader, the two effective configurations compared;
//! and the round trip of every accepted case through a native manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lava_deploy::core::model::{ComponentSource, Manifest};
use lava_deploy::readers::{self, BranchFiles, BUILDOUT_DIRECTORY};
use serde_json::Value;

pub const ZC_BUILDOUT: &str = "6.0.1";

/// One configuration: the files of a branch and the file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub files: Vec<(String, String)>,
    pub cfg: String,
}

impl Case {
    pub fn new(cfg: &str, files: &[(&str, &str)]) -> Self {
        Case {
            files: files
                .iter()
                .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
                .collect(),
            cfg: cfg.to_owned(),
        }
    }

    pub fn write(&self, dir: &Path) {
        for (path, text) in &self.files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    pub fn show(&self) -> String {
        let mut out = format!("--cfg {}\n", self.cfg);
        for (path, text) in &self.files {
            out.push_str(&format!("==> {path} <==\n{text}\n"));
        }
        out
    }
}

/// A branch that is a directory on disk, seen as a git branch would be.
pub struct DiskTree {
    pub root: PathBuf,
    /// Files laid over the directory (the converted manifest).
    pub extra: BTreeMap<String, String>,
}

impl BranchFiles for DiskTree {
    fn read_file(&self, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(text) = self.extra.get(path) {
            return Ok(Some(text.clone().into_bytes()));
        }
        let Some(path) = readers::normalize_branch_path(path) else {
            return Ok(None);
        };
        Ok(std::fs::read(self.root.join(path)).ok())
    }

    fn is_dir(&self, path: &str) -> anyhow::Result<bool> {
        let path = readers::normalize_branch_path(path).unwrap_or_default();
        Ok(self.root.join(path).is_dir())
    }

    fn files(&self) -> anyhow::Result<Vec<String>> {
        fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if entry.path().is_dir() {
                    walk(&entry.path(), &format!("{name}/"), out);
                } else {
                    out.push(name);
                }
            }
        }
        let mut files = Vec::new();
        walk(&self.root, "", &mut files);
        files.extend(self.extra.keys().cloned());
        files.sort();
        Ok(files)
    }
}

/// The tests' python (`support::test_python`) when it has zc.buildout, as
/// the venv of `tools/test` does. Without it the test skips through
/// `support::require` (fails under `CI=true`).
pub fn python() -> Option<String> {
    super::skip::available(find_python())
}

fn find_python() -> Result<String, String> {
    let python = super::test_python();
    let probe = Command::new(&python)
        .args([
            "-c",
            "import zc.buildout, importlib.metadata as m; print(m.version('zc.buildout'))",
        ])
        .output();
    let problem = match probe {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if version == ZC_BUILDOUT {
                return Ok(python);
            }
            format!("{python} has zc.buildout {version}, the oracle is {ZC_BUILDOUT}")
        }
        Ok(_) => format!(
            "{python} has no zc.buildout (tools/test installs zc.buildout=={ZC_BUILDOUT} into its venv)"
        ),
        Err(err) => format!("no {python}: {err}"),
    };
    Err(format!("the zc.buildout oracle is unavailable: {problem}"))
}

/// `buildout_oracle.py` running, answering batches of cases.
pub struct Oracle {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl Oracle {
    pub fn start(python: &str) -> Self {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/buildout_oracle.py");
        let mut child = Command::new(python)
            .arg(script)
            .env("HOME", std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = std::io::BufReader::new(child.stdout.take().unwrap());
        Oracle {
            child,
            input,
            output,
        }
    }

    /// zc.buildout's answers for `(directory, cfg)` cases.
    pub fn ask(&mut self, cases: &[(&Path, &str)]) -> Vec<Value> {
        use std::io::{BufRead, Write};
        let input: Vec<Value> = cases
            .iter()
            .map(|(dir, cfg)| serde_json::json!({"dir": dir, "cfg": cfg}))
            .collect();
        writeln!(self.input, "{}", serde_json::to_string(&input).unwrap()).unwrap();
        self.input.flush().unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        serde_json::from_str(&line)
            .unwrap_or_else(|err| panic!("the oracle answered {line:?}: {err}"))
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// lava-deploy's answer, in the oracle's terms.
pub fn ours(dir: &Path, cfg: &str) -> Value {
    let tree = DiskTree {
        root: dir.to_owned(),
        extra: BTreeMap::new(),
    };
    match readers::effective(&tree, cfg) {
        Ok(view) => {
            let text = serde_json::to_string(&view).unwrap();
            serde_json::from_str(&text.replace(BUILDOUT_DIRECTORY, "<DIR>")).unwrap()
        }
        Err(err) => serde_json::json!({ "error": err.to_string() }),
    }
}

/// Whether the two answers agree: both refuse, or both give the same view.
pub fn agree(theirs: &Value, ours: &Value) -> bool {
    match (theirs.get("error"), ours.get("error")) {
        (Some(_), Some(_)) => true,
        (None, None) => theirs == ours,
        _ => false,
    }
}

/// The round trip of an accepted configuration: its manifest, written as a
/// native manifest and read back, is the same manifest. Abbreviated
/// `[git-heads]` commits stand for the full commits `manifest convert`
/// resolves them to. `Err` says what differs; `Ok(None)`: not accepted.
pub fn round_trip(dir: &Path, cfg: &str) -> Result<Option<Manifest>, String> {
    let tree = DiskTree {
        root: dir.to_owned(),
        extra: BTreeMap::new(),
    };
    let Ok(mut manifest) = readers::load(&tree, cfg) else {
        return Ok(None);
    };
    for component in manifest.components.values_mut() {
        if let ComponentSource::Git { rev: Some(rev), .. } = &mut component.source {
            if rev.len() < 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
                *rev = format!("{rev:0<40}");
            }
        }
    }
    let converted = manifest.to_toml_string();
    let name = "converted-by-test.toml".to_owned();
    let tree = DiskTree {
        root: dir.to_owned(),
        extra: [(name.clone(), converted.clone())].into(),
    };
    let back = readers::load(&tree, &name)
        .map_err(|err| format!("does not load back: {err}\n{converted}"))?;
    let view = |m: &Manifest| {
        let mut value = serde_json::to_value(m).unwrap();
        value.as_object_mut().unwrap().remove("file");
        value.as_object_mut().unwrap().remove("files");
        value
    };
    if view(&manifest) != view(&back) {
        return Err(format!(
            "differs after the round trip:\n{}\n{}\n{converted}",
            serde_json::to_string_pretty(&view(&manifest)).unwrap(),
            serde_json::to_string_pretty(&view(&back)).unwrap()
        ));
    }
    Ok(Some(manifest))
}

/// Both answers for cases written under `dir`.
pub fn judge(
    oracle: &mut Oracle,
    dir: &Path,
    cases: &[Case],
) -> Vec<(serde_json::Value, serde_json::Value)> {
    let dirs: Vec<_> = (0..cases.len())
        .map(|i| dir.join(format!("c{i}")))
        .collect();
    let mut answers = Vec::new();
    for (case, dir) in cases.iter().zip(&dirs) {
        let _ = std::fs::remove_dir_all(dir);
        case.write(dir);
        answers.push(ours(dir, &case.cfg));
    }
    let asked: Vec<_> = cases
        .iter()
        .zip(&dirs)
        .map(|(c, d)| (d.as_path(), c.cfg.as_str()))
        .collect();
    oracle.ask(&asked).into_iter().zip(answers).collect()
}

/// Smaller variants of a case, the biggest cuts first: a file, a section,
/// a line.
fn smaller(case: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    for (f, (path, text)) in case.files.iter().enumerate() {
        if *path != case.cfg {
            let mut smaller = case.clone();
            smaller.files.remove(f);
            out.push(smaller);
        }
        let lines: Vec<&str> = text.lines().collect();
        let starts: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with('['))
            .collect();
        let mut cuts: Vec<(usize, usize)> = starts
            .iter()
            .enumerate()
            .map(|(k, &start)| (start, starts.get(k + 1).copied().unwrap_or(lines.len())))
            .collect();
        cuts.extend((0..lines.len()).map(|i| (i, i + 1)));
        for (from, to) in cuts {
            let mut smaller = case.clone();
            let kept: Vec<&str> = [&lines[..from], &lines[to..]].concat();
            smaller.files[f].1 = kept.iter().map(|l| format!("{l}\n")).collect();
            out.push(smaller);
        }
    }
    out
}

/// Cuts the case down while the disagreement stays.
pub fn minimise(oracle: &mut Oracle, dir: &Path, mut case: Case) -> Case {
    'smaller: loop {
        for batch in smaller(&case).chunks(40) {
            let answers = judge(oracle, &dir.join("min"), batch);
            if let Some(i) = answers
                .iter()
                .position(|(theirs, ours)| !agree(theirs, ours))
            {
                case = batch[i].clone();
                continue 'smaller;
            }
        }
        return case;
    }
}

/// What zc.buildout would install for an accepted configuration, against
/// the manifest lava-deploy maps it to: every exact pin of the versions
/// section applied (to an egg, else as a constraint), every egg's range
/// given to the installer, every `find-links`/`index` kept (those inside
/// `${buildout:directory}` as directories of the branch). `Err` says what
/// differs; a configuration lava-deploy refuses is `Err` too, unless the
/// refusal is one of `REFUSALS`.
pub fn installs_alike(theirs: &Value, dir: &Path, cfg: &str) -> Result<(), String> {
    let tree = DiskTree {
        root: dir.to_owned(),
        extra: BTreeMap::new(),
    };
    let manifest = match readers::load(&tree, cfg) {
        Ok(manifest) => manifest,
        Err(err) => {
            let text = format!("{err:#}");
            if REFUSALS.iter().any(|r| text.contains(r)) {
                return Ok(());
            }
            return Err(format!(
                "zc.buildout accepts it, lava-deploy refuses: {text}"
            ));
        }
    };
    let normalize = lava_deploy::core::names::normalize_project;
    let component = |name: &str| {
        manifest
            .components
            .iter()
            .find(|(c, _)| normalize(c) == normalize(name))
            .map(|(_, c)| c)
    };
    let mut problems = Vec::new();
    for (name, value) in theirs["versions"].as_object().into_iter().flatten() {
        let value = value.as_str().unwrap_or_default().trim();
        let exact = value.strip_prefix("==").unwrap_or(value).trim();
        if value.is_empty() || value.starts_with(['<', '>', '!', '~']) || exact.starts_with('=') {
            continue;
        }
        // Not a version at all: zc.buildout fails on it when it installs.
        if component(name).is_some() || !lava_deploy::core::pep440::is_valid(exact) {
            continue;
        }
        let got = manifest.python.constraints.get(name.as_str());
        if got.map(String::as_str) != Some(exact) {
            problems.push(format!(
                "[versions] {name} = {value}: zc.buildout pins {exact}, lava-deploy's constraint is {got:?}"
            ));
        }
    }
    for egg in theirs["eggs"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(_, eggs)| eggs.as_array().into_iter().flatten())
    {
        let name = egg["name"].as_str().unwrap_or_default();
        let Some(ComponentSource::Python { version }) = component(name).map(|c| &c.source) else {
            continue;
        };
        let wanted: Vec<&str> = match egg["pin"].as_str() {
            Some(pin) => vec![pin],
            None => egg["specifier"]
                .as_str()
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .collect(),
        };
        let has: Vec<&str> = version.split(',').collect();
        if let Some(missing) = wanted.iter().find(|w| !has.contains(w)) {
            problems.push(format!(
                "egg {name}: zc.buildout installs it within {missing}, lava-deploy asks for {version:?}"
            ));
        }
    }
    let in_branch = |link: &str| match link.strip_prefix("<DIR>") {
        Some("") => ".".to_owned(),
        Some(rest) => rest.trim_start_matches('/').to_owned(),
        None => link.to_owned(),
    };
    for link in theirs["find-links"].as_array().into_iter().flatten() {
        let link = in_branch(link.as_str().unwrap_or_default());
        if !manifest.python.find_links.contains(&link) {
            problems.push(format!(
                "find-links {link}: zc.buildout looks there, lava-deploy has {:?}",
                manifest.python.find_links
            ));
        }
    }
    let index = theirs["index"]
        .as_str()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(in_branch);
    if index != manifest.python.index_url {
        problems.push(format!(
            "index: zc.buildout uses {index:?}, lava-deploy {:?}",
            manifest.python.index_url
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// What lava-deploy refuses although zc.buildout reads it, on purpose: one
/// environment per release (one version of an egg), pins it can check
/// before installing, sources it can fetch.
pub const REFUSALS: &[&str] = &[
    "allow-picked-versions = false",
    "one environment holds one version",
    "is both in [git-repos]",
    "[git-heads]",
    "not a URL or absolute path of a git repository",
    "not from a URL",
    "is not one exact version",
    "declares no project name",
    "is outside the manifest branch",
    "is not a valid component name",
];
