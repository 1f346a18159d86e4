//! The command line: parsed by clap into a [`Config`] plus a [`Command`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::core::env_vars;
use crate::core::names::InstanceName;
use crate::infra::lock::Wait;
use crate::infra::python::installer::Installer;
use crate::infra::tree::LinkMode;
use crate::ops::source::SourceRequest;
use crate::ops::{Settings, DEFAULT_JOBS, DEFAULT_KEEP, DEFAULT_ROOT};

/// Install and upgrade named service instances from a versioned manifest kept in a git branch.
#[derive(Debug, Parser)]
#[command(name = "lava-deploy", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Root of all instances and the shared cache [default: /srv/lava]
    #[arg(long, global = true, env = env_vars::LAVA_ROOT, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Use only the cache, never the network
    #[arg(long, global = true, env = env_vars::LAVA_OFFLINE, value_parser = clap::builder::BoolishValueParser::new())]
    pub offline: bool,
    /// How many components are fetched at once
    #[arg(long, short = 'j', global = true, env = env_vars::LAVA_JOBS, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// Python installer: uv or pip [default: uv when on PATH, else pip]
    #[arg(long, global = true, env = env_vars::LAVA_PYTHON_INSTALLER, value_name = "NAME")]
    pub python_installer: Option<InstallerArg>,
    /// Wait for a busy instance instead of failing: for SECONDS, or as long as it takes
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "0", value_name = "SECONDS")]
    pub wait: Option<u64>,
    /// Retries of a transient download failure
    #[arg(long, global = true, env = env_vars::LAVA_RETRIES, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// Seconds a download may stall (connect or read) before it fails
    #[arg(long, global = true, env = env_vars::LAVA_HTTP_TIMEOUT, value_name = "SECONDS", default_value_t = 30)]
    pub http_timeout: u64,
    /// More output (-v: per-component detail, -vv: debug)
    #[arg(long, short, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only warnings and errors
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Plain log lines instead of progress bars, even on a terminal
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// How unchanged trees are reused from the current release: clone
    /// (copy-on-write, else copy), copy, or hardlink (shares files between releases)
    #[arg(long, global = true, env = env_vars::LAVA_LINK_MODE, value_name = "MODE", default_value = "clone")]
    pub link_mode: LinkModeArg,
    /// Do not run the manifest's hooks (setup, build, pre-switch,
    /// post-switch, check, rollback, stop); said loudly
    #[arg(long, global = true)]
    pub no_hooks: bool,
}

/// `--python-installer` (the infra type knows no clap).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InstallerArg {
    Uv,
    Pip,
}

/// `--link-mode`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LinkModeArg {
    Clone,
    Copy,
    Hardlink,
}

/// `sbom --format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SbomFormat {
    Cyclonedx,
    Spdx,
}

