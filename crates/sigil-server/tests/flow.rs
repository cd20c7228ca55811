//! The whole three-legged flow in-process, for every signature method and
//! every parameter placement; plus oob, denial, two-legged and xAuth.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::*;
use sigil_core::SignatureMethod;
use sigil_server::{PasswordVerifier, Policy, StoreError};

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
}

#[tokio::test]
async fn three_legged_flow_every_method_every_placement() {
    for method in SignatureMethod::ALL {
        for placement in PLACEMENTS {
            let w = world();
            let context = format!("{method} {placement:?}");
            // 1. Temporary credentials, with a realm request in the header.
            let mut spec = Spec::new("/oauth/request_token")
                .method(method)
                .placement(placement)
                .oauth("oauth_callback", &format!("{CALLBACK}?state=a%2Fb"));
            if placement == Placement::Header {
                spec.realm = Some("photos email".into());
            }
            let response = w.provider.request_token_response(&spec.sign().http()).await;
            assert_eq!(
                response.status,
                200,
                "{context}: {:?}",
                response.form_fields()
            );
            let fields = response.form_fields();
            assert_eq!(field(&fields, "oauth_callback_confirmed"), "true");
            let request_token = field(&fields, "oauth_token");
            let request_secret = field(&fields, "oauth_token_secret");

            // 2. What the consent page shows, then approval.
            let pending = w
                .provider
                .pending_authorization(&request_token)
                .await
                .unwrap();
            assert_eq!(pending.client_key, spec.consumer_key);
            assert_eq!(pending.callback_host().as_deref(), Some("client.example"));
            let expected_realms: Vec<String> = if placement == Placement::Header {
                vec!["photos".into(), "email".into()]
            } else {
                vec!["photos".into()]
            };
            assert_eq!(pending.realms, expected_realms, "{context}");
            let approval = w.provider.approve(&request_token, "alice").await.unwrap();
            let redirect = approval.redirect.clone().unwrap();
            assert!(
                redirect.starts_with(&format!(
                    "{CALLBACK}?state=a%2Fb&oauth_token={request_token}&oauth_verifier="
                )),
                "{redirect}"
            );

            // 3. Token credentials, signed with the temporary secret.
            let spec = Spec::new("/oauth/access_token")
                .method(method)
                .placement(placement)
                .token(&request_token, &request_secret)
                .oauth("oauth_verifier", &approval.verifier);
            let response = w.provider.access_token_response(&spec.sign().http()).await;
            assert_eq!(
                response.status,
                200,
                "{context}: {:?}",
                response.form_fields()
            );
            let fields = response.form_fields();
            assert_eq!(field(&fields, "user_id"), "alice");
            let token = field(&fields, "oauth_token");
            let secret = field(&fields, "oauth_token_secret");
            assert_eq!(w.store.temporary_count(), 0, "request token consumed");

            // 4. The protected resource, GET with a query and POST with a form.
            let mut spec = Spec::new("/api/photos?size=original&size=small")
                .method(method)
                .placement(placement)
                .token(&token, &secret)
                .form("title", "Sommer + Strand");
            spec.http_method = "POST".into();
            let grant = w
                .provider
                .verify_resource(&spec.sign().http(), &["photos"])
                .await;
            let grant = grant.unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(grant.user.as_deref(), Some("alice"));
            assert_eq!(grant.client_key, spec.consumer_key);
            assert_eq!(grant.realms, expected_realms);
        }
    }
}

#[tokio::test]
async fn oob_flow_shows_the_verifier_and_denial_redirects() {
    let w = world();
    let spec = Spec::new("/oauth/request_token").oauth("oauth_callback", "oob");
    let issued = w.provider.request_token(&spec.sign().http()).await.unwrap();
    let pending = w
        .provider
        .pending_authorization(&issued.credential.token)
        .await
        .unwrap();
    assert!(pending.is_oob());
    assert_eq!(pending.callback_host(), None);
    let approval = w
        .provider
        .approve(&issued.credential.token, "bob")
        .await
        .unwrap();
    assert_eq!(approval.redirect, None);
    assert_eq!(approval.verifier.len(), 20);
    // A second approval of the same token is refused.
    let again = w
        .provider
        .approve(&issued.credential.token, "mallory")
        .await
        .unwrap_err();
    assert_eq!(again.problem.as_str(), "token_used");

    let spec = Spec::new("/oauth/request_token").oauth("oauth_callback", CALLBACK);
    let issued = w.provider.request_token(&spec.sign().http()).await.unwrap();
    let denial = w.provider.deny(&issued.credential.token).await.unwrap();
    assert_eq!(
        denial.redirect.as_deref(),
        Some(
            format!(
                "{CALLBACK}?oauth_token={}&error=access_denied",
                issued.credential.token
            )
            .as_str()
        )
    );
    let gone = w
        .provider
        .pending_authorization(&issued.credential.token)
        .await
        .unwrap_err();
    assert_eq!(gone.problem.as_str(), "token_rejected");
}

