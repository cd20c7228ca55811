//! Whole-request verification against the in-memory provider.
//!
//! Two kinds of input (first byte even or odd):
//!
//! - raw: `endpoint byte`, then `METHOD\nTARGET\nAUTHORIZATION\nCONTENT-TYPE\nBODY`
//!   (an empty header line means no header). No signature was computed for
//!   it, so every answer must be a refusal (4xx).
//! - signed: a [`Spec`] read with `arbitrary`, signed by sigil-core's signer
//!   with the right (or a wrong) key, then possibly changed in one field.
//!   A request whose signed content changed must never get a 2xx; an
//!   unchanged, well-formed one must; a 2xx must carry the client and token
//!   that signed it, and the same request sent again must be refused
//!   (replay).
//!
//! Never a panic, never a 5xx (the memory store does not fail).
#![no_main]

mod common;

use arbitrary::{Arbitrary, Unstructured};
use common::{Built, Endpoint, Kind, Spec, Wire, block_on, build, world};
use libfuzzer_sys::fuzz_target;
use sigil_server::{HttpRequest, Provider};

/// Sends `request` to `endpoint`: (status, consumer key and token of the
/// grant for a 2xx from the protected resource).
async fn send(
    provider: &Provider,
    endpoint: Endpoint,
    request: &HttpRequest<'_>,
    required: &[&str],
) -> (u16, Option<(String, Option<String>)>) {
    match endpoint {
        Endpoint::Resource => match provider.verify_resource(request, required).await {
            Ok(grant) => (200, Some((grant.client_key, grant.token))),
            Err(err) => {
                let response = err.to_response("sigil");
                assert_eq!(response.status, err.status);
                (err.status, None)
            }
        },
        Endpoint::RequestToken => (provider.request_token_response(request).await.status, None),
        Endpoint::AccessToken => (provider.access_token_response(request).await.status, None),
    }
}

fn raw(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let endpoint = match selector % 3 {
        0 => Endpoint::Resource,
        1 => Endpoint::RequestToken,
        _ => Endpoint::AccessToken,
    };
    let mut parts = rest.splitn(5, |&b| b == b'\n');
    let method = std::str::from_utf8(parts.next().unwrap_or_default()).unwrap_or("POST");
    let target = std::str::from_utf8(parts.next().unwrap_or_default()).unwrap_or("/");
    let header = |v: Option<&[u8]>| v.filter(|v| !v.is_empty()).map(<[u8]>::to_vec);
    let authorization = header(parts.next());
    let content_type = header(parts.next());
    let body = parts.next().unwrap_or_default().to_vec();
    let wire = Wire {
        method: method.to_owned(),
        target: target.to_owned(),
        authorization,
        content_type,
        body,
    };
    block_on(async {
        let (_, provider) = world().await;
        let (status, _) = send(&provider, endpoint, &wire.http(), &[]).await;
        assert!(
            (400..500).contains(&status),
            "an unsigned request got {status}: {wire:?}"
        );
    });
}

fn signed(data: &[u8]) {
    let Ok(spec) = Spec::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let Some(built) = build(&spec, None) else {
        return;
    };
    let Built {
        original,
        mutated,
        expect_ok,
        ..
    } = &built;
    let changed = built.changed();
    let required: &[&str] = match spec.required_realm % 3 {
        0 => &[],
        1 => &["photos"],
        _ => &["email"],
    };
    let wire = mutated.wire();
    block_on(async {
        let (store, provider) = world().await;
        let (status, grant) = send(&provider, spec.endpoint, &wire.http(), required).await;
        common::tally((200..300).contains(&status));
        assert!(status < 500, "{status} for {wire:?}");
        if (200..300).contains(&status) {
            assert!(
                !changed,
                "a request changed after signing was accepted ({status})\n\
                 signed: {original:?}\nsent: {mutated:?}\nwire: {wire:?}"
            );
            // Only the right client with its own token gets through.
            match spec.endpoint {
                Endpoint::Resource => {
                    let (client, token) = grant.expect("a grant");
                    assert_eq!(client, built.consumer_key);
                    let (t, owner, kind) = built.token.clone().expect("a known token");
                    assert_eq!(token.as_deref(), Some(t.as_str()));
                    assert_eq!(owner, built.consumer_key);
                    assert_eq!(kind, Kind::Access);
                }
                Endpoint::AccessToken => {
                    let (_, owner, kind) = built.token.clone().expect("a known token");
                    assert_eq!(owner, built.consumer_key);
                    assert_eq!(kind, Kind::Approved);
                    assert_eq!(mutated.oauth.verifier.as_deref(), Some(common::VERIFIER));
                }
                Endpoint::RequestToken => {
                    let callback = mutated.oauth.callback.as_deref().unwrap_or_default();
                    assert!(
                        callback == "oob"
                            || callback == common::CALLBACK
                            || callback.starts_with(&format!("{}?", common::CALLBACK)),
                        "callback {callback:?} accepted"
                    );
                }
            }
            // The same request again is a replay.
            let before = (store.temporary_count(), store.token_count());
            let (again, _) = send(&provider, spec.endpoint, &wire.http(), required).await;
            assert!(
                !(200..300).contains(&again),
                "replay accepted ({again}): {wire:?}"
            );
            assert_eq!(before, (store.temporary_count(), store.token_count()));
        } else {
            assert!(
                !expect_ok,
                "a correctly signed request was refused ({status})\nsent: {mutated:?}\nwire: {wire:?}"
            );
        }
    });
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((&mode, rest)) if mode % 2 == 0 => raw(rest),
        Some((_, rest)) => signed(rest),
        None => {}
    }
});
