use predicates::prelude::*;

use crate::support::{sha256_hex, stderr_of, tar_gz, tar_xz, zip_bytes, Env, HttpServer};

fn url_manifest(components: &[(&str, &str, &str)]) -> String {
    components
        .iter()
        .map(|(name, url, sha)| {
            format!("[components.{name}]\nurl = \"{url}\"\nsha256 = \"{sha}\"\n")
        })
        .collect()
}

#[test]
fn archives_are_verified_unpacked_and_cached() {
    let env = Env::new();
    let server = HttpServer::start();
    let theme = tar_gz(
        Some("theme-1.2"),
        &[("style.css", "body {}\n"), ("bin/run", "#!/bin/sh\n")],
    );
    let flat = zip_bytes(None, &[("a.txt", "a\n"), ("b/c.txt", "c\n")]);
    let xz = tar_xz("docs-1", &[("index.html", "<html>\n")]);
    let manifest = env.manifest_repo(
        &url_manifest(&[
            (
                "theme",
                &server.put("/theme-1.2.tar.gz", theme.clone()),
                &sha256_hex(&theme),
            ),
            (
                "flat",
                &server.put("/flat.zip", flat.clone()),
                &sha256_hex(&flat),
            ),
            (
                "docs",
                &server.put("/docs.tar.xz", xz.clone()),
                &sha256_hex(&xz),
            ),
        ]),
        Some("v1"),
    );
    env.install_from("a", &manifest).success();
    let src = env.instance_dir("a").join("code/current/src");
    assert_eq!(
        std::fs::read_to_string(src.join("theme/style.css")).unwrap(),
        "body {}\n"
    );
    assert_eq!(
        std::fs::read_to_string(src.join("flat/b/c.txt")).unwrap(),
        "c\n"
    );
    assert_eq!(
        std::fs::read_to_string(src.join("docs/index.html")).unwrap(),
        "<html>\n"
    );
    let lock = env.current_lock("a");
    assert_eq!(
        lock["components"]["theme"]["sha256"].as_str(),
        Some(sha256_hex(&theme).as_str())
    );
    let cached = env
        .root
        .join("cache/downloads-v1/sha256")
        .join(sha256_hex(&theme));
    assert!(cached.is_file(), "content-addressed cache entry");

    // A second instance is served from the cache.
    let requests = server.requests();
    env.install_from("b", &manifest).success();
    assert_eq!(server.requests(), requests, "no download for cached hashes");
}

#[test]
fn sha256_mismatch_fails_naming_component_and_caches_nothing() {
    let env = Env::new();
    let server = HttpServer::start();
    let good = tar_gz(Some("t"), &[("f", "good\n")]);
    let url = server.put("/t.tar.gz", good.clone());
    let manifest = env.manifest_repo(
        &url_manifest(&[("theme", &url, &sha256_hex(&good))]),
        Some("v1"),
    );
    env.install_from("x", &manifest).success();

    let tampered = tar_gz(Some("t"), &[("f", "evil\n")]);
    let url2 = server.put("/t2.tar.gz", tampered);
    manifest.write(
        "lava.toml",
        &url_manifest(&[("theme", &url2, &sha256_hex(b"something else"))]),
    );
    manifest.commit("new theme");
    let assert = env.run(&["upgrade", "x"]).code(1);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("component theme"), "{stderr}");
    assert!(stderr.contains("sha256 mismatch"), "{stderr}");
    assert!(stderr.contains(&url2), "{stderr}");
    assert_eq!(env.current("x"), "0001-v1");
    assert_eq!(env.code_entries("x"), ["0001-v1", "current"]);
    let cached = crate::support::list_dir(&env.root.join("cache/downloads-v1/sha256"));
    assert_eq!(
        cached,
        [sha256_hex(&good)],
        "nothing unverified entered the cache"
    );
}

#[test]
fn unreachable_and_missing_urls_fail_cleanly() {
    let env = Env::new();
    let server = HttpServer::start();
    let missing = format!("{}/missing.tar.gz", server.base);
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("http://127.0.0.1:{port}/x.tar.gz");
    let sha = "0".repeat(64);
    let manifest = env.manifest_repo(
        &url_manifest(&[("gone", &missing, &sha), ("down", &unreachable, &sha)]),
        None,
    );
    let assert = env.install_from("x", &manifest).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("2 components could not be fetched"),
        "{stderr}"
    );
    assert!(
        stderr.contains("component gone") && stderr.contains("404"),
        "{stderr}"
    );
    assert!(
        stderr.contains("component down") && stderr.contains(&unreachable),
        "{stderr}"
    );
    assert!(!env.instance_dir("x").exists());
}

#[test]
fn transient_server_errors_are_retried() {
    let env = Env::new();
    let server = HttpServer::start();
    let body = tar_gz(None, &[("f", "x\n")]);
    let url = server.put("/f.tar.gz", body.clone());
    let manifest = env.manifest_repo(&url_manifest(&[("f", &url, &sha256_hex(&body))]), None);
    server.fail_next(2);
    env.install_from("x", &manifest)
        .success()
        .stderr(predicate::str::contains("503"));
    assert_eq!(server.requests(), 3);
}
