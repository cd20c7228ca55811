//! The command line: argument types and dispatch.

mod sign;

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

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Sign(args) => sign::run(args),
    }
}
