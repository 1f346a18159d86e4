//! Operations: what the commands do, as functions that take settings and
//! return data. They print nothing (the CLI renders their results) and
//! never see clap. Progress and diagnostics go through `tracing` and
//! `infra::progress`.

pub mod branch_links;
pub mod build;
pub mod control;
pub mod deploy;
pub mod develop;
pub mod exec;
pub mod history;
pub mod hooks;
pub mod install;
pub mod maintain;
pub mod manifest;
pub mod outcome;
pub mod overrides;
pub mod prepare;
pub mod resolve;
pub mod rollback;
pub mod sbom;
pub mod secrets;
pub mod source;
pub mod status;
pub mod trust;
pub mod upgrade;
pub mod verify;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Result;

use crate::core::names::InstanceName;
use crate::core::record::InstanceRecord;
use crate::infra::cache::Cache;
use crate::infra::git::GitCache;
use crate::infra::http::Downloader;
use crate::infra::lock::Wait;
use crate::infra::python::installer::{Installer, Tools};
use crate::infra::tree::LinkMode;
use crate::invalid;
use crate::store::{Instance, InstanceLock, Root};

/// Settings every operation shares (the CLI builds them from its flags).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Absolute, so paths written into releases (bin/rebuild) hold from any
    /// working directory.
    pub root: PathBuf,
    pub offline: bool,
    /// How many components are resolved and fetched at once.
    pub jobs: usize,
    /// `None`: uv when on PATH, else pip.
    pub python_installer: Option<Installer>,
    pub wait: Wait,
    pub retries: u32,
    pub http_timeout: Duration,
    /// How unchanged trees are reused from the current release.
    pub link_mode: LinkMode,
    /// `--no-hooks`: skip every hook (said loudly).
    pub no_hooks: bool,
    /// `-v`: hook output is copied to the terminal too.
    pub verbose: bool,
}

/// Components fetched at once when `--jobs` is not given: network-bound work,
/// so a little more than the core count, but small enough to be polite.
pub const DEFAULT_JOBS: usize = 4;

/// The root used when neither `--root` nor `LAVA_ROOT` is given.
pub const DEFAULT_ROOT: &str = "/srv/lava";

/// Releases `upgrade` keeps, and `prune` without `--keep`.
pub const DEFAULT_KEEP: usize = 5;

/// What every operation needs: the settings, the root and the caches.
pub struct Context {
    pub settings: Settings,
    pub root: Root,
    pub cache: Cache,
    pub git: GitCache,
    downloader: OnceLock<Downloader>,
    /// The instance lock this run holds, until its history line is written.
    held: Mutex<Option<history::Held>>,
    /// When the run started (the time of an interrupted command's line).
    started: history::Started,
}

impl Context {
    pub fn new(settings: Settings) -> Self {
        let root = Root::new(settings.root.clone());
        let cache = Cache::new(root.cache_dir());
        let git = GitCache::new(&cache, settings.offline, settings.retries, settings.jobs);
        Context {
            settings,
            root,
            cache,
            git,
            downloader: OnceLock::new(),
            held: Mutex::new(None),
            started: history::Started::now(),
        }
    }

    /// The one HTTP client, made on first use.
    pub fn downloader(&self) -> Result<&Downloader> {
        if let Some(downloader) = self.downloader.get() {
            return Ok(downloader);
        }
        let downloader = Downloader::new(
            &self.cache,
            self.settings.retries,
            self.settings.http_timeout,
            self.settings.offline,
        )?;
        Ok(self.downloader.get_or_init(|| downloader))
    }

    /// What the python installers need.
    pub fn python_tools(&self) -> Tools {
        Tools {
            forced: self.settings.python_installer,
            offline: self.settings.offline,
            cache: self.cache.clone(),
            temp: None,
        }
    }

    /// The instance of that name, whether it exists or not.
    pub fn instance(&self, name: &InstanceName) -> Instance {
        self.root.instance(name)
    }

    /// An instance that must already exist; checked before anything is written.
    pub fn existing_instance(
        &self,
        name: &InstanceName,
    ) -> crate::core::error::Result<(Instance, InstanceRecord)> {
        let instance = self.instance(name);
        let name = &instance.name;
        if !instance.exists() {
            let known = self.root.instance_names().unwrap_or_default();
            let known = if known.is_empty() {
                "there are none yet".to_owned()
            } else {
                format!(
                    "known instances: {}",
                    known
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(invalid!(
                "no instance {name} under {} ({known}); create it with `lava-deploy install {name}` \
                 or pass the right --root",
                self.root.path.display()
            ));
        }
        let record = instance.read_record()?;
        Ok((instance, record))
    }

    /// An existing instance under its lock, with its record as it stands
    /// once whatever an interrupted run left is finished (or rolled back):
    /// the prologue of every command that changes a release.
    pub fn lock_existing(
        &self,
        name: &InstanceName,
        command: &str,
        trail: &mut outcome::Trail,
    ) -> crate::core::error::Result<Locked> {
        let mut locked = self.lock_existing_as_is(name, command)?;
        deploy::recover_interrupted(self, &locked.instance, &mut locked.record, trail)?;
        Ok(locked)
    }

    /// Takes the instance lock for `command` (its history's action); the
    /// context keeps it until [`history::record`] has written the
    /// command's line (the lock is released then, not when the caller's
    /// copy goes).
    pub fn lock_instance(
        &self,
        instance: &Instance,
        command: &str,
    ) -> crate::core::error::Result<Arc<InstanceLock>> {
        let lock = Arc::new(instance.lock(command, self.settings.wait)?);
        let held = history::Held {
            instance: instance.clone(),
            action: command.to_owned(),
            before: instance.current_release().map(|r| r.to_string()),
            _lock: Arc::clone(&lock),
        };
        history::on_interrupt(&held, self.started);
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(held);
        Ok(lock)
    }

    /// The lock kept by [`Context::lock_instance`], handed over to be
    /// released once the history line is written.
    fn release_held(&self) -> Option<history::Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// The same without the recovery (`rollback` decides `current` itself;
    /// `prune` leaves the pending marker to the next deployment).
    pub fn lock_existing_as_is(
        &self,
        name: &InstanceName,
        command: &str,
    ) -> crate::core::error::Result<Locked> {
        let (instance, _) = self.existing_instance(name)?;
        let lock = self.lock_instance(&instance, command)?;
        // Read again under the lock: another command may have changed it.
        let record = instance.read_record()?;
        Ok(Locked {
            instance,
            record,
            _lock: lock,
        })
    }
}

/// An instance whose lock this run holds (released on drop).
pub struct Locked {
    pub instance: Instance,
    pub record: InstanceRecord,
    _lock: Arc<InstanceLock>,
}
