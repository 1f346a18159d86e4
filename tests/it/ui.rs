//! The browser check of the LAVA UI (`support::browser`, used by
//! lava_lab.rs) against pages this test serves: a styled page passes, and a
//! page whose stylesheet is 404 is caught, so the lab's check can fail.

use crate::support::{self, browser, HttpServer};

const PAGE: &str = "<!DOCTYPE html><html><head><title>t</title>\
    <link rel=\"stylesheet\" href=\"/static/site.css\"></head>\
    <body><nav class=\"navbar\">LAVA</nav><img src=\"/static/logo.svg\"></body></html>";

#[test]
fn the_browser_check_tells_a_styled_page_from_one_whose_stylesheet_is_missing() {
    if !support::require(browser::missing()) {
        return;
    }
    let server = HttpServer::start();
    server.put(
        "/static/site.css",
        b"body { font-family: sans-serif; } .navbar { background-color: #333; }".to_vec(),
    );
    server.put(
        "/static/logo.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"/>".to_vec(),
    );
    let styled = server.put("/styled/", PAGE.into());
    let report = browser::inspect(&styled);
    report.assert_styled();
    assert_eq!(report.title, "t");
    assert_eq!(report.navbar_background.as_deref(), Some("rgb(51, 51, 51)"));
    assert!(report.screenshot.is_file(), "{report:#?}");
    let kinds: Vec<&str> = report.resources.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["Stylesheet", "Image"], "{report:#?}");

    // The same page with its stylesheet gone: the check says which is 404.
    let broken = server.put("/broken/", PAGE.replace("site.css", "gone.css").into());
    let report = browser::inspect(&broken);
    let failure = std::panic::catch_unwind(|| report.assert_styled()).unwrap_err();
    let message = failure.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("/static/gone.css answered 404"),
        "{message}"
    );
    assert_eq!(
        report.navbar_background.as_deref(),
        Some("rgba(0, 0, 0, 0)")
    );
}
