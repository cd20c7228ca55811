//! `sigil login`: the whole three-legged flow from a terminal, saving the
//! credentials as a profile for `sigil request --profile`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use sigil_client::{CallbackError, Consumer, Flow, ServiceProfile, Signer, TemporaryCredentials};
use sigil_core::SignatureMethod;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use super::Failure;

/// Arguments of `sigil login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    tls: super::tls::TlsArgs,
    /// A known service: twitter, trello, flickr, tumblr, garmin, etrade,
    /// evernote, discogs, smugmug; or netsuite, jira, woocommerce, magento,
    /// sigil with --service-param.
    #[arg(long, conflicts_with_all = ["request_token_url", "authorize_url", "access_token_url"])]
    service: Option<String>,
    /// The account (NetSuite) or base URL (Jira, Magento, sigil) the service needs.
    #[arg(long)]
    service_param: Option<String>,
    /// Temporary-credential endpoint (instead of --service).
    #[arg(long, requires_all = ["authorize_url", "access_token_url"])]
    request_token_url: Option<String>,
    /// Authorization endpoint.
    #[arg(long)]
    authorize_url: Option<String>,
    /// Token-credential endpoint.
    #[arg(long)]
    access_token_url: Option<String>,
    /// Consumer key.
    #[arg(long, env = "SIGIL_CONSUMER_KEY")]
    consumer_key: String,
    /// Consumer secret.
    #[arg(
        long,
        env = "SIGIL_CONSUMER_SECRET",
        hide_env_values = true,
        default_value = ""
    )]
    consumer_secret: String,
    /// Signature method (default: the service's, else HMAC-SHA1).
    #[arg(long)]
    signature_method: Option<String>,
    /// RSA private key for RSA-SHA*: PEM, or PKCS#12 (.p12) with its
    /// password in SIGIL_RSA_KEY_PASSWORD or typed when asked.
    #[arg(long)]
    rsa_key: Option<PathBuf>,
    /// Use the oob (PIN) flow: type the code the service shows.
    #[arg(long)]
    pin: bool,
    /// A parameter for the authorization page, NAME=VALUE (repeatable):
    /// X's force_login=true or screen_name=…, Flickr's perms=write,
    /// Trello's name=…, scope=read,write, expiration=never. Replaces the
    /// service's default of that name.
    #[arg(long = "authorize-param", value_name = "NAME=VALUE", value_parser = name_value)]
    authorize_params: Vec<(String, String)>,
    /// Use the service's "sign in with" page (X's oauth/authenticate): a
    /// user who already authorized this app is sent straight back.
    #[arg(long)]
    sign_in: bool,
    /// Save the credentials as this profile.
    #[arg(long)]
    save_as: Option<String>,
}

fn name_value(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err("expected NAME=VALUE".to_owned()),
    }
}

/// A saved profile: what `sigil request --profile` needs.
#[derive(Debug, Serialize, Deserialize)]
pub struct Profile {
    /// Consumer key.
    pub consumer_key: String,
    /// Consumer secret.
    pub consumer_secret: String,
    /// RSA private key file, for RSA-SHA*.
    pub rsa_key: Option<PathBuf>,
    /// Access token.
    pub token: String,
    /// Access token secret.
    pub token_secret: String,
    /// Signature method.
    pub signature_method: String,
    /// Realm, if the service wants one.
    pub realm: Option<String>,
}

/// Where profiles live: `$SIGIL_CONFIG_DIR`, else the user's config
/// directory (`$XDG_CONFIG_HOME/sigil`, `~/.config/sigil`).
pub fn profile_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("SIGIL_CONFIG_DIR") {
        return Ok(PathBuf::from(dir).join("profiles"));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").ok_or_else(|| anyhow!("no HOME"))?)
            .join(".config"),
    };
    Ok(base.join("sigil").join("profiles"))
}

fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads a saved profile.
pub fn load_profile(name: &str) -> anyhow::Result<Profile> {
    if !valid_profile_name(name) {
        bail!("profile names are letters, digits, - and _");
    }
    let path = profile_dir()?.join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no profile {name} ({})", path.display()))?;
    Ok(toml::from_str(&text)?)
}

fn save_profile(name: &str, profile: &Profile) -> anyhow::Result<PathBuf> {
    if !valid_profile_name(name) {
        bail!("profile names are letters, digits, - and _");
    }
    let dir = profile_dir()?;
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.toml"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    file.write_all(toml::to_string(profile)?.as_bytes())?;
    Ok(path)
}

/// Shows what we are waiting for; a spinner when stderr is a terminal.
fn waiting(what: &str) -> Option<tokio::task::JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        eprintln!("{what}");
        return None;
    }
    let what = what.to_owned();
    Some(tokio::spawn(async move {
        let frames = ['|', '/', '-', '\\'];
        let mut i = 0usize;
        loop {
            eprint!("\r{} {what}", frames.get(i % 4).copied().unwrap_or('|'));
            i += 1;
            tokio::time::sleep(std::time::Duration::from_millis(120)).await;
        }
    }))
}

/// The request line of an HTTP request (up to its CRLF), read in as many
/// pieces as it arrives in: a client may send `GET ` and the target in
/// separate segments, and one read would see only the first. `None` when
/// the peer goes away, sends more than 8 KiB without a line end, or takes
/// more than 10 s.
async fn request_line(stream: &mut tokio::net::TcpStream) -> Option<String> {
    const MAX: usize = 8192;
    let read = async {
        let mut head = Vec::with_capacity(1024);
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = head.windows(2).position(|w| w == b"\r\n") {
                head.truncate(end);
                return Some(String::from_utf8_lossy(&head).into_owned());
            }
            if head.len() > MAX {
                return None;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => head.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .ok()
        .flatten()
}

/// Waits for the browser's redirect on the loopback listener and returns
/// the verifier (sigil-client's callback parser checks the request token).
/// A request for another token, or a malformed one, is answered 400 and
/// waited past; a denial ends the wait.
async fn await_callback(
    listener: tokio::net::TcpListener,
    temporary: &TemporaryCredentials,
) -> anyhow::Result<String> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let Some(head) = request_line(&mut stream).await else {
            continue;
        };
        let target = head.split_whitespace().nth(1).unwrap_or("");
        let result = temporary.verifier_from_callback(target);
        let (status, page) = match &result {
            Ok(_) => ("200 OK", "Signed in. You can close this window."),
            Err(CallbackError::Denied { .. }) => ("200 OK", "Authorization was denied."),
            Err(_) => ("400 Bad Request", "Not the expected callback."),
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(reply.as_bytes()).await;
        match result {
            Ok(verifier) => return Ok(verifier),
            Err(denied @ CallbackError::Denied { .. }) => return Err(anyhow!(denied)),
            Err(_) => continue,
        }
    }
}

/// Runs `sigil login`.
pub async fn run(args: LoginArgs) -> Result<(), Failure> {
    let mut profile = match (&args.service, &args.request_token_url) {
        (Some(name), _) => ServiceProfile::by_name(name, args.service_param.as_deref())
            .ok_or_else(|| {
                Failure::usage(anyhow!(
                    "unknown service {name} (or it needs --service-param)"
                ))
            })?,
        (None, Some(request)) => {
            let mut p = ServiceProfile::sigil("");
            p.name = "custom".into();
            p.request_token_url = request.clone();
            p.authorize_url = args.authorize_url.clone().unwrap_or_default();
            p.access_token_url = args.access_token_url.clone().unwrap_or_default();
            p
        }
        (None, None) => {
            return Err(Failure::usage(anyhow!(
                "give --service or the three endpoint URLs"
            )));
        }
    };
    if let Some(m) = &args.signature_method {
        profile.signature_method = m
            .parse::<SignatureMethod>()
            .map_err(|_| Failure::usage(anyhow!("unknown signature method {m}")))?;
    }
    let method = profile.signature_method;
    let consumer = match (&args.rsa_key, method.is_rsa()) {
        (Some(path), true) => Consumer::rsa(&args.consumer_key, super::keys::read_rsa_key(path)?),
        (None, true) => return Err(Failure::usage(anyhow!("{method} needs --rsa-key"))),
        _ => Consumer::new(&args.consumer_key, &args.consumer_secret),
    };
    let mut signer = Signer::new(consumer)
        .method(method)
        .placement(profile.placement);
    if let Some(realm) = &profile.realm {
        signer = signer.realm(realm);
    }
    let realm = profile.realm.clone();
    let http = args
        .tls
        .builder()
        .and_then(|b| Ok(b.build()?))
        .map_err(Failure::usage)?;
    if profile.authorize_url.is_empty() {
        return Err(Failure::usage(anyhow!(
            "{} has no authorization page (its verifier comes with the integration's activation)",
            profile.name
        )));
    }
    if args.sign_in && profile.authenticate_url.is_none() {
        return Err(Failure::usage(anyhow!(
            "{} has no sign-in page; leave out --sign-in",
            profile.name
        )));
    }
    let flow = Flow::new(profile, signer).http_client(http);

    let (listener, callback) = if args.pin {
        (None, "oob".to_owned())
    } else {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Failure::from(anyhow!(e)))?;
        let port = listener
            .local_addr()
            .map_err(|e| Failure::from(anyhow!(e)))?
            .port();
        (Some(listener), format!("http://127.0.0.1:{port}/callback"))
    };
    let temporary = flow
        .request_token(&callback, &[])
        .await
        .map_err(|e| Failure::from(anyhow!(e)))?;
    let extra: Vec<(&str, &str)> = args
        .authorize_params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let url = if args.sign_in {
        flow.sign_in_url(&temporary, &extra)
            .ok_or_else(|| Failure::usage(anyhow!("no sign-in page")))?
    } else {
        flow.authorization_url(&temporary, &extra)
    };
    println!("Open this URL to authorize:\n{url}");
    let _ = std::io::stdout().flush();
    if std::env::var_os("DISPLAY").is_some() || cfg!(target_os = "macos") {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        // The opener must not share our stdin: the PIN is read from it.
        let _ = std::process::Command::new(opener)
            .arg(&url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    let verifier = match listener {
        None => {
            print!("Code (PIN): ");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            tokio::io::BufReader::new(tokio::io::stdin())
                .read_line(&mut line)
                .await
                .map_err(|e| Failure::from(anyhow!(e)))?;
            line.trim().to_owned()
        }
        Some(listener) => {
            let spinner = waiting(&format!("waiting for the redirect to {callback}"));
            let result = await_callback(listener, &temporary).await;
            if let Some(s) = spinner {
                s.abort();
                eprintln!();
            }
            result.map_err(Failure::from)?
        }
    };
    let credentials = flow
        .access_token(&temporary, &verifier)
        .await
        .map_err(|e| Failure::from(anyhow!(e)))?;
    println!("Signed in.");
    for (name, value) in &credentials.extra {
        if matches!(
            name.as_str(),
            "user_id" | "screen_name" | "oauth_expires_in"
        ) {
            println!("{name}: {value}");
        }
    }
    if let Some(name) = &args.save_as {
        let saved = Profile {
            consumer_key: args.consumer_key.clone(),
            consumer_secret: args.consumer_secret.clone(),
            rsa_key: args.rsa_key.clone(),
            token: credentials.token.token.clone(),
            token_secret: credentials.token.secret.expose().to_owned(),
            signature_method: method.as_str().to_owned(),
            realm,
        };
        let path = save_profile(name, &saved).map_err(Failure::from)?;
        println!("saved profile {name} ({})", path.display());
    } else {
        println!("oauth_token: {}", credentials.token.token);
        println!("oauth_token_secret: {}", credentials.token.secret.expose());
    }
    Ok(())
}
