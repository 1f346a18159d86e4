//! HTTPS remotes and downloads from a server whose certificate a private CA
//! signed (a lab's own GitLab or artifact server): refused with a message
//! that says what to do, trusted once `SSL_CERT_FILE` names the CA.

use crate::support::tls::TlsServer;
use crate::support::{sha256_hex, stderr_of, tar_gz, Env, GitRepo};

#[test]
fn a_private_ca_is_trusted_through_ssl_cert_file_for_git_and_downloads() {
    let env = Env::new();
    let server = TlsServer::start(&env.path("tls"));
    let tool = GitRepo::init(&server.root.join("git/tool"));
    tool.write("VERSION", "1\n");
    tool.commit("one");
    tool.tag("v1");
    let archive = tar_gz(Some("theme-1.0"), &[("style.css", "body {}\n")]);
    std::fs::write(server.root.join("files/theme.tar.gz"), &archive).unwrap();
    let git = format!(
        "[components.tool]\ngit = \"{}\"\nrev = \"v1\"\n",
        server.url("git/tool")
    );
    let url = format!(
        "[components.theme]\nurl = \"{}\"\nsha256 = \"{}\"\n",
        server.url("files/theme.tar.gz"),
        sha256_hex(&archive)
    );
    // What this machine trusts does not include the test's CA.
    let untrusted = |manifest: &GitRepo| {
        env.cmd()
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .args(["install", "x", "--manifest-branch", &manifest.url()])
            .assert()
            .code(1)
    };

    let git_only = env.manifest_repo(&git, None);
    let stderr = stderr_of(&untrusted(&git_only));
    assert!(
        stderr.contains(&format!("cannot fetch {}", server.url("git/tool"))),
        "{stderr}"
    );
    assert!(stderr.contains("SSL_CERT_FILE"), "{stderr}");
    assert!(!env.instance_dir("x").exists());

    let url_only = env.git_repo("url-only");
    url_only.write("lava.toml", &url);
    url_only.commit("url");
    let refused = untrusted(&url_only);
    let stderr = stderr_of(&refused);
    assert!(
        stderr.contains(&format!(
            "cannot download {}: the server's certificate is not trusted",
            server.url("files/theme.tar.gz")
        )),
        "{stderr}"
    );
    assert!(stderr.contains("SSL_CERT_FILE"), "{stderr}");
    assert!(
        !stderr.contains("trying again"),
        "an untrusted certificate is not retried: {stderr}"
    );

    // Trusted: both arrive.
    let both = env.git_repo("both");
    both.write("lava.toml", &format!("{git}{url}"));
    both.commit("both");
    env.cmd()
        .env("SSL_CERT_FILE", &server.ca)
        .args(["install", "x", "--manifest-branch", &both.url()])
        .assert()
        .success();
    let release = env.instance_dir("x").join("code/current");
    assert_eq!(
        std::fs::read_to_string(release.join("src/tool/VERSION")).unwrap(),
        "1\n"
    );
    assert!(release.join("src/theme/style.css").is_file());
}
