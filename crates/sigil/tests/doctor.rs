//! `sigil doctor` finds the planted cause of a mismatch, one per usual
//! mistake. Each wrong signature is made independently: by `sigil sign` on
//! the mistaken request, or by HMAC over the correct base string with the
//! mistake written into it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

use sigil_core::SignatureMethod;

const URL: &str = "https://api.example.com/1.1/statuses/update.json?include_entities=true";
const STATUS: &str = "status=Hello Ladies + Gentlemen";

fn sigil(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

fn common<'a>(url: &'a str, method: &'a str, token: bool) -> Vec<&'a str> {
    let mut v = vec![
        "-X",
        method,
        "--url",
        url,
        "--consumer-key",
        "ck",
        "--consumer-secret",
        "cs secret",
        "--nonce",
        "n0nce",
        "--timestamp",
        "1318622958",
    ];
    if token {
        v.extend(["--token", "tok", "--token-secret", "ts"]);
    }
    v
}

fn signature(args: &[&str]) -> String {
    let mut all = vec!["sign", "--output", "signature"];
    all.extend_from_slice(args);
    let (ok, out) = sigil(&all);
    assert!(ok, "{args:?}");
    out.trim().to_owned()
}

fn base_string(args: &[&str]) -> String {
    let mut all = vec!["sign", "--output", "base-string"];
    all.extend_from_slice(args);
    sigil(&all).1.trim().to_owned()
}

fn hmac(key: &str, base: &str) -> String {
    sigil_core::hmac_raw(SignatureMethod::HmacSha1, key.as_bytes(), base.as_bytes()).unwrap()
}

fn doctor(args: &[&str], sig: &str) -> String {
    let mut all = vec!["doctor", "--signature", sig];
    all.extend_from_slice(args);
    let (ok, out) = sigil(&all);
    assert!(ok, "doctor found nothing for {args:?}: {out}");
    out
}

fn expect(cause: &str, out: &str) {
    assert!(
        out.starts_with(&format!("match: {cause}")),
        "wanted {cause:?}, got:\n{out}"
    );
}

#[test]
fn finds_each_planted_cause() {
    let with_form = |mut v: Vec<&'static str>| {
        v.extend(["--form", STATUS]);
        v
    };
    let right = with_form(common(URL, "POST", true));
    let correct_base = base_string(&right);
    let key = "cs%20secret&ts";
    let mut found = 0;

    // 1. http vs https.
    let http_url = URL.replace("https://", "http://");
    let sig = signature(&with_form(common(
        Box::leak(http_url.into_boxed_str()),
        "POST",
        true,
    )));
    expect("http vs https", &doctor(&right, &sig));
    found += 1;

    // 2. The wrong method.
    let sig = signature(&with_form(common(URL, "GET", true)));
    expect("method", &doctor(&right, &sig));
    found += 1;

    // 3. The body left out.
    let sig = signature(&common(URL, "POST", true));
    expect("body", &doctor(&right, &sig));
    found += 1;

    // 4. The query left out.
    let bare = URL.split('?').next().unwrap();
    let sig = signature(&with_form(common(bare, "POST", true)));
    expect("query", &doctor(&right, &sig));
    found += 1;

    // 5. The realm signed as a parameter.
    let mut realm_signed = with_form(common(URL, "POST", true));
    realm_signed.extend(["--form", "realm=Photos"]);
    let sig = signature(&realm_signed);
    let mut with_realm = right.clone();
    with_realm.extend(["--realm", "Photos"]);
    expect("realm", &doctor(&with_realm, &sig));
    found += 1;

    // 6. api.twitter.com vs api.x.com.
    let twitter = "https://api.twitter.com/1.1/statuses/update.json";
    let x = "https://api.x.com/1.1/statuses/update.json";
    let sig = signature(&with_form(common(twitter, "POST", true)));
    expect(
        "api.twitter.com vs api.x.com",
        &doctor(&with_form(common(x, "POST", true)), &sig),
    );
    found += 1;

    // 7. + for spaces.
    let sig = hmac(key, &correct_base.replace("%2520", "%2B"));
    expect("+ vs %20", &doctor(&right, &sig));
    found += 1;

    // 8. The host not lower-cased.
    let upper = "https://API.Example.com/1.1/statuses/update.json?include_entities=true";
    let sig = hmac(
        key,
        &correct_base.replace("api.example.com", "API.Example.com"),
    );
    expect(
        "host case",
        &doctor(&with_form(common(upper, "POST", true)), &sig),
    );
    found += 1;

    // 9. The default port kept.
    let sig = hmac(
        key,
        &correct_base.replace("api.example.com", "api.example.com%3A443"),
    );
    expect("default port", &doctor(&right, &sig));
    found += 1;

    // 10. Values encoded twice.
    let sig = hmac(key, &correct_base.replace("%25", "%2525"));
    expect("double encoding", &doctor(&right, &sig));
    found += 1;

    // 11. No trailing & in a tokenless key.
    let tokenless = with_form(common(URL, "POST", false));
    let sig = hmac("cs%20secret", &base_string(&tokenless));
    expect("key", &doctor(&tokenless, &sig));
    found += 1;

    // The request as given is recognised as such.
    let sig = signature(&right);
    assert!(doctor(&right, &sig).starts_with("The signature matches the request as given"));
    assert!(found >= 8);

    // Nothing matches: exit status 1 and the list of what was tried.
    let mut all = vec!["doctor", "--signature", "AAAA"];
    all.extend_from_slice(&right);
    let (ok, out) = sigil(&all);
    assert!(!ok && out.contains("No usual mistake"), "{out}");
}
