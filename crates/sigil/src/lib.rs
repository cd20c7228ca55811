//! `sigil`: OAuth 1.0a from the command line (`sigil sign | request | login |
//! doctor | bench | serve | admin`), and `sigil serve`'s application for
//! in-process use.
//!
//! The binary is a thin `main` over [`main`]. [`serve_app`] builds the whole
//! `sigil serve` router (flow endpoints, web UI, demo API, health; metrics
//! have a listener of their own) on a SQLite file, so that tests and the `serve_front` fuzz target can
//! drive it without a socket:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! use tower::ServiceExt;
//!
//! let dir = tempfile::tempdir()?;
//! let database = format!("sqlite://{}", dir.path().join("sigil.db").display());
//! let app = sigil::serve_app(&database, "http://127.0.0.1:8080").await?;
//! let request = axum::http::Request::get("/healthz").body(axum::body::Body::empty())?;
//! assert_eq!(app.oneshot(request).await?.status(), 200);
//! # Ok(())
//! # }
//! ```

mod cli;
mod forwarded;
mod web;

use std::process::ExitCode;

use clap::Parser;

/// `sigil serve`'s application on the database at `database_url` (created
/// and migrated if new), answering for `public_url`, with the default
/// settings and none of the background tasks (sweeping, cache refresh).
pub async fn serve_app(database_url: &str, public_url: &str) -> anyhow::Result<axum::Router> {
    cli::serve::app_on(database_url, public_url).await
}

/// The command line: parses the arguments, runs the command, and maps the
/// outcome to the exit status (2 for a bad argument).
pub fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(err) if !err.use_stderr() => err.exit(), // --help, --version
        Err(err) => {
            // A bad argument is one line and exit status 2.
            // clap's message is a paragraph, then usage; keep the paragraph.
            let text = err.to_string();
            let message = text.split("\n\n").next().unwrap_or_default();
            let words: Vec<&str> = message.split_whitespace().collect();
            eprintln!("{}", words.join(" "));
            return ExitCode::from(2);
        }
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, the cause chain joined: the command-line contract.
            eprintln!("error: {err:#}");
            ExitCode::from(err.exit_code())
        }
    }
}
