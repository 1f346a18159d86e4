//! Progress and diagnostics on stderr as plain lines; results go to stdout.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::{format::Writer, FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use super::args::GlobalArgs;
use crate::core::env_vars;

pub fn init(config: &GlobalArgs) {
    use std::io::IsTerminal;
    crate::infra::progress::init(
        !config.quiet && !config.no_progress && std::io::stderr().is_terminal(),
    );
    let default = match (config.quiet, config.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env(env_vars::LAVA_LOG)
        .unwrap_or_else(|_| EnvFilter::new(format!("lava_deploy={default},warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::infra::progress::LogWriter)
        .event_format(PlainLines)
        .try_init();
}

/// `message` for info, `warning: message` and `error: message` otherwise.
struct PlainLines;

impl<S, N> FormatEvent<S, N> for PlainLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        match *event.metadata().level() {
            Level::ERROR => write!(writer, "error: ")?,
            Level::WARN => write!(writer, "warning: ")?,
            Level::INFO => {}
            _ => write!(writer, "  ")?,
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
