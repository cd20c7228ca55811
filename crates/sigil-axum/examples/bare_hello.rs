//! The baseline for `bench/run.sh`: a bare axum route that answers every
//! request with a small JSON body and checks nothing. The same load
//! generator (`sigil bench`, which signs every request) runs against it
//! and against `sigil serve`; the ratio is what OAuth costs.
//!
//! ```sh
//! cargo run --release -p sigil-axum --example bare_hello
//! ```

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

// The allocator `sigil serve` uses, so that the ratio is what OAuth costs
// and not what malloc does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new().route(
        "/api/me",
        get(|| async {
            (
                [(CONTENT_TYPE, "application/json")],
                r#"{"client_key":"bench","realms":[],"user":"alice"}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
