//! Real git servers on 127.0.0.1 serving the repositories of a directory:
//! `git daemon` (git://) and `git http-backend` behind a small HTTP server
//! (smart HTTP). Each is stopped when dropped.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `git daemon --export-all --enable=upload-pack` serving `base`.
pub struct GitDaemon {
    pub base: PathBuf,
    port: u16,
    child: Child,
}

impl GitDaemon {
    /// Starts the daemon and waits until it accepts connections.
    pub fn start(base: &Path) -> Self {
        std::fs::create_dir_all(base).unwrap();
        // Another process may take the port between the probe and the
        // daemon's bind: try a few.
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new("git")
                .args([
                    "daemon",
                    "--reuseaddr",
                    "--export-all",
                    "--enable=upload-pack",
                    "--listen=127.0.0.1",
                ])
                .arg(format!("--port={port}"))
                .arg(format!("--base-path={}", base.display()))
                .arg(base)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", base)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("git daemon starts");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return GitDaemon {
                        base: base.to_owned(),
                        port,
                        child,
                    };
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("git daemon did not start");
    }

    /// The URL of the repository `name` (a directory of `base`).
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Smart HTTP: `git http-backend` run as a CGI program for each request,
/// the way a web server runs it.
pub struct GitHttp {
    pub base: PathBuf,
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GitHttp {
    pub fn start(base: &Path) -> Self {
        std::fs::create_dir_all(base).unwrap();
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let addr = server.server_addr().to_ip().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (server, requests, stop) = (server.clone(), requests.clone(), stop.clone());
            let base = base.to_owned();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    requests.fetch_add(1, Ordering::SeqCst);
                    cgi(&base, request);
                }
            })
        };
        GitHttp {
            base: base.to_owned(),
            addr,
            server,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    /// HTTP requests served so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `git http-backend` for one request (CGI/1.1) and relays its answer.
fn cgi(base: &Path, mut request: tiny_http::Request) {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let header = |name: &str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let content_type = header("Content-Type").unwrap_or_default();
    let encoding = header("Content-Encoding").unwrap_or_default();
    let protocol = header("Git-Protocol").unwrap_or_default();
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    let mut child = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", base)
        .env("GIT_PROJECT_ROOT", base)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REQUEST_METHOD", request.method().as_str())
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", content_type)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", encoding)
        .env("GIT_PROTOCOL", protocol)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("git http-backend runs");
    // Feed the body from a thread: the backend may answer before reading it all.
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&body);
    });
    let mut output = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut output)
        .unwrap();
    let _ = child.wait();
    let _ = feeder.join();
    // CGI output: header lines, a blank line, the body.
    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| (at, 4))
        .or_else(|| {
            output
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|at| (at, 2))
        });
    let Some((at, gap)) = split else {
        let _ = request.respond(tiny_http::Response::empty(502));
        return;
    };
    let head = String::from_utf8_lossy(&output[..at]).into_owned();
    let mut status = 200;
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("Status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|code| code.parse().ok())
                .unwrap_or(500);
        } else if let Ok(header) = tiny_http::Header::from_bytes(name.trim(), value) {
            headers.push(header);
        }
    }
    let body = output[at + gap..].to_vec();
    let mut response = tiny_http::Response::from_data(body).with_status_code(status);
    for header in headers {
        response.add_header(header);
    }
    let _ = request.respond(response);
}
