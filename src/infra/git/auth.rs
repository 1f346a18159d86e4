//! Logging in to a remote, bounded: each way to authenticate is offered
//! once per fetch, as cargo's `with_authentication` does; and which fetch
//! failures are worth trying again.

use std::cell::RefCell;

/// Fetch options shared by every fetch: credentials through `auth`, no
/// tags beyond the refspecs, no FETCH_HEAD.
pub(super) fn fetch_options<'a>(
    auth: &'a RefCell<AuthAttempts>,
    depth: i32,
) -> git2::FetchOptions<'a> {
    let mut options = git2::FetchOptions::new();
    options
        .download_tags(git2::AutotagOption::None)
        .update_fetchhead(false)
        .depth(depth);
    options.remote_callbacks(callbacks(auth));
    options
}

pub(super) fn callbacks(auth: &RefCell<AuthAttempts>) -> git2::RemoteCallbacks<'_> {
    let mut callbacks = git2::RemoteCallbacks::new();
    callbacks.credentials(|url, username, allowed| auth.borrow_mut().next(url, username, allowed));
    callbacks
}

/// Our own "everything was tried" (libgit2 relays it with its class and
/// code appended), said plainly.
pub(super) fn auth_failure<T>(
    result: std::result::Result<T, git2::Error>,
    auth: RefCell<AuthAttempts>,
    url: &str,
) -> std::result::Result<T, FetchError> {
    let auth = auth.into_inner();
    match result {
        Ok(value) => Ok(value),
        Err(_) if auth.exhausted => Err(FetchError::Auth(auth.failure(url))),
        Err(err) => Err(FetchError::Git(err)),
    }
}

/// How one fetch failed.
pub(super) enum FetchError {
    Git(git2::Error),
    /// Every way to log in was tried and refused; the message says which.
    Auth(String),
}

/// Worth fetching again: the network failed (connection refused or reset,
/// timeout, DNS, a 5xx answer, a cut-off response). Not: a refused login,
/// a missing repository or revision, a bad URL, an error the server sent.
/// libgit2 files most of these under a few classes, so a few messages are
/// told apart by their text.
pub(super) fn is_transient(err: &git2::Error) -> bool {
    use git2::{ErrorClass, ErrorCode};
    let message = err.message();
    match (err.code(), err.class()) {
        (ErrorCode::Auth | ErrorCode::NotFound | ErrorCode::Certificate | ErrorCode::User, _) => {
            false
        }
        (ErrorCode::Timeout, _) => true,
        (_, ErrorClass::Net | ErrorClass::Os) => {
            !(message.starts_with("unsupported URL protocol")
                || message.starts_with("malformed URL")
                || message.starts_with("remote error:"))
        }
        (_, ErrorClass::Http) => {
            let status = message
                .strip_prefix("unexpected http status code: ")
                .and_then(|code| code.trim().parse::<u16>().ok());
            matches!(status, Some(500..=599 | 429)) || message.contains("unexpected EOF")
        }
        _ => false,
    }
}

/// The credentials offered during one fetch. libgit2 calls back after
/// every refused credential, and would forever: each way is offered once
/// (ssh-agent once per user name, the credential helper once, the default
/// once), then the callback gives up, saying what was tried. The same
/// bound as cargo's `with_authentication`.
#[derive(Debug, Default)]
pub(super) struct AuthAttempts {
    /// A user name was supplied for an ssh URL that had none.
    username: bool,
    /// User names offered to the ssh-agent.
    ssh_agent: Vec<String>,
    /// The git credential helper was asked: did it have credentials?
    helper: Option<bool>,
    default: bool,
    /// Nothing was left to offer: the fetch failed on authentication.
    exhausted: bool,
}

