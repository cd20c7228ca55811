//! A request that verifies stops verifying after any single change: the
//! method, the URL's scheme, host, port, path or query, any parameter's
//! name or value, the form body, the token, the nonce, the timestamp or
//! the signature. One property per kind of change, 1,000 random requests
//! each (HMAC-SHA1 and HMAC-SHA256, signature in the header).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;

use proptest::prelude::*;
use sigil_core::encoding::form_encode;
use sigil_core::*;

/// A signed request as the server receives it.
#[derive(Clone, Debug)]
struct Wire {
    method: String,
    scheme: &'static str,
    host: String,
    port: Option<u16>,
    path: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    header: String,
}

impl Wire {
    fn url(&self) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        let query = form_encode(self.query.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        format!("{}://{}{port}{}{query}", self.scheme, self.host, self.path)
    }

    fn body(&self) -> Vec<u8> {
        form_encode(self.form.iter().map(|(n, v)| (n.as_str(), v.as_str()))).into_bytes()
    }

    /// Whether it verifies with the secrets it was signed with.
    fn verifies(&self) -> bool {
        let (url, body) = (self.url(), self.body());
        let request = Request {
            method: &self.method,
            url: &url,
            authorization: Some(&self.header),
            content_type: (!self.form.is_empty()).then_some("application/x-www-form-urlencoded"),
            body: &body,
        };
        let (cs, ts) = (Secret::new("consumer secret"), Secret::new("token secret"));
        let key = VerifyingKey::Shared {
            consumer_secret: &cs,
            token_secret: Some(&ts),
        };
        ParsedRequest::parse(&request, &Limits::DEFAULT)
            .map(|parsed| parsed.verify(&key).is_ok())
            .unwrap_or(false)
    }

    /// The header with `name`'s value made different.
    fn header_with_changed(&self, name: &str) -> String {
        let start = self.header.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + self.header[start..].find('"').unwrap();
        let value = &self.header[start..end];
        // A number stays a number (one more); otherwise flip the first
        // character between two unreserved ones.
        let changed = match value.as_bytes().first() {
            _ if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                (value.parse::<u64>().unwrap() + 1).to_string()
            }
            Some(b'A') => format!("B{}", &value[1..]),
            Some(_) => format!("A{}", &value[1..]),
            None => "A".to_owned(),
        };
        format!("{}{changed}{}", &self.header[..start], &self.header[end..])
    }
}

fn params(max: usize) -> impl Strategy<Value = Vec<(String, String)>> {
    // Names never start with `o`, so never `oauth_`: those belong in the
    // header here.
    prop::collection::vec(("[a-np-z][a-z0-9_]{0,6}", "\\PC{0,10}"), 0..max)
}

prop_compose! {
    fn signed_wire()(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
        scheme in prop::sample::select(vec!["http", "https"]),
        host in "[a-z][a-z0-9-]{0,10}\\.example",
        port in prop::option::of(1024u16..65000),
        path in "(/[a-zA-Z0-9._~-]{0,8}){0,3}",
        query in params(4),
        form in params(4),
        signature_method in prop::sample::select(vec![SignatureMethod::HmacSha1, SignatureMethod::HmacSha256]),
        token in "[a-zA-Z0-9]{1,20}",
        nonce in "[a-zA-Z0-9]{8,32}",
        timestamp in 1_000_000_000u64..2_000_000_000,
    ) -> Wire {
        let mut wire = Wire {
            method: method.to_owned(),
            scheme,
            host,
            port,
            path,
            query,
            form,
            header: String::new(),
        };
        let (url, body) = (wire.url(), wire.body());
        let request = Request {
            method: &wire.method,
            url: &url,
            authorization: None,
            content_type: (!wire.form.is_empty()).then_some("application/x-www-form-urlencoded"),
            body: &body,
        };
        let timestamp = timestamp.to_string();
        let oauth = OAuthParams {
            consumer_key: Some(Cow::Borrowed("consumer")),
            token: Some(Cow::Owned(token)),
            signature_method: Some(signature_method),
            timestamp: Some(Cow::Owned(timestamp)),
            nonce: Some(Cow::Owned(nonce)),
            version: Some(Cow::Borrowed("1.0")),
            ..OAuthParams::default()
        };
        let (cs, ts) = (Secret::new("consumer secret"), Secret::new("token secret"));
        let key = SigningKey::Shared { consumer_secret: &cs, token_secret: Some(&ts) };
        wire.header = sign(&request, &oauth, &key).unwrap().authorization_header(None);
        wire
    }
}

