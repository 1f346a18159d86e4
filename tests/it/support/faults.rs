//! An HTTP server on 127.0.0.1 that misbehaves on purpose: each request
//! takes the next scripted fault (then behaves), so tests can prove
//! retries, timeouts and hash checks. Bounded: it stops with the test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Close the connection without answering.
    Drop,
    /// Say nothing for this long, then close.
    Stall(Duration),
    /// Announce the whole body, send half, close.
    Truncate,
    /// Answer 503.
    Unavailable,
}

pub struct FaultyServer {
    pub base: String,
    body: Arc<Vec<u8>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FaultyServer {
    /// Serves `body` at every path, after the scripted `faults`; with
    /// `forever`, the last fault repeats for good.
    pub fn start(body: Vec<u8>, faults: Vec<Fault>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = FaultyServer {
            base,
            body: Arc::new(body),
            faults: Arc::new(Mutex::new(faults.into_iter().rev().collect())),
            requests: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (body, faults, requests, stop) = (
            server.body.clone(),
            server.faults.clone(),
            server.requests.clone(),
            server.stop.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        requests.fetch_add(1, Ordering::SeqCst);
                        let fault = faults.lock().unwrap().pop();
                        let body = body.clone();
                        std::thread::spawn(move || answer(stream, &body, fault));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// From now on every request gets `fault`.
    pub fn always(&self, fault: Fault, count: usize) {
        *self.faults.lock().unwrap() = vec![fault; count];
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn answer(mut stream: TcpStream, body: &[u8], fault: Option<Fault>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let header = |status: &str, length: usize| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n")
    };
    match fault {
        Some(Fault::Drop) => {}
        Some(Fault::Stall(duration)) => std::thread::sleep(duration),
        Some(Fault::Truncate) => {
            let _ = stream.write_all(header("200 OK", body.len()).as_bytes());
            let _ = stream.write_all(&body[..body.len() / 2]);
        }
        Some(Fault::Unavailable) => {
            let _ = stream.write_all(header("503 Service Unavailable", 0).as_bytes());
        }
        None => {
            let _ = stream.write_all(header("200 OK", body.len()).as_bytes());
            let _ = stream.write_all(body);
        }
    }
    let _ = stream.flush();
}
