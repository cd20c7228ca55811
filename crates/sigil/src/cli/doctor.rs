//! `sigil doctor`: why does the server reject my signature?

use anyhow::anyhow;
use clap::Args;
use sigil_client::doctor::{Suspect, diagnose, find_cause, first_difference};
use sigil_core::{Secret, SignatureMethod};

use super::Failure;

/// Arguments of `sigil doctor`: the request as `sigil sign` takes it, and
/// the signature the server expected (or the one it rejected).
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// HTTP method.
    #[arg(long, short = 'X', default_value = "GET")]
    method: String,
    /// Absolute request URL, query included.
    #[arg(long)]
    url: String,
    /// Consumer key.
    #[arg(long)]
    consumer_key: String,
    /// Consumer secret.
    #[arg(long, default_value = "")]
    consumer_secret: String,
    /// Token.
    #[arg(long)]
    token: Option<String>,
    /// Token secret.
    #[arg(long)]
    token_secret: Option<String>,
    /// Signature method.
    #[arg(long, default_value = "HMAC-SHA1")]
    signature_method: String,
    /// RSA private key for RSA-SHA*: PEM, or PKCS#12 (.p12) with its
    /// password in SIGIL_RSA_KEY_PASSWORD or typed when asked.
    #[arg(long)]
    rsa_key: Option<std::path::PathBuf>,
    /// The request's nonce.
    #[arg(long)]
    nonce: String,
    /// The request's timestamp.
    #[arg(long)]
    timestamp: String,
    /// The request had no oauth_version.
    #[arg(long)]
    no_version: bool,
    /// The realm of the Authorization header.
    #[arg(long)]
    realm: Option<String>,
    /// Other protocol parameters, name=value.
    #[arg(long = "oauth", value_name = "NAME=VALUE")]
    oauth: Vec<String>,
    /// Form body parameters, name=value.
    #[arg(long = "form", value_name = "NAME=VALUE")]
    form: Vec<String>,
    /// The signature the server expected or rejected (not percent-encoded).
    #[arg(long)]
    signature: String,
}

fn pairs(list: &[String]) -> Result<Vec<(String, String)>, Failure> {
    list.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .ok_or_else(|| Failure::usage(anyhow!("expected NAME=VALUE, got {p:?}")))
        })
        .collect()
}

/// Runs `sigil doctor`.
pub fn run(args: DoctorArgs) -> Result<(), Failure> {
    let method: SignatureMethod = args.signature_method.parse().map_err(|_| {
        Failure::usage(anyhow!(
            "unknown signature method {}",
            args.signature_method
        ))
    })?;
    let rsa = match &args.rsa_key {
        Some(path) => Some(super::keys::read_rsa_key(path)?),
        None => None,
    };
    let mut oauth = vec![
        ("oauth_consumer_key".to_owned(), args.consumer_key.clone()),
        (
            "oauth_signature_method".to_owned(),
            method.as_str().to_owned(),
        ),
        ("oauth_timestamp".to_owned(), args.timestamp.clone()),
        ("oauth_nonce".to_owned(), args.nonce.clone()),
    ];
    if let Some(t) = &args.token {
        oauth.push(("oauth_token".to_owned(), t.clone()));
    }
    if !args.no_version {
        oauth.push(("oauth_version".to_owned(), "1.0".to_owned()));
    }
    oauth.extend(pairs(&args.oauth)?);
    let suspect = Suspect {
        method: args.method.clone(),
        url: args.url.clone(),
        form: pairs(&args.form)?,
        oauth,
        realm: args.realm.clone(),
        signature_method: method,
        consumer_secret: Secret::new(args.consumer_secret.clone()),
        token_secret: args.token_secret.clone().map(Secret::new),
    };
    let all = diagnose(&suspect, rsa.as_ref());
    let Some(given) = all.first().cloned() else {
        return Err(Failure::usage(anyhow!(
            "cannot build a base string for this request"
        )));
    };
    match find_cause(&suspect, &args.signature, rsa.as_ref()) {
        Some(found) if found.cause == "as given" => {
            println!("The signature matches the request as given: the difference is elsewhere");
            println!("(secrets, or a request that differs from what was described here).");
            Ok(())
        }
        Some(found) => {
            println!("match: {}", found.cause);
            println!();
            println!("as given:  {}", given.base_string);
            println!("signed:    {}", found.base_string);
            if let Some(at) = first_difference(&given.base_string, &found.base_string) {
                println!(
                    "           {}^ first difference at byte {at}",
                    " ".repeat(at)
                );
            }
            Ok(())
        }
        None => {
            println!("No usual mistake explains this signature. Tried:");
            for f in &all {
                println!("  {}", f.cause);
            }
            println!("\nbase string as given: {}", given.base_string);
            Err(Failure::from(anyhow!("no variant matches")))
        }
    }
}