/// Checks that `wire` verifies and that `change` makes it stop.
fn broken_by(wire: Wire, change: impl FnOnce(&mut Wire) -> bool) -> Result<(), TestCaseError> {
    prop_assert!(
        wire.verifies(),
        "the unchanged request must verify: {wire:?}"
    );
    let mut changed = wire.clone();
    if change(&mut changed) {
        prop_assert!(
            !changed.verifies(),
            "still verifies after a change: {changed:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_method(wire in signed_wire()) {
        broken_by(wire, |w| { w.method = if w.method == "GET" { "HEAD".into() } else { "GET".into() }; true })?;
    }

    #[test]
    fn the_scheme(wire in signed_wire()) {
        broken_by(wire, |w| { w.scheme = if w.scheme == "http" { "https" } else { "http" }; true })?;
    }

    #[test]
    fn the_host(wire in signed_wire()) {
        broken_by(wire, |w| { w.host = format!("a{}", w.host); true })?;
    }

    #[test]
    fn the_port(wire in signed_wire()) {
        broken_by(wire, |w| { w.port = Some(w.port.map_or(8080, |p| p + 1)); true })?;
    }

    #[test]
    fn the_path(wire in signed_wire()) {
        broken_by(wire, |w| { w.path.push_str("/x"); true })?;
    }

    #[test]
    fn a_query_value(wire in signed_wire()) {
        broken_by(wire, |w| match w.query.first_mut() {
            Some((_, v)) => { v.push('1'); true }
            None => { w.query.push(("added".into(), String::new())); true }
        })?;
    }

    #[test]
    fn a_query_name(wire in signed_wire()) {
        broken_by(wire, |w| match w.query.first_mut() {
            Some((n, _)) => { n.push('1'); true }
            None => false,
        })?;
    }

    #[test]
    fn a_form_value(wire in signed_wire()) {
        broken_by(wire, |w| match w.form.first_mut() {
            Some((_, v)) => { v.push('1'); true }
            None => false,
        })?;
    }

    #[test]
    fn a_form_name(wire in signed_wire()) {
        broken_by(wire, |w| match w.form.first_mut() {
            Some((n, _)) => { n.push('1'); true }
            None => false,
        })?;
    }

    #[test]
    fn a_parameter_added_to_the_body(wire in signed_wire()) {
        broken_by(wire, |w| { w.form.push(("added".into(), "1".into())); true })?;
    }

    #[test]
    fn the_token(wire in signed_wire()) {
        broken_by(wire, |w| { w.header = w.header_with_changed("oauth_token"); true })?;
    }

    #[test]
    fn the_nonce(wire in signed_wire()) {
        broken_by(wire, |w| { w.header = w.header_with_changed("oauth_nonce"); true })?;
    }

    #[test]
    fn the_timestamp(wire in signed_wire()) {
        broken_by(wire, |w| { w.header = w.header_with_changed("oauth_timestamp"); true })?;
    }

    #[test]
    fn the_signature(wire in signed_wire()) {
        broken_by(wire, |w| { w.header = w.header_with_changed("oauth_signature"); true })?;
    }

    #[test]
    fn the_consumer_key(wire in signed_wire()) {
        broken_by(wire, |w| { w.header = w.header_with_changed("oauth_consumer_key"); true })?;
    }
}
