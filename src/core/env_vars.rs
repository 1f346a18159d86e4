//! Every environment variable lava-deploy reads, in one place. clap's `env =`
//! attributes refer to these constants so the names cannot drift from the docs.

/// Root directory of all instances and the shared cache (`--root`). Default `/srv/lava`.
pub const LAVA_ROOT: &str = "LAVA_ROOT";
/// Git repository (URL or path) of the manifest branch, optionally `#REF` (`--manifest-branch`).
pub const LAVA_MANIFEST_BRANCH: &str = "LAVA_MANIFEST_BRANCH";
/// Manifest file inside the branch (`--cfg`). Default `lava.toml`, else `buildout.cfg`.
pub const LAVA_BUILDOUT_CFG: &str = "LAVA_BUILDOUT_CFG";
/// `1`/`true`: never touch the network, use only the cache (`--offline`).
pub const LAVA_OFFLINE: &str = "LAVA_OFFLINE";
/// How many components are fetched at once (`--jobs`).
pub const LAVA_JOBS: &str = "LAVA_JOBS";
/// `uv` or `pip`: which installer builds Python environments. Default: uv
/// when it is on PATH, else the interpreter's venv + pip.
pub const LAVA_PYTHON_INSTALLER: &str = "LAVA_PYTHON_INSTALLER";
/// How often a transient download failure is retried (`--retries`). Default 3.
pub const LAVA_RETRIES: &str = "LAVA_RETRIES";
/// Seconds an HTTP connect or read may stall before it fails (`--http-timeout`). Default 30.
pub const LAVA_HTTP_TIMEOUT: &str = "LAVA_HTTP_TIMEOUT";
/// `clone`, `copy` or `hardlink`: how unchanged trees are reused from the
/// current release (`--link-mode`). Default `clone` (a copy where the
/// filesystem cannot clone).
pub const LAVA_LINK_MODE: &str = "LAVA_LINK_MODE";
/// Testing hook: pause at the named point (see `failpoint.rs`) so a test can kill the run.
pub const LAVA_FAILPOINT: &str = "LAVA_FAILPOINT";
/// Testing hook: a file whose appearance lets a paused failpoint go on.
pub const LAVA_FAILPOINT_RELEASE: &str = "LAVA_FAILPOINT_RELEASE";
/// Log filter for tracing (`RUST_LOG` syntax), overrides `-v`/`-q`.
pub const LAVA_LOG: &str = "LAVA_LOG";
/// An OpenSSH allowed-signers file (git's `gpg.ssh.allowedSignersFile`
/// format): the manifest commit, or the annotated tag it was selected by,
/// must carry a valid SSH signature by a key listed there (`--manifest-signers`).
pub const LAVA_MANIFEST_SIGNERS: &str = "LAVA_MANIFEST_SIGNERS";
/// A list of revoked keys (OpenSSH KRL or public keys) that the manifest
/// signature must not be made with (`--manifest-revoked`).
pub const LAVA_MANIFEST_REVOKED: &str = "LAVA_MANIFEST_REVOKED";
/// Who runs lava-deploy, for the history: the user `sudo` was run by, else `USER`.
pub const SUDO_USER: &str = "SUDO_USER";
pub const USER: &str = "USER";
/// Set and not empty: no color in the output, even on a terminal.
pub const NO_COLOR: &str = "NO_COLOR";
/// Set and not `0`: color even when stdout is not a terminal (unless `NO_COLOR`).
pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";