#[tokio::test]
async fn lti_style_signature_only_launch() {
    let w = world();
    let spec = Spec::new("/lti/launch")
        .placement(Placement::Body)
        .oauth("oauth_callback", "about:blank")
        .form("lti_message_type", "basic-lti-launch-request")
        .form("lti_version", "LTI-1p0")
        .form("resource_link_id", "429785226");
    let wire = spec.sign();
    let grant = w
        .provider
        .verify_signature_only(&wire.http())
        .await
        .unwrap();
    assert_eq!(grant.client_key, "client");
    assert_eq!(grant.user, None);
    // The same launch again is a replay.
    let replay = w
        .provider
        .verify_signature_only(&wire.http())
        .await
        .unwrap_err();
    assert_eq!(
        (replay.status, replay.problem.as_str()),
        (401, "nonce_used")
    );
}

struct Passwords;

#[async_trait]
impl PasswordVerifier for Passwords {
    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok((username == "carol" && password == "correct horse").then(|| "carol".to_owned()))
    }
}

#[tokio::test]
async fn xauth_for_an_allowed_client() {
    let store = Arc::new(sigil_server::MemoryStore::new());
    let mut client = hmac_client("client", "client-secret");
    client.allow_xauth = true;
    store.insert_client(client).unwrap();
    let provider = sigil_server::Provider::new(
        sigil_server::Stores::single(store.clone()),
        Policy {
            public_base_url: Some(BASE.into()),
            ..Policy::default()
        },
    )
    .unwrap()
    .with_clock(Arc::new(TestClock(now().into())))
    .with_password_verifier(Arc::new(Passwords));
    let spec = Spec::new("/oauth/access_token")
        .form("x_auth_mode", "client_auth")
        .form("x_auth_username", "carol")
        .form("x_auth_password", "correct horse");
    let issued = provider.access_token(&spec.sign().http()).await.unwrap();
    assert_eq!(issued.token.user, "carol");
    assert_eq!(issued.token.realms, vec!["photos".to_owned()]);

    let wrong = Spec::new("/oauth/access_token")
        .form("x_auth_mode", "client_auth")
        .form("x_auth_username", "carol")
        .form("x_auth_password", "wrong");
    let err = provider
        .access_token(&wrong.sign().http())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status, err.problem.as_str()),
        (401, "permission_denied")
    );
    assert_eq!(store.token_count(), 1);
}

#[tokio::test]
async fn revoked_tokens_are_refused_at_once() {
    let w = world();
    let spec = Spec::new("/oauth/request_token").oauth("oauth_callback", CALLBACK);
    let issued = w.provider.request_token(&spec.sign().http()).await.unwrap();
    let approval = w
        .provider
        .approve(&issued.credential.token, "dave")
        .await
        .unwrap();
    let spec = Spec::new("/oauth/access_token")
        .token(&issued.credential.token, issued.credential.secret.expose())
        .oauth("oauth_verifier", &approval.verifier);
    let access = w.provider.access_token(&spec.sign().http()).await.unwrap();
    let call = || {
        Spec::new("/api/me")
            .token(&access.token.token, access.token.secret.expose())
            .sign()
    };
    assert!(
        w.provider
            .verify_resource(&call().http(), &[])
            .await
            .is_ok()
    );
    let tokens = w
        .provider
        .stores()
        .tokens
        .tokens_for_user("dave")
        .await
        .unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        w.provider
            .stores()
            .tokens
            .revoke_tokens("dave", "client")
            .await
            .unwrap(),
        1
    );
    let err = w
        .provider
        .verify_resource(&call().http(), &[])
        .await
        .unwrap_err();
    assert_eq!((err.status, err.problem.as_str()), (401, "token_rejected"));
}
