//! What every operation needs: the configuration, the root and the caches.

use std::sync::OnceLock;

use anyhow::Result;

use crate::cache::Cache;
use crate::cli::Config;
use crate::fetch::git::GitCache;
use crate::fetch::http::Downloader;
use crate::layout::Root;

pub struct Context {
    pub config: Config,
    pub root: Root,
    pub cache: Cache,
    pub git: GitCache,
    downloader: OnceLock<Downloader>,
}

impl Context {
    pub fn new(config: Config) -> Self {
        let root = Root::new(config.root.clone());
        let cache = Cache::new(root.cache_dir());
        let git = GitCache::new(&cache, config.offline, config.retries);
        Context {
            config,
            root,
            cache,
            git,
            downloader: OnceLock::new(),
        }
    }

    /// The one HTTP client, made on first use.
    pub fn downloader(&self) -> Result<&Downloader> {
        if let Some(downloader) = self.downloader.get() {
            return Ok(downloader);
        }
        let downloader =
            Downloader::new(&self.cache, self.config.retries, self.config.http_timeout)?;
        Ok(self.downloader.get_or_init(|| downloader))
    }
}
