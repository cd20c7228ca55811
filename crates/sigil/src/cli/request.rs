//! `sigil request`: make a signed request, curl-style.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use sigil_client::{Consumer, Placement, Signer, Token};
use sigil_core::SignatureMethod;

use super::Failure;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PlacementArg {
    Header,
    Query,
    Body,
}

/// Arguments of `sigil request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    #[command(flatten)]
    tls: super::tls::TlsArgs,
    /// The URL.
    url: String,
    /// HTTP method (default GET, or POST with -d).
    #[arg(short = 'X', long = "request")]
    method: Option<String>,
    /// A form body parameter, name=value (repeatable).
    #[arg(short = 'd', long = "data", value_name = "NAME=VALUE")]
    data: Vec<String>,
    /// A non-form body from a file: @FILE.
    #[arg(long, value_name = "@FILE", conflicts_with = "data")]
    data_binary: Option<String>,
    /// Content type of --data-binary.
    #[arg(long)]
    content_type: Option<String>,
    /// An extra header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Use the credentials saved by `sigil login --save-as NAME`.
    #[arg(long)]
    profile: Option<String>,
    /// Consumer key.
    #[arg(long, env = "SIGIL_CONSUMER_KEY", required_unless_present = "profile")]
    consumer_key: Option<String>,
    /// Consumer secret.
    #[arg(
        long,
        env = "SIGIL_CONSUMER_SECRET",
        hide_env_values = true,
        default_value = ""
    )]
    consumer_secret: String,
    /// Token.
    #[arg(long, env = "SIGIL_TOKEN")]
    token: Option<String>,
    /// Token secret.
    #[arg(long, env = "SIGIL_TOKEN_SECRET", hide_env_values = true)]
    token_secret: Option<String>,
    /// Signature method (default HMAC-SHA1, or the profile's).
    #[arg(long)]
    signature_method: Option<String>,
    /// RSA private key for RSA-SHA*: PEM, or PKCS#12 (.p12) with its
    /// password in SIGIL_RSA_KEY_PASSWORD or typed when asked.
    #[arg(long)]
    rsa_key: Option<PathBuf>,
    /// Realm for the Authorization header.
    #[arg(long)]
    realm: Option<String>,
    /// Where the protocol parameters go.
    #[arg(long, value_enum, default_value = "header")]
    placement: PlacementArg,
    /// Print the status line and headers too.
    #[arg(short = 'i', long)]
    include: bool,
}

fn pair(text: &str) -> Result<(String, String), Failure> {
    text.split_once('=')
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .ok_or_else(|| Failure::usage(anyhow!("expected NAME=VALUE, got {text:?}")))
}

/// Runs `sigil request`.
pub async fn run(mut args: RequestArgs) -> Result<(), Failure> {
    if let Some(name) = &args.profile {
        let saved = super::login::load_profile(name).map_err(Failure::usage)?;
        args.consumer_key = args.consumer_key.take().or(Some(saved.consumer_key));
        if args.consumer_secret.is_empty() {
            args.consumer_secret = saved.consumer_secret;
        }
        args.token = args.token.take().or(Some(saved.token));
        args.token_secret = args.token_secret.take().or(Some(saved.token_secret));
        args.signature_method = args
            .signature_method
            .take()
            .or(Some(saved.signature_method));
        args.rsa_key = args.rsa_key.take().or(saved.rsa_key);
        args.realm = args.realm.take().or(saved.realm);
    }
    let consumer_key = args.consumer_key.clone().unwrap_or_default();
    let method_name = args
        .signature_method
        .clone()
        .unwrap_or_else(|| "HMAC-SHA1".to_owned());
    let method: SignatureMethod = method_name
        .parse()
        .map_err(|_| Failure::usage(anyhow!("unknown signature method {method_name}")))?;
    let consumer = match (&args.rsa_key, method.is_rsa()) {
        (Some(path), true) => Consumer::rsa(&consumer_key, super::keys::read_rsa_key(path)?),
        (None, true) => return Err(Failure::usage(anyhow!("{method} needs --rsa-key"))),
        _ => Consumer::new(&consumer_key, &args.consumer_secret),
    };
    let mut signer = Signer::new(consumer)
        .method(method)
        .placement(match args.placement {
            PlacementArg::Header => Placement::Header,
            PlacementArg::Query => Placement::Query,
            PlacementArg::Body => Placement::Body,
        });
    if let Some(token) = &args.token {
        signer = signer.token(Token::new(
            token,
            args.token_secret.clone().unwrap_or_default(),
        ));
    }
    if let Some(realm) = &args.realm {
        signer = signer.realm(realm);
    }
    let (content_type, body) = if let Some(file) = &args.data_binary {
        let path = file.strip_prefix('@').unwrap_or(file);
        let body = std::fs::read(path)
            .with_context(|| format!("cannot read {path}"))
            .map_err(Failure::usage)?;
        let ct = args
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        (Some(ct), body)
    } else if !args.data.is_empty() {
        let pairs = args
            .data
            .iter()
            .map(|d| pair(d))
            .collect::<Result<Vec<_>, _>>()?;
        let body =
            sigil_core::encoding::form_encode(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        (
            Some("application/x-www-form-urlencoded".to_owned()),
            body.into_bytes(),
        )
    } else {
        (None, Vec::new())
    };
    let http_method = args.method.clone().unwrap_or_else(|| {
        if body.is_empty() && !matches!(args.placement, PlacementArg::Body) {
            "GET"
        } else {
            "POST"
        }
        .to_owned()
    });
    let signed = signer
        .sign_parts(&http_method, &args.url, content_type.as_deref(), &body)
        .map_err(|e| Failure::usage(anyhow!(e)))?;
    let client = args
        .tls
        .builder()
        .and_then(|b| Ok(b.build()?))
        .map_err(Failure::usage)?;
    let mut request = client.request(
        http_method
            .parse()
            .map_err(|_| Failure::usage(anyhow!("bad method {http_method}")))?,
        &signed.url,
    );
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| Failure::usage(anyhow!("expected 'Name: value', got {header:?}")))?;
        request = request.header(name.trim(), value.trim());
    }
    if let Some(auth) = &signed.authorization {
        request = request.header(reqwest::header::AUTHORIZATION, auth);
    }
    if let Some(ct) = &signed.content_type {
        request = request.header(reqwest::header::CONTENT_TYPE, ct);
    }
    if !signed.body.is_empty() {
        request = request.body(signed.body);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Failure::from(anyhow!(sigil_client::explain_transport(e))))?;
    let status = response.status();
    if args.include {
        println!("{:?} {status}", response.version());
        for (name, value) in response.headers() {
            println!("{name}: {}", value.to_str().unwrap_or("<binary>"));
        }
        println!();
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Failure::from(anyhow!(e)))?;
    use std::io::Write;
    let mut out = std::io::stdout();
    out.write_all(&bytes)
        .map_err(|e| Failure::from(anyhow!(e)))?;
    if !bytes.ends_with(b"\n") {
        let _ = writeln!(out);
    }
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure::from(anyhow!("{status}")))
    }
}
