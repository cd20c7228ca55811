//! The `sigil` command; everything is in the library (`sigil::main`).

use std::process::ExitCode;

// A server allocates per request in every layer (hyper, axum, sqlx); under
// load glibc's malloc took a sixth of `sigil serve`'s time (perf), mimalloc
// far less. BENCHMARKS.md has the figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    sigil::main()
}
