//! The command line: argument types and dispatch.

mod admin;
mod bench;
mod connections;
mod doctor;
mod keys;
mod login;
mod request;
pub(crate) mod serve;
mod settings;
mod sign;
mod tls;

use clap::{Parser, Subcommand};

/// OAuth 1.0a (RFC 5849) for both sides of the wire.
#[derive(Debug, Parser)]
#[command(name = "sigil", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print what a signed request would carry: base string, signature,
    /// Authorization header.
    Sign(sign::SignArgs),
    /// Run the OAuth 1.0a provider (embedded SQLite by default).
    Serve(serve::ServeArgs),
    /// Manage users, clients and tokens.
    Admin(admin::AdminArgs),
    /// Make a signed request (curl-style).
    Request(request::RequestArgs),
    /// Find why a signature does not match: tries the usual mistakes.
    Doctor(doctor::DoctorArgs),
    /// Run the three-legged flow and save the credentials as a profile.
    Login(login::LoginArgs),
    /// Load a URL with signed requests and report throughput and latency.
    Bench(bench::BenchArgs),
}

/// A command failure with the process exit status it maps to.
#[derive(Debug)]
pub struct Failure {
    error: anyhow::Error,
    code: u8,
}

impl Failure {
    /// A bad or missing argument: exit status 2.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            error: error.into(),
            code: 2,
        }
    }

    /// The exit status.
    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if f.alternate() {
            write!(f, "{:#}", self.error)
        } else {
            write!(f, "{}", self.error)
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self { error, code: 1 }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::from(anyhow::Error::from(e)))
}

/// Logs to standard error through a writer thread, so that a request's log
/// line never waits on the terminal or the journal: the request path only
/// queues the formatted line. Lines are never dropped (a full queue makes
/// the next line wait instead). The guard flushes the queue when dropped, at
/// exit.
fn init_logging(json: bool) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("sigil-log")
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second initialisation (tests) is harmless.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    guard
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Sign(args) => sign::run(args),
        Command::Serve(args) => {
            let _log = init_logging(matches!(
                std::env::var("SIGIL_LOG_JSON").as_deref(),
                Ok("1" | "true")
            ));
            runtime()?.block_on(serve::run(args)).map_err(Failure::from)
        }
        Command::Doctor(args) => doctor::run(args),
        Command::Bench(args) => runtime()?.block_on(bench::run(args)),
        Command::Login(args) => runtime()?.block_on(login::run(args)),
        Command::Request(args) => runtime()?.block_on(request::run(args)),
        Command::Admin(args) => {
            let _log = init_logging(false);
            runtime()?.block_on(admin::run(args)).map_err(Failure::from)
        }
    }
}