impl AuthAttempts {
    pub(super) fn next(
        &mut self,
        url: &str,
        username: Option<&str>,
        allowed: git2::CredentialType,
    ) -> std::result::Result<git2::Cred, git2::Error> {
        use git2::{Cred, CredentialType};
        // An ssh URL without a user: libgit2 asks for one, then for a key.
        if allowed.contains(CredentialType::USERNAME) && !self.username {
            self.username = true;
            return Cred::username(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            let user = username.unwrap_or("git");
            if !self.ssh_agent.iter().any(|tried| tried == user) {
                self.ssh_agent.push(user.to_owned());
                return Cred::ssh_key_from_agent(user);
            }
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) && self.helper.is_none() {
            let found = git2::Config::open_default()
                .and_then(|config| Cred::credential_helper(&config, url, username));
            self.helper = Some(found.is_ok());
            if found.is_ok() {
                return found;
            }
        }
        if allowed.contains(CredentialType::DEFAULT) && !self.default {
            self.default = true;
            return Cred::default();
        }
        self.exhausted = true;
        Err(git2::Error::new(
            git2::ErrorCode::Auth,
            git2::ErrorClass::Callback,
            self.failure(url),
        ))
    }

    /// "authentication to URL failed; tried: …; check …"
    pub(super) fn failure(&self, url: &str) -> String {
        let mut tried: Vec<String> = self
            .ssh_agent
            .iter()
            .map(|user| format!("ssh-agent as {user}"))
            .collect();
        let mut hints = Vec::new();
        if !self.ssh_agent.is_empty() {
            hints.push("that your ssh-agent holds a key the server accepts (ssh-add -l)");
        }
        match self.helper {
            Some(true) => {
                tried.push("git credential helper".to_owned());
                hints.push("that the credentials of your git credential helper are still valid");
            }
            Some(false) => {
                tried.push("git credential helper (it had no credentials)".to_owned());
                hints.push("that a git credential helper (credential.helper) has credentials for this host");
            }
            None => {}
        }
        if self.default {
            tried.push("default credentials".to_owned());
        }
        if tried.is_empty() {
            return format!(
                "authentication to {url} failed: the server wants a way of logging in \
                 lava-deploy does not offer (ssh-agent, git credential helper)"
            );
        }
        let mut message = format!(
            "authentication to {url} failed; tried: {}",
            tried.join(", ")
        );
        if !hints.is_empty() {
            message.push_str(&format!("; check {}", hints.join(", and ")));
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::CredentialType;

    /// libgit2 over ssh: asks for a user name, then for a key, and after
    /// each key the server refuses, for a key again. No ssh server needed:
    /// the callback alone decides when to stop.
    #[test]
    fn ssh_agent_is_offered_once_per_user_then_the_callback_gives_up() {
        let url = "ssh://git.example.org/lava.git";
        let mut auth = AuthAttempts::default();
        assert!(auth.next(url, None, CredentialType::USERNAME).is_ok());
        assert!(auth.next(url, Some("git"), CredentialType::SSH_KEY).is_ok());
        let Err(err) = auth.next(url, Some("git"), CredentialType::SSH_KEY) else {
            panic!("ssh-agent offered twice for one user");
        };
        assert!(auth.exhausted);
        assert_eq!(err.code(), git2::ErrorCode::Auth);
        assert_eq!(
            err.message(),
            "authentication to ssh://git.example.org/lava.git failed; tried: ssh-agent as git; \
             check that your ssh-agent holds a key the server accepts (ssh-add -l)"
        );
        // Another user name from the URL gets its own single try.
        let mut auth = AuthAttempts::default();
        assert!(auth
            .next(url, Some("lava"), CredentialType::SSH_KEY)
            .is_ok());
        assert!(auth
            .next(url, Some("lava"), CredentialType::SSH_KEY)
            .is_err());
    }

    #[test]
    fn default_credentials_are_offered_once() {
        let url = "https://git.example.org/lava.git";
        let mut auth = AuthAttempts::default();
        assert!(auth.next(url, None, CredentialType::DEFAULT).is_ok());
        let Err(err) = auth.next(url, None, CredentialType::DEFAULT) else {
            panic!("default credentials offered twice");
        };
        assert!(err.message().contains("tried: default credentials"));
    }

    #[test]
    fn only_network_failures_are_transient() {
        use git2::{Error, ErrorClass, ErrorCode};
        let transient = |code, class, message| is_transient(&Error::new(code, class, message));
        assert!(transient(
            ErrorCode::GenericError,
            ErrorClass::Os,
            "failed to connect to 127.0.0.1: Connection refused"
        ));
        assert!(transient(ErrorCode::Timeout, ErrorClass::Net, "timed out"));
        assert!(transient(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "unexpected http status code: 502"
        ));
        assert!(!transient(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "unexpected http status code: 404"
        ));
        assert!(!transient(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "too many redirects or authentication replays"
        ));
        assert!(!transient(ErrorCode::Auth, ErrorClass::Callback, "refused"));
        assert!(!transient(
            ErrorCode::NotFound,
            ErrorClass::Os,
            "failed to resolve path '/gone'"
        ));
        assert!(!transient(
            ErrorCode::GenericError,
            ErrorClass::Net,
            "unsupported URL protocol"
        ));
    }
}
