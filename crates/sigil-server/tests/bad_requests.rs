//! Table-driven bad requests: each asserts the status, the `oauth_problem`,
//! and that no store changed (no token issued, no nonce recorded, nothing
//! consumed or approved).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "common/bad_cases.rs"]
mod bad_cases;
mod common;

use bad_cases::*;
use common::*;
use sigil_server::{HttpResponse, Policy};

async fn call(w: &World, endpoint: Endpoint, wire: &Wire) -> HttpResponse {
    let http = wire.http();
    let p = &w.provider;
    match endpoint {
        Endpoint::RequestToken => p.request_token_response(&http).await,
        Endpoint::AccessToken => p.access_token_response(&http).await,
        Endpoint::Resource(realms) => {
            let result = p.verify_resource(&http, realms).await;
            p.respond(result, |_| HttpResponse::form(200, String::new()))
        }
        Endpoint::SignatureOnly => {
            let result = p.verify_signature_only(&http).await;
            p.respond(result, |_| HttpResponse::form(200, String::new()))
        }
    }
}

#[tokio::test]
async fn every_bad_request_is_refused_and_changes_nothing() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    for case in cases {
        let policy = case.policy.map_or_else(
            || Policy {
                public_base_url: Some(BASE.into()),
                ..Policy::default()
            },
            |p| p(),
        );
        let w = world_with(policy);
        for client in fixture_clients() {
            w.store.insert_client(client).unwrap();
        }
        let f = fixture(w.provider.stores()).await;
        let wire = (case.build)(&f);
        match case.pre {
            Pre::None => {}
            Pre::SendOnce => {
                let first = call(&w, case.endpoint, &wire).await;
                assert_eq!(
                    first.status,
                    200,
                    "{}: first send {:?}",
                    case.name,
                    first.form_fields()
                );
            }
            Pre::Revoke => {
                assert!(
                    w.provider
                        .stores()
                        .tokens
                        .revoke_token(&f.access.0)
                        .await
                        .unwrap()
                );
            }
        }
        let before = w.snapshot();
        let response = call(&w, case.endpoint, &wire).await;
        let fields = response.form_fields();
        let problem = fields
            .iter()
            .find(|(n, _)| n == "oauth_problem")
            .map(|(_, v)| v.as_str());
        assert_eq!(
            (response.status, problem),
            (case.status, Some(case.problem)),
            "{}: {fields:?}",
            case.name
        );
        assert_eq!(w.snapshot(), before, "{}: a store changed", case.name);
        // Never a secret or the expected signature in the answer.
        let body = String::from_utf8(response.body.clone()).unwrap();
        for secret in [
            "client-secret",
            "rt-approved-secret",
            "at-client-secret",
            "rt-approved-verifier",
        ] {
            assert!(!body.contains(secret), "{}: {body}", case.name);
        }
        if response.status == 401 {
            assert_eq!(
                response.header("WWW-Authenticate"),
                Some("OAuth realm=\"sigil\"")
            );
        }
        if case.problem == "timestamp_refused" {
            let range = fields
                .iter()
                .find(|(n, _)| n == "oauth_acceptable_timestamps")
                .unwrap();
            assert_eq!(range.1, format!("{}-{}", now() - 300, now() + 300));
        }
    }
}
