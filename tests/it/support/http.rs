//! A real HTTP server on 127.0.0.1 serving in-memory files, with counters
//! and optional faults.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Default)]
struct State {
    files: Mutex<HashMap<String, Vec<u8>>>,
    requests: AtomicUsize,
    /// Answer 503 to this many requests before serving normally.
    fail_next: AtomicUsize,
    stop: AtomicBool,
}

pub struct HttpServer {
    pub base: String,
    state: Arc<State>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        let state = Arc::new(State::default());
        let thread = {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            std::thread::spawn(move || serve(&server, &state))
        };
        HttpServer {
            base,
            state,
            server,
            thread: Some(thread),
        }
    }

    /// Serves `bytes` at `path` (starting with `/`); returns the full URL.
    pub fn put(&self, path: &str, bytes: Vec<u8>) -> String {
        self.state
            .files
            .lock()
            .unwrap()
            .insert(path.to_owned(), bytes);
        format!("{}{path}", self.base)
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn fail_next(&self, count: usize) {
        self.state.fail_next.store(count, Ordering::SeqCst);
    }
}

fn serve(server: &tiny_http::Server, state: &State) {
    for request in server.incoming_requests() {
        if state.stop.load(Ordering::SeqCst) {
            break;
        }
        state.requests.fetch_add(1, Ordering::SeqCst);
        let path = request.url().split('?').next().unwrap_or("").to_owned();
        if state
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            let _ = request.respond(tiny_http::Response::empty(503));
            continue;
        }
        let body = state.files.lock().unwrap().get(&path).cloned();
        let _ = match body {
            Some(body) if path.ends_with('/') => {
                let html = tiny_http::Header::from_bytes("Content-Type", "text/html").unwrap();
                request.respond(tiny_http::Response::from_data(body).with_header(html))
            }
            Some(body) if path.ends_with(".css") => {
                // A browser applies a stylesheet only with its type.
                let css = tiny_http::Header::from_bytes("Content-Type", "text/css").unwrap();
                request.respond(tiny_http::Response::from_data(body).with_header(css))
            }
            Some(body) => {
                // Like a real index: files are immutable and cacheable.
                let cache =
                    tiny_http::Header::from_bytes("Cache-Control", "max-age=31536000").unwrap();
                request.respond(tiny_http::Response::from_data(body).with_header(cache))
            }
            None => request.respond(tiny_http::Response::empty(404)),
        };
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
