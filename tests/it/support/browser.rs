//! A real browser for the UI tests: headless Chromium (Debian's `chromium`
//! and `chromium-driver`) driven by `browser.py` through selenium (pinned in
//! tools/test-requirements.txt), which reports what the page loaded as JSON.
//! Screenshots are kept under `target/test-artifacts/`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// What one page loaded in Chromium.
#[derive(Debug, Deserialize)]
pub struct PageReport {
    /// Where the browser ended (after redirects).
    pub url: String,
    pub title: String,
    /// Every stylesheet, script, image and font the page fetched.
    pub resources: Vec<Resource>,
    /// `document.styleSheets`: the rules each holds (-1: hidden, cross-origin).
    pub stylesheets: Vec<StyleSheet>,
    /// The computed `background-color` of `.navbar`, if the page has one.
    pub navbar_background: Option<String>,
    /// The computed `font-family` of `body`, and that of an unstyled page.
    pub body_font: String,
    pub default_body_font: String,
    /// The screenshot of the page.
    #[serde(skip)]
    pub screenshot: PathBuf,
}

#[derive(Debug, Deserialize)]
pub struct Resource {
    pub url: String,
    /// Chromium's resource type: Stylesheet, Script, Image, Font.
    #[serde(rename = "type")]
    pub kind: String,
    pub status: u16,
}

#[derive(Debug, Deserialize)]
pub struct StyleSheet {
    pub href: Option<String>,
    pub rules: i64,
}

/// Why Chromium cannot be driven here (for `support::require`), or None.
pub fn missing() -> Option<String> {
    if let Some(p) = [CHROMIUM, CHROMEDRIVER]
        .iter()
        .find(|p| !Path::new(p).is_file())
    {
        return Some(format!(
            "{p} is not installed (apt-get install chromium chromium-driver)"
        ));
    }
    let python = super::test_python();
    let has_selenium = std::process::Command::new(&python)
        .args(["-c", "import selenium"])
        .output()
        .is_ok_and(|out| out.status.success());
    (!has_selenium)
        .then(|| format!("{python} cannot import selenium (tools/test installs it into its venv)"))
}

/// Where screenshots go: `target/test-artifacts/`.
pub fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Opens `url` in headless Chromium, saves its screenshot under
/// `target/test-artifacts/` (named after the URL's path, `ui-scheduler-job-1.png`),
/// and reports what it loaded.
pub fn inspect(url: &str) -> PageReport {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/browser.py");
    let screenshot = artifacts().join(screenshot_name(url));
    let output = std::process::Command::new(super::test_python())
        // No __pycache__ beside the script in the source tree.
        .arg("-B")
        .arg(&script)
        .arg(url)
        .arg(&screenshot)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    assert!(
        output.status.success(),
        "chromium could not open {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut report: PageReport = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e} in browser.py's report: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    report.screenshot = screenshot;
    report
}

/// `http://127.0.0.1:8000/scheduler/job/1` → `ui-scheduler-job-1.png`.
fn screenshot_name(url: &str) -> String {
    let path = url.splitn(4, '/').nth(3).unwrap_or_default();
    let words: Vec<&str> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    match words.is_empty() {
        true => "ui-home.png".to_owned(),
        false => format!("ui-{}.png", words.join("-")),
    }
}

impl PageReport {
    /// Fails the test unless the page looks styled: it fetched at least one
    /// stylesheet, every resource answered 200, every stylesheet has rules,
    /// and the body's font is not the browser's default.
    pub fn assert_styled(&self) {
        let shot = self.screenshot.display();
        assert!(
            self.resources.iter().any(|r| r.kind == "Stylesheet"),
            "{} loaded no stylesheet (screenshot {shot}): {self:#?}",
            self.url
        );
        for resource in &self.resources {
            assert_eq!(
                resource.status, 200,
                "{} {} answered {} on {} (screenshot {shot})",
                resource.kind, resource.url, resource.status, self.url
            );
        }
        assert!(!self.stylesheets.is_empty(), "{self:#?}");
        for sheet in &self.stylesheets {
            assert!(
                sheet.rules > 0,
                "stylesheet {:?} of {} has no rules (screenshot {shot})",
                sheet.href,
                self.url
            );
        }
        assert_ne!(
            self.body_font, self.default_body_font,
            "{}: the body has the browser's default font (screenshot {shot})",
            self.url
        );
    }
}
