//! Archive downloads: one HTTP client, a content-addressed cache named by the
//! sha256, bytes hashed while streaming to a `.partial` file, verified, then
//! renamed into place. Transient failures are retried; nothing unverified
//! ever enters the cache.

use fs_err as fs;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::infra::cache::{self, Bucket, Cache};

pub struct Downloader {
    client: reqwest::blocking::Client,
    dir: PathBuf,
    retries: u32,
    /// `--offline`: only the cache.
    offline: bool,
}

/// What `--offline` says of a download it forbids.
fn offline_miss(url: &str) -> anyhow::Error {
    anyhow::anyhow!("{url} is not in the cache, and --offline forbids downloading it")
}

/// A verified file in the cache.
#[derive(Debug, Clone)]
pub struct Download {
    pub path: PathBuf,
    pub sha256: String,
}

/// A failure worth trying again (connection, timeout, 5xx, cut-off body)?
#[derive(Debug)]
struct Attempt {
    error: anyhow::Error,
    transient: bool,
}

impl Downloader {
    pub fn new(cache: &Cache, retries: u32, timeout: Duration, offline: bool) -> Result<Self> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(timeout)
            // blocking: applies to each connect, read and write, not the whole body
            .timeout(timeout)
            .user_agent(concat!("lava-deploy/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Downloader {
            client,
            dir: cache.bucket(Bucket::Downloads).join("sha256"),
            retries,
            offline,
        })
    }

    /// Offline, fails now, as [`Downloader::fetch`] would later, when the
    /// file of `url` with this hash is not in the cache.
    pub fn ensure_cached_if_offline(&self, url: &str, sha256: &str) -> Result<()> {
        if self.offline && self.cached(sha256).is_none() {
            return Err(offline_miss(url));
        }
        Ok(())
    }

    /// The cached file with this hash, if a run already downloaded it.
    pub fn cached(&self, sha256: &str) -> Option<Download> {
        let path = self.dir.join(sha256);
        path.is_file().then(|| Download {
            path,
            sha256: sha256.to_owned(),
        })
    }

    /// Downloads `url` (unless the expected hash is cached) and verifies it.
    pub fn fetch(&self, url: &str, expected: Option<&str>) -> Result<Download> {
        if let Some(found) = expected.and_then(|sha| self.cached(sha)) {
            return Ok(found);
        }
        if self.offline {
            return Err(offline_miss(url));
        }
        fs::create_dir_all(&self.dir)?;
        cache::remove_stale_temps(&self.dir);
        super::retry::with_retry(
            self.retries,
            || self.try_fetch(url, expected),
            |failure| failure.transient.then(|| format!("{:#}", failure.error)),
        )
        .map_err(|failure| failure.error)
    }

    fn try_fetch(
        &self,
        url: &str,
        expected: Option<&str>,
    ) -> std::result::Result<Download, Attempt> {
        let partial = crate::infra::fs::temp_sibling(&self.dir.join("download.partial"));
        let result = self.stream_to(url, &partial);
        let sha256 = match result {
            Ok(sha256) => sha256,
            Err(failure) => {
                let _ = fs::remove_file(&partial);
                return Err(failure);
            }
        };
        if let Some(expected) = expected {
            if sha256 != expected {
                let _ = fs::remove_file(&partial);
                return Err(Attempt {
                    error: anyhow::anyhow!(
                        "sha256 mismatch for {url}: expected {expected}, got {sha256}; \
                         the file changed upstream or the download is corrupt: check the URL \
                         and update sha256 in the manifest if the new file is trusted"
                    ),
                    transient: false,
                });
            }
        }
        let path = self.dir.join(&sha256);
        fs::rename(&partial, &path)
            .with_context(|| format!("cannot store download in {}", path.display()))
            .map_err(|error| Attempt {
                error,
                transient: false,
            })?;
        Ok(Download { path, sha256 })
    }

    /// Streams the body to `partial`, hashing as it goes.
    fn stream_to(
        &self,
        url: &str,
        partial: &std::path::Path,
    ) -> std::result::Result<String, Attempt> {
        let fatal = |error: std::io::Error| Attempt {
            error: error.into(),
            transient: false,
        };
        let mut file = fs::File::create(partial).map_err(fatal)?;
        let mut hasher = Sha256::new();
        let mut body: Box<dyn Read> = if let Some(path) = url.strip_prefix("file://") {
            Box::new(
                fs::File::open(path)
                    .with_context(|| format!("cannot read {url}"))
                    .map_err(|error| Attempt {
                        error,
                        transient: false,
                    })?,
            )
        } else {
            let response = self.client.get(url).send().map_err(|err| {
                if let Some(problem) = untrusted_certificate(&err) {
                    // Trying again cannot help: the fix is the operator's.
                    return Attempt {
                        transient: false,
                        error: anyhow::anyhow!(
                            "cannot download {url}: the server's certificate is not trusted \
                             ({problem}); {UNTRUSTED_HINT}"
                        ),
                    };
                }
                Attempt {
                    transient: err.is_connect() || err.is_timeout() || err.is_request(),
                    error: anyhow::Error::new(err).context(format!("cannot download {url}")),
                }
            })?;
            let status = response.status();
            if !status.is_success() {
                return Err(Attempt {
                    error: anyhow::anyhow!("cannot download {url}: the server answered {status}"),
                    transient: status.is_server_error() || status.as_u16() == 429,
                });
            }
            Box::new(response)
        };
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = body.read(&mut buffer).map_err(|err| Attempt {
                error: anyhow::Error::new(err).context(format!("download of {url} was cut off")),
                transient: true,
            })?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            crate::infra::progress::add_bytes(read as u64);
            file.write_all(&buffer[..read]).map_err(fatal)?;
        }
        file.sync_all().map_err(fatal)?;
        Ok(hex::encode(hasher.finalize()))
    }
}

