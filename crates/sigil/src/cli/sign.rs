//! `sigil sign`.

use std::borrow::Cow;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use sigil_core::encoding::form_encode;
use sigil_core::{
    AuthorizationHeader, Clock, OAuthParams, Request, Secret, SignatureMethod, SigningKey,
    SystemClock, body_hash, generate_nonce, sign,
};

use super::Failure;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Output {
    /// The signature base string.
    BaseString,
    /// The signature, not percent-encoded.
    Signature,
    /// The Authorization header value.
    Header,
    /// One JSON object with all of the above and the normalised parameters.
    Json,
}

/// Arguments of `sigil sign`. Values are raw (not percent-encoded).
#[derive(Debug, Args)]
pub struct SignArgs {
    /// HTTP method.
    #[arg(long, short = 'X', default_value = "GET")]
    method: String,
    /// Absolute request URL, query included.
    #[arg(long)]
    url: String,
    /// Consumer (client) key.
    #[arg(long)]
    consumer_key: String,
    /// Consumer secret (HMAC and PLAINTEXT).
    #[arg(long, default_value = "")]
    consumer_secret: String,
    /// Token (temporary or access).
    #[arg(long)]
    token: Option<String>,
    /// Token secret.
    #[arg(long)]
    token_secret: Option<String>,
    /// Signature method.
    #[arg(long, default_value = "HMAC-SHA1", value_parser = parse_method)]
    signature_method: SignatureMethod,
    /// RSA private key for RSA-SHA*: PEM (PKCS#1 or PKCS#8), or PKCS#12
    /// (.p12) with its password in SIGIL_RSA_KEY_PASSWORD or typed when asked.
    #[arg(long, value_name = "FILE")]
    rsa_key: Option<std::path::PathBuf>,
    /// Nonce (default: 128 random bits).
    #[arg(long)]
    nonce: Option<String>,
    /// Timestamp (default: now).
    #[arg(long)]
    timestamp: Option<String>,
    /// Leave out oauth_version.
    #[arg(long)]
    no_version: bool,
    /// Realm for the Authorization header (never signed).
    #[arg(long)]
    realm: Option<String>,
    /// Any other protocol parameter, oauth_* or xoauth_*, as name=value.
    #[arg(long = "oauth", value_name = "NAME=VALUE", value_parser = parse_pair)]
    oauth: Vec<(String, String)>,
    /// A form body parameter, as name=value.
    #[arg(long = "form", value_name = "NAME=VALUE", value_parser = parse_pair, conflicts_with = "body")]
    form: Vec<(String, String)>,
    /// A non-form body, read from FILE.
    #[arg(long, value_name = "FILE", requires = "content_type")]
    body: Option<std::path::PathBuf>,
    /// Content type of --body.
    #[arg(long, requires = "body")]
    content_type: Option<String>,
    /// Add oauth_body_hash (OAuth Body Hash extension) for the body.
    #[arg(long)]
    body_hash: bool,
    /// What to print.
    #[arg(long, value_enum, default_value = "header")]
    output: Output,
}

fn parse_method(s: &str) -> Result<SignatureMethod, String> {
    s.parse()
        .map_err(|_| format!("unknown signature method {s:?}"))
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))
}

/// Runs `sigil sign`.
pub fn run(args: SignArgs) -> Result<(), Failure> {
    let method = args.signature_method;
    let (content_type, body) = if let Some(path) = &args.body {
        let body = std::fs::read(path)
            .with_context(|| format!("cannot read {}", path.display()))
            .map_err(Failure::usage)?;
        (args.content_type.clone(), body)
    } else if !args.form.is_empty() {
        let body = form_encode(args.form.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        (
            Some("application/x-www-form-urlencoded".to_owned()),
            body.into_bytes(),
        )
    } else {
        (None, Vec::new())
    };

    let nonce = match args.nonce {
        Some(n) => n,
        None => generate_nonce().map_err(|e| Failure::from(anyhow!(e)))?,
    };
    let timestamp = args
        .timestamp
        .unwrap_or_else(|| SystemClock.now_unix().to_string());
    let mut oauth = OAuthParams {
        consumer_key: Some(Cow::Owned(args.consumer_key)),
        token: args.token.map(Cow::Owned),
        signature_method: Some(method),
        timestamp: Some(Cow::Owned(timestamp)),
        nonce: Some(Cow::Owned(nonce)),
        version: (!args.no_version).then_some(Cow::Borrowed("1.0")),
        ..OAuthParams::default()
    };
    for (name, value) in args.oauth {
        if !(name.starts_with("oauth_") || name.starts_with("xoauth_")) {
            return Err(Failure::usage(anyhow!(
                "--oauth takes oauth_* or xoauth_* parameters, not {name:?}"
            )));
        }
        if name == "oauth_signature" || name == "oauth_signature_method" {
            return Err(Failure::usage(anyhow!(
                "{name} is set by sigil; use --signature-method"
            )));
        }
        oauth
            .set(&name, Cow::Owned(value))
            .map_err(|e| Failure::usage(anyhow!("--oauth {name}: {e}")))?;
    }
    let request = Request {
        method: &args.method,
        url: &args.url,
        authorization: None,
        content_type: content_type.as_deref(),
        body: &body,
    };
    if args.body_hash {
        if request.has_form_body() {
            return Err(Failure::usage(anyhow!(
                "--body-hash is not allowed with a form body"
            )));
        }
        let hash = body_hash(method, &body)
            .ok_or_else(|| Failure::usage(anyhow!("--body-hash is not defined for {method}")))?;
        oauth
            .set("oauth_body_hash", Cow::Owned(hash))
            .map_err(|e| Failure::usage(anyhow!(e)))?;
    }

    let consumer_secret = Secret::new(args.consumer_secret);
    let token_secret = args.token_secret.map(Secret::new);
    let rsa_key = match (&args.rsa_key, method.is_rsa()) {
        (Some(path), true) => Some(super::keys::read_rsa_key(path)?),
        (None, true) => return Err(Failure::usage(anyhow!("{method} needs --rsa-key"))),
        (Some(_), false) => {
            return Err(Failure::usage(anyhow!(
                "--rsa-key is only for RSA-SHA* methods"
            )));
        }
        (None, false) => None,
    };
    let key = match &rsa_key {
        Some(key) => SigningKey::Rsa(key),
        None => SigningKey::Shared {
            consumer_secret: &consumer_secret,
            token_secret: token_secret.as_ref(),
        },
    };
    let signed = sign(&request, &oauth, &key).map_err(|e| Failure::usage(anyhow!(e)))?;
    let authorization = AuthorizationHeader {
        realm: args.realm.map(Cow::Owned),
        params: signed.oauth.clone(),
    }
    .render();
    match args.output {
        Output::BaseString => println!("{}", signed.base_string),
        Output::Signature => println!("{}", signed.signature()),
        Output::Header => println!("{authorization}"),
        Output::Json => {
            let json = serde_json::json!({
                "base_string": signed.base_string,
                "signature": signed.signature(),
                "authorization": authorization,
                "params": signed.normalized_params(),
            });
            println!("{json}");
        }
    }
    Ok(())
}
