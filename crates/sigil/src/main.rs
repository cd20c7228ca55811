//! `sigil`: OAuth 1.0a from the command line.
//!
//! `sigil sign` prints what a signed request carries (base string, signature,
//! Authorization header), deterministically when the nonce and timestamp are
//! given.

mod cli;
mod web;

use std::process::ExitCode;

use clap::Parser;

// A server allocates per request in every layer (hyper, axum, sqlx); under
// load glibc's malloc took a sixth of `sigil serve`'s time (perf), mimalloc
// far less. BENCHMARKS.md has the figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
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
