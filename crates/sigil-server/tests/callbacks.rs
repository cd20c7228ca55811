//! Callbacks judged as browsers parse them (WHATWG): every accepted callback
//! sends the browser to the registered host and port, or to loopback under
//! the loopback rule; confusing ones are refused before anything is stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use proptest::prelude::*;
use sigil_server::{CallbackRule, Policy};

const REGISTERED: [&str; 3] = [
    "http://127.0.0.1:9/cb",
    "https://app.example/cb",
    "https://app.example:8443/deep/",
];

fn pieces() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "http://",
        "https://",
        "HTTP://",
        "http:/",
        "http:\\\\",
        "https:",
        "",
    ]);
    let userinfo = prop::sample::select(vec![
        "",
        "",
        "",
        "evil.example@",
        "evil.example\\@",
        "u:p@",
        "@",
        "evil.example%40",
    ]);
    let host = prop::sample::select(vec![
        "127.0.0.1",
        "127.1",
        "0x7f.0.0.1",
        "2130706433",
        "app.example",
        "APP.example",
        "evil.example",
        "app.example.evil.example",
        "[::1]",
        "localhost",
        "app.example%2e",
        "app.example\\.evil.example",
        "app.example\t",
    ]);
    let port = prop::sample::select(vec![
        "", ":9", ":443", ":80", ":8443", ":53124", ":0x50", ":",
    ]);
    let path = prop::sample::select(vec![
        "/cb",
        "/cb/x",
        "/deep/",
        "/deep/x",
        "/cb\\@evil.example",
        "/../cb",
        "/cb/..",
        "/cb%2f..",
        "",
        "/c b",
        "/cb\n",
        "/\\evil.example/cb",
        "//evil.example/cb",
    ]);
    let query = prop::sample::select(vec![
        "",
        "?s=1",
        "?@evil.example",
        "#frag",
        "?x=\\",
        "?a=%zz",
    ]);
    let noise = "[a-z0-9@:/\\\\.%?#\\[\\] \t]{0,6}";
    (scheme, userinfo, host, port, path, query, noise)
        .prop_map(|(s, u, h, p, pa, q, n)| format!("{s}{u}{h}{p}{pa}{q}{n}"))
}

/// Host and port as a browser reads them.
fn browser_origin(url: &str) -> Option<(String, u16)> {
    let parsed = url::Url::parse(url).ok()?;
    Some((
        parsed.host_str()?.to_owned(),
        parsed.port_or_known_default()?,
    ))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
        || host == "[::1]"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn accepted_callbacks_lead_where_registered(candidate in pieces(), prefix in any::<bool>()) {
        let policy = Policy {
            callback_rule: if prefix { CallbackRule::Prefix } else { CallbackRule::Exact },
            ..Policy::default()
        };
        let registered: Vec<String> = REGISTERED.iter().map(|s| (*s).to_owned()).collect();
        if let Ok(accepted) = policy.check_callback(&candidate, &registered) {
            // What the browser makes of what was written, and of what the
            // redirect will carry (the stored serialisation plus a query).
            let written = browser_origin(&candidate).expect("accepted but unparseable");
            let sent = browser_origin(&format!("{}?oauth_token=t", accepted.as_str())).expect("redirect");
            prop_assert_eq!(&written, &sent);
            let allowed = registered.iter().any(|r| {
                let reg = browser_origin(r).expect("registered");
                reg == written || (is_loopback(&reg.0) && reg.0 == written.0)
            });
            prop_assert!(allowed, "{} accepted, browser goes to {:?}", candidate, written);
            // The consent page names that same host and port.
            let url = url::Url::parse(&candidate).expect("parsed");
            let named = match url.port() {
                Some(port) => format!("{}:{port}", written.0),
                None => written.0.clone(),
            };
            prop_assert_eq!(accepted.authority(), named);
            prop_assert!(url.username().is_empty() && url.password().is_none());
        }
    }
}

#[tokio::test]
async fn the_reported_callbacks_are_refused_at_request_time_and_nothing_is_stored() {
    let w = world();
    let mut client = hmac_client("loopback", "loopback-secret");
    client.callbacks = vec!["http://127.0.0.1:9/cb".to_owned()];
    w.store.insert_client(client).unwrap();
    for (callback, advice) in [
        ("http://evil.example\\@127.0.0.1:9/cb", "backslash"),
        ("http://user:pw@127.0.0.1:9/cb", "user information"),
        ("http://127.1:9/cb", "host"),
        ("http://127.0.0.1:9/x/../cb", "path"),
    ] {
        let before = w.snapshot();
        let mut spec = Spec::new("/oauth/request_token").oauth("oauth_callback", callback);
        spec.consumer_key = "loopback".into();
        spec.consumer_secret = "loopback-secret".into();
        let response = w.provider.request_token_response(&spec.sign().http()).await;
        assert_eq!(response.status, 400, "{callback}");
        let fields = response.form_fields();
        let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(
            get("oauth_problem").as_deref(),
            Some("parameter_rejected"),
            "{callback}"
        );
        let said = get("oauth_problem_advice").unwrap_or_default();
        assert!(said.contains(advice), "{callback}: {said}");
        assert_eq!(w.snapshot(), before, "{callback} stored something");
    }
    // The port may change for a loopback registration; the consent page
    // names the host and port a browser will go to.
    let mut spec =
        Spec::new("/oauth/request_token").oauth("oauth_callback", "http://127.0.0.1:53124/cb?s=1");
    spec.consumer_key = "loopback".into();
    spec.consumer_secret = "loopback-secret".into();
    let response = w.provider.request_token_response(&spec.sign().http()).await;
    assert_eq!(response.status, 200);
    let fields = response.form_fields();
    let token = fields
        .iter()
        .find(|(k, _)| k == "oauth_token")
        .unwrap()
        .1
        .clone();
    let pending = w.provider.pending_authorization(&token).await.unwrap();
    assert_eq!(pending.callback_host().as_deref(), Some("127.0.0.1:53124"));
    let approval = w.provider.approve(&token, "alice").await.unwrap();
    let location = approval.redirect.unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:53124/cb?s=1&oauth_token="),
        "{location}"
    );
    assert_eq!(
        browser_origin(&location),
        Some(("127.0.0.1".to_owned(), 53124))
    );
}