/// Which manifest to use: the branch and the file inside it.
#[derive(Debug, Args, Clone, Default)]
pub struct SourceArgs {
    /// Git repository of the manifest branch (URL or path), optionally `#REF`
    #[arg(long, env = env_vars::LAVA_MANIFEST_BRANCH, value_name = "SPEC")]
    pub manifest_branch: Option<String>,
    /// Manifest file inside the branch [default: lava.toml, else buildout.cfg]
    #[arg(long, env = env_vars::LAVA_BUILDOUT_CFG, value_name = "FILE")]
    pub cfg: Option<String>,
    /// OpenSSH allowed-signers file: the manifest commit (or #TAG's annotated
    /// tag) must carry a valid SSH signature by a key listed there; recorded,
    /// so upgrades keep checking
    #[arg(long, env = env_vars::LAVA_MANIFEST_SIGNERS, value_name = "FILE")]
    pub manifest_signers: Option<PathBuf>,
    /// Revoked keys (an OpenSSH KRL or public keys) no manifest signature may be made with
    #[arg(long, env = env_vars::LAVA_MANIFEST_REVOKED, value_name = "FILE")]
    pub manifest_revoked: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an instance and its first release
    Install {
        /// Instance name
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        #[command(flatten)]
        source: SourceArgs,
        /// One JSON object on stdout (also on failure)
        #[arg(long)]
        json: bool,
    },
    /// Re-read the manifest branch and switch to a new release if anything changed
    Upgrade {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        #[command(flatten)]
        source: SourceArgs,
        /// Build the pins of a release that failed its post-switch or check again
        #[arg(long)]
        retry_failed: bool,
        /// One JSON object on stdout (also on failure)
        #[arg(long)]
        json: bool,
    },
    /// Show what `upgrade` would change, without changing anything
    Plan {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        #[command(flatten)]
        source: SourceArgs,
        /// Plan as `upgrade --retry-failed` would run
        #[arg(long)]
        retry_failed: bool,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// What is deployed: one instance in detail, or every instance
    Status {
        #[arg(value_parser = InstanceName::parse)]
        name: Option<InstanceName>,
        #[arg(long)]
        json: bool,
    },
    /// The instances under the root, one line each
    List {
        #[arg(long)]
        json: bool,
    },
    /// What was done to an instance: one line per install, upgrade, rollback, … (oldest first)
    History {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// The entries as a JSON array
        #[arg(long)]
        json: bool,
        /// Only the last N entries
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// New release from the current release's lock plus the overrides now in local/
    Rebuild {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// One JSON object on stdout (also on failure)
        #[arg(long)]
        json: bool,
    },
    /// Link a checkout into local/ under its component's name, and rebuild
    Develop {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// The checkout (it is linked, never moved or changed)
        dir: PathBuf,
        /// One JSON object on stdout (also on failure)
        #[arg(long)]
        json: bool,
    },
    /// Remove a component's link from local/, and rebuild
    Undevelop {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        component: String,
        /// One JSON object on stdout (also on failure)
        #[arg(long)]
        json: bool,
    },
    /// Remove old releases, keeping the newest N, current and the one before it
    Prune {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        #[arg(long, default_value_t = DEFAULT_KEEP)]
        keep: usize,
    },
    /// Delete an instance (never the shared cache)
    Remove {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// Do not ask (required when stdin is not a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Check the current release against its lava.lock and report every difference
    Verify {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
    },
    /// Point `current` back at the previous (or the named) release
    Rollback {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// Release to switch to [default: the one before current that did not fail]
        release: Option<String>,
        /// One JSON object on stdout (also on failure)
        #[arg(long)]
        json: bool,
    },
    /// Print a software bill of materials of a release (from its lava.lock) as JSON
    Sbom {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// cyclonedx (CycloneDX 1.5) or spdx (SPDX 2.3)
        #[arg(long, default_value = "cyclonedx")]
        format: SbomFormat,
        /// Release (full name or number) [default: current]
        #[arg(long)]
        release: Option<String>,
    },
    /// Work with manifests
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// An instance's secrets (exported to its hooks and `exec`, never shown)
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Run a command in the current release as its hooks run (no instance lock)
    Exec {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// The command and its arguments, after `--`
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
    /// Stop the current release's services (its `stop` hooks); nothing is deleted
    Stop {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// One JSON object on stdout (also on failure)
        #[arg(long)]
        json: bool,
    },
    /// Start the current release's services again (its `post-switch`, then its `check`)
    Start {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// One JSON object on stdout (also on failure)
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    /// of every subcommand and flag; for instance names as well, let the
    /// shell load `COMPLETE=SHELL lava-deploy` instead (see the README)
    Completions {
        /// The shell the script is for
        shell: clap_complete::Shell,
    },
    /// Write the man pages, one per subcommand, into DIR (for packaging)
    #[command(hide = true)]
    Man {
        /// Where the `*.1` files go (created when missing)
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Set a secret: the value is read from standard input (all of it; the
    /// trailing newline of a one-line value is dropped), or from --from-file.
    /// Works before the first install.
    Set {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        /// An environment variable name (the hooks get it as one)
        key: String,
        /// Read the value from this file instead of standard input
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
        /// Only say whether the value would change; write nothing
        #[arg(long)]
        check: bool,
        /// `{"instance", "key", "changed"}` on stdout
        #[arg(long)]
        json: bool,
    },
    /// The keys of an instance's secrets (never their values)
    List {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        #[arg(long)]
        json: bool,
    },
    /// Remove a secret
    Rm {
        #[arg(value_parser = InstanceName::parse)]
        name: InstanceName,
        key: String,
        /// `{"instance", "key", "changed"}` on stdout
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Print the effective manifest after `extends`
    Show {
        #[command(flatten)]
        source: SourceArgs,
        #[arg(long)]
        json: bool,
    },
    /// Print the native TOML equivalent of a zc.buildout configuration
    Convert {
        /// The *.cfg file (its `extends` are read relative to it)
        file: PathBuf,
    },
}

impl SourceArgs {
    pub fn request(&self) -> SourceRequest {
        SourceRequest {
            manifest_branch: self.manifest_branch.clone(),
            cfg: self.cfg.clone(),
            signers: self.manifest_signers.clone(),
            revoked: self.manifest_revoked.clone(),
        }
    }
}

impl GlobalArgs {
    /// The operations' settings from the global flags (clap has already
    /// merged the environment variables, flags first).
    pub fn settings(&self) -> Settings {
        Settings {
            root: std::path::absolute(
                self.root
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT)),
            )
            .unwrap_or_else(|_| PathBuf::from(DEFAULT_ROOT)),
            offline: self.offline,
            jobs: self.jobs.map(usize::from).unwrap_or(DEFAULT_JOBS),
            python_installer: self.python_installer.map(|arg| match arg {
                InstallerArg::Uv => Installer::Uv,
                InstallerArg::Pip => Installer::Pip,
            }),
            wait: match self.wait {
                None => Wait::No,
                Some(0) => Wait::Forever,
                Some(seconds) => Wait::For(std::time::Duration::from_secs(seconds)),
            },
            retries: self.retries,
            http_timeout: std::time::Duration::from_secs(self.http_timeout.max(1)),
            link_mode: match self.link_mode {
                LinkModeArg::Clone => LinkMode::Clone,
                LinkModeArg::Copy => LinkMode::Copy,
                LinkModeArg::Hardlink => LinkMode::Hardlink,
            },
            no_hooks: self.no_hooks,
            verbose: self.verbose > 0,
        }
    }
}
