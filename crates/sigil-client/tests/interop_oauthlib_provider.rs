//! sigil-client against a provider built with Python's oauthlib and Flask
//! (interop/oauthlib_provider.py): the whole flow and a protected call, for
//! HMAC-SHA1, HMAC-SHA256, RSA-SHA1 and PLAINTEXT, in the header, the query
//! and the body. Under ./test.sh a missing Python is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use sigil_client::{
    Consumer, Flow, OAuth1Middleware, Placement, RequestBuilderExt, RsaPrivateKey, ServiceProfile,
    SignatureMethod, Signer,
};

fn python() -> Option<String> {
    if let Ok(python) = std::env::var("SIGIL_PYTHON") {
        return Some(python);
    }
    assert!(
        std::env::var_os("SIGIL_SERVICE_TESTS").is_none(),
        "SIGIL_SERVICE_TESTS is set but SIGIL_PYTHON is not: run ./test.sh"
    );
    eprintln!("skipping: set SIGIL_PYTHON (./test.sh does)");
    None
}

struct Provider(std::process::Child);

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn sigil_client_completes_the_flow_against_oauthlib() {
    let Some(python) = python() else { return };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut child = Command::new(python)
        .arg(format!("{root}/interop/oauthlib_provider.py"))
        .args(["sigil-client-key", "sigil-client-secret"])
        .arg(format!(
            "{root}/crates/sigil-core/tests/data/test-rsa-public.pem"
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _provider = Provider(child);
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let mut profile = ServiceProfile::sigil(&base);
    profile.request_token_url = format!("{base}/request_token");
    profile.authorize_url = format!("{base}/authorize");
    profile.access_token_url = format!("{base}/access_token");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let rsa = RsaPrivateKey::from_pem(include_str!(
        "../../sigil-core/tests/data/test-rsa-pkcs1.pem"
    ))
    .unwrap();
    let http = reqwest::Client::new();
    for method in [
        SignatureMethod::HmacSha1,
        SignatureMethod::HmacSha256,
        SignatureMethod::RsaSha1,
        SignatureMethod::Plaintext,
    ] {
        for placement in [Placement::Header, Placement::Query, Placement::Body] {
            let context = format!("{method} {placement:?}");
            let consumer = if method.is_rsa() {
                Consumer::rsa("sigil-client-key", rsa.clone())
            } else {
                Consumer::new("sigil-client-key", "sigil-client-secret")
            };
            let flow = Flow::new(
                profile.clone(),
                Signer::new(consumer).method(method).placement(placement),
            );
            let temporary = flow
                .request_token("http://127.0.0.1:9/callback", &[])
                .await
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            let answer = browser
                .get(flow.authorization_url(&temporary, &[]))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), 302, "{context}");
            let location = answer.headers()["location"].to_str().unwrap().to_owned();
            let verifier = temporary
                .verifier_from_callback(&location)
                .unwrap_or_else(|e| panic!("{context}: {e} ({location})"));
            let credentials = flow
                .access_token(&temporary, &verifier)
                .await
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            let request = if placement == Placement::Body {
                http.post(format!("{base}/api/me"))
                    .form(&[("a", "b")])
                    .build()
                    .unwrap()
            } else {
                http.get(format!("{base}/api/me?size=original"))
                    .build()
                    .unwrap()
            };
            let signed = flow.signer_for(&credentials).sign_reqwest(request).unwrap();
            let response = http.execute(signed).await.unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert_eq!(status, 200, "{context}: {body}");
            assert!(body.contains("\"user\":\"alice\""), "{context}: {body}");
        }
    }

    // reqwest as its users write it: the builder extension, the
    // middleware (twice: each request signed afresh, so no replay), and
    // the blocking client.
    let flow = Flow::new(
        profile.clone(),
        Signer::new(Consumer::new("sigil-client-key", "sigil-client-secret")),
    );
    let temporary = flow
        .request_token("http://127.0.0.1:9/callback", &[])
        .await
        .unwrap();
    let location = browser
        .get(flow.authorization_url(&temporary, &[]))
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    // A callback for another request token is refused.
    assert_eq!(
        temporary.verifier_from_callback(&location.replace(&temporary.token.token, "other")),
        Err(sigil_client::CallbackError::WrongToken)
    );
    let verifier = temporary.verifier_from_callback(&location).unwrap();
    let credentials = flow.access_token(&temporary, &verifier).await.unwrap();
    let signer = flow.signer_for(&credentials);
    let me = format!("{base}/api/me?size=original");

    assert_alice(http.get(&me).oauth1(&signer).unwrap().send().await.unwrap()).await;
    // Unsigned, the same call is refused: the 200s above are the signature's.
    assert_eq!(http.get(&me).send().await.unwrap().status().as_u16(), 401);

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(OAuth1Middleware::new(signer.clone()))
        .build();
    for _ in 0..2 {
        assert_alice(client.get(&me).send().await.unwrap()).await;
    }

    let blocking = tokio::task::spawn_blocking(move || {
        let http = reqwest::blocking::Client::new();
        let response = http
            .post(format!("{base}/api/me"))
            .form(&[("a", "b")])
            .oauth1(&signer.placement(Placement::Body))
            .unwrap()
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    })
    .await
    .unwrap();
    assert_eq!(blocking.0, 200, "{}", blocking.1);
    assert!(blocking.1.contains("\"user\":\"alice\""), "{}", blocking.1);
}

/// The provider answered 200 with alice's resource.
async fn assert_alice(response: reqwest::Response) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"user\":\"alice\""), "{body}");
}