/// What to do about a server whose certificate is not trusted; the same
/// for git remotes and downloads (and for pip and uv, which read the same
/// variable).
pub const UNTRUSTED_HINT: &str = "if the server's certificate is signed by your own CA, add \
    that CA to this machine's trust store (update-ca-certificates) or point SSL_CERT_FILE at \
    a PEM file holding it";

/// The TLS layer's reason, when `err` is a certificate the client does not
/// trust (rustls says `invalid peer certificate: …`).
fn untrusted_certificate(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        let text = current.to_string();
        if let Some(at) = text.find("invalid peer certificate") {
            return Some(text[at..].to_owned());
        }
        source = current.source();
    }
    None
}

/// One health-check request: `Ok` for a 2xx answer, else what happened.
/// The client is made once per process: a check is retried every interval,
/// and making one loads the system's CA certificates. `timeout` bounds the
/// whole request, connecting included.
pub fn probe(url: &str, timeout: Duration) -> std::result::Result<u16, String> {
    match probe_client()?.get(url).timeout(timeout).send() {
        Ok(response) if response.status().is_success() => Ok(response.status().as_u16()),
        Ok(response) => Err(format!("{url} answered {}", response.status())),
        Err(err) => Err(format!("{url}: {:#}", anyhow::Error::new(err))),
    }
}

/// A GET whose answer must be 2xx, read whole but at most `limit` bytes,
/// within `timeout` in all.
pub fn get_small(url: &str, timeout: Duration, limit: u64) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let failed = |err: reqwest::Error| format!("{url}: {:#}", anyhow::Error::new(err));
    let response = probe_client()?
        .get(url)
        .timeout(timeout)
        .send()
        .map_err(failed)?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let mut body = Vec::new();
    response
        .take(limit)
        .read_to_end(&mut body)
        .map_err(|err| format!("{url}: {err}"))?;
    Ok(body)
}

/// The client of health checks: no retries, a timeout per request.
fn probe_client() -> std::result::Result<&'static reqwest::blocking::Client, String> {
    static CLIENT: std::sync::OnceLock<reqwest::Result<reqwest::blocking::Client>> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::blocking::Client::builder()
                .user_agent(concat!("lava-deploy/", env!("CARGO_PKG_VERSION")))
                .build()
        })
        .as_ref()
        .map_err(|err| format!("cannot set up the HTTP client: {err}"))
}
