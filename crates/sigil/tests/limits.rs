//! `sigil serve`'s limits, each set by a flag, each holding with a clear
//! reply: header size (400), parameter count (400), body size (413),
//! signed requests per client per window (429). (Failed sign-ins: web.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use support::Site;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_limits_hold() {
    let site = Site::start(
        "http://127.0.0.1:9/callback",
        &[
            "--max-header-bytes",
            "1024",
            "--max-params",
            "12",
            "--max-body-bytes",
            "2048",
            "--max-nonces-per-client",
            "5",
        ],
    );
    let base = site.server.base.clone();
    let http = reqwest::Client::new();
    let problem = |body: &str| {
        sigil_core::encoding::form_decode(body.as_bytes())
            .unwrap()
            .into_iter()
            .find(|(n, _)| n == "oauth_problem")
            .map(|(_, v)| v)
    };

    // A header over 1 KiB.
    let long = format!("OAuth oauth_consumer_key=\"{}\"", "k".repeat(1100));
    let reply = http
        .get(format!("{base}/api/me"))
        .header("Authorization", long)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 400);
    let body = reply.text().await.unwrap();
    assert!(problem(&body).is_some(), "{body}");

    // More than 12 parameters.
    let query: Vec<String> = (0..13).map(|i| format!("p{i}=v")).collect();
    let reply = http
        .get(format!("{base}/api/me?{}", query.join("&")))
        .header("Authorization", "OAuth oauth_consumer_key=\"k\"")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 400);
    let body = reply.text().await.unwrap();
    assert_eq!(
        problem(&body).as_deref(),
        Some("parameter_rejected"),
        "{body}"
    );

    // A body over 2 KiB.
    let reply = http
        .post(format!("{base}/api/echo"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("a={}", "b".repeat(4096)))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 413);

    // Five signed requests from one client in a window, then 429.
    let flow = site.flow();
    for _ in 0..5 {
        flow.request_token("oob", &[]).await.unwrap();
    }
    let refused = flow.request_token("oob", &[]).await.unwrap_err();
    assert_eq!(refused.to_string(), "429: too_many_requests");
}
