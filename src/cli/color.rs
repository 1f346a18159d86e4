//! Color on a terminal: only when stdout is one, never with `NO_COLOR`
//! set (and not empty); `CLICOLOR_FORCE` (set, not `0`) asks for it when
//! stdout is not a terminal (a pager, a test). Only what needs attention
//! is colored: failures, an interrupted deployment, a stopped instance.

use std::io::IsTerminal;

use crate::core::env_vars::{CLICOLOR_FORCE, NO_COLOR};

#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

/// The colors used.
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    Good,
    Warn,
    Bad,
}

impl Paint {
    /// For what goes to stdout.
    pub fn stdout() -> Self {
        let var = |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
        Paint {
            on: wanted(
                var(NO_COLOR).as_deref(),
                var(CLICOLOR_FORCE).as_deref(),
                std::io::stdout().is_terminal(),
            ),
        }
    }

    pub fn tone(&self, tone: Tone, text: &str) -> String {
        if !self.on {
            return text.to_owned();
        }
        let code = match tone {
            Tone::Good => "32",
            Tone::Warn => "33",
            Tone::Bad => "1;31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

fn wanted(no_color: Option<&str>, force: Option<&str>, terminal: bool) -> bool {
    if no_color.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    terminal || force.is_some_and(|v| !v.is_empty() && v != "0")
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn rules() {
        assert!(wanted(None, None, true));
        assert!(!wanted(None, None, false));
        assert!(!wanted(Some("1"), None, true));
        assert!(wanted(Some(""), None, true));
        assert!(wanted(None, Some("1"), false));
        assert!(!wanted(None, Some("0"), false));
        assert!(!wanted(Some("1"), Some("1"), true));
    }
}
