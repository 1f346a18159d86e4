//! HTTPS on 127.0.0.1 with a certificate authority made for the test (by
//! the `openssl` command): files and git smart HTTP, served by
//! `tls_server.py`. Stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct TlsServer {
    /// `files/` and `git/` are served as `/files/…` and `/git/…`.
    pub root: PathBuf,
    /// The test CA's certificate: what a client must trust.
    pub ca: PathBuf,
    port: u16,
    child: Child,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl TlsServer {
    pub fn start(dir: &Path) -> Self {
        let root = dir.join("served");
        std::fs::create_dir_all(root.join("files")).unwrap();
        std::fs::create_dir_all(root.join("git")).unwrap();
        let pki = dir.join("pki");
        std::fs::create_dir_all(&pki).unwrap();
        std::fs::write(
            pki.join("leaf.ext"),
            "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n\
             keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n",
        )
        .unwrap();
        let days = ["-days", "2"];
        openssl(
            &pki,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=lava-deploy test CA",
                days[0],
                days[1],
            ],
        );
        openssl(
            &pki,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        );
        openssl(
            &pki,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "leaf.pem",
                "-extfile",
                "leaf.ext",
                days[0],
                days[1],
            ],
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/tls_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&root)
            .arg(pki.join("leaf.pem"))
            .arg(pki.join("leaf.key"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        TlsServer {
            root,
            ca: pki.join("ca.pem"),
            port,
            child,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
