//! `sigil admin`: users, clients and tokens from the command line.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use sigil_core::{RsaPublicKey, Secret, SignatureMethod, random_hex};
use sigil_server::{Client, Policy, TokenStore};
use tokio::io::AsyncReadExt;

use super::settings::{FileConfig, StoreArgs, provider};

/// Arguments of `sigil admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Users (resource owners).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Registered applications.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Approve a pending request token as a user and print the verifier.
    Authorize {
        /// The request token.
        #[arg(long)]
        token: String,
        /// The approving user.
        #[arg(long)]
        user: String,
        /// Print JSON: {"verifier": ..., "callback": ...}.
        #[arg(long)]
        json: bool,
    },
    /// Access tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The key that seals secrets at rest.
    SealKey {
        #[command(subcommand)]
        command: SealKeyCommand,
    },
    /// Write a consistent copy of the SQLite database to FILE while
    /// `sigil serve` keeps running, and the seal key beside it (FILE.key)
    /// when the key comes from a file. A server started on the copy serves
    /// the same clients and tokens. PostgreSQL: use pg_dump.
    Backup {
        /// The copy; must not exist.
        file: PathBuf,
    },
    /// Apply the database migrations this build has, and print the schema
    /// version (`sigil serve` does it at start too; run it once before
    /// rolling a new version out across instances).
    Migrate,
}

#[derive(Debug, Subcommand)]
enum SealKeyCommand {
    /// Re-seal every secret under a new key, in one transaction. Stop every
    /// `sigil serve` on the database first, and start them with the new key:
    /// written to the key file when that is where the key came from, else
    /// printed, for --seal-key / SIGIL_SEAL_KEY.
    Rotate,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user. Without --password-stdin a random password is made and
    /// printed.
    Add {
        /// The user name.
        name: String,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register an application; prints its key and secret.
    Add {
        /// Application name.
        #[arg(long)]
        name: String,
        /// Description shown on the consent page.
        #[arg(long, default_value = "")]
        description: String,
        /// Website.
        #[arg(long)]
        website: Option<String>,
        /// Registered callback URL (repeat for more).
        #[arg(long = "callback")]
        callbacks: Vec<String>,
        /// Realms the application may ask for (space-separated); also its
        /// default realms.
        #[arg(long)]
        realms: Option<String>,
        /// RSA public key (PEM, or an X.509 certificate) for RSA-SHA*.
        #[arg(long, value_name = "FILE")]
        rsa_public_key: Option<PathBuf>,
        /// Allowed signature methods, comma-separated (default: the HMAC
        /// methods, or with --rsa-public-key the RSA ones; PLAINTEXT only
        /// when listed).
        #[arg(long, value_delimiter = ',')]
        signature_methods: Vec<String>,
        /// Allow the oob (PIN) callback.
        #[arg(long)]
        allow_oob: bool,
        /// Allow xAuth.
        #[arg(long)]
        allow_xauth: bool,
        /// Print JSON: {"key": ..., "secret": ...}.
        #[arg(long)]
        json: bool,
    },
    /// List applications.
    List,
    /// Show one application (never its secret).
    Show {
        /// Consumer key.
        key: String,
    },
    /// Disable an application: every request it signs is refused.
    Disable {
        /// Consumer key.
        key: String,
    },
    /// Give an application a new secret; prints it.
    RotateSecret {
        /// Consumer key.
        key: String,
        /// Print JSON: {"key": ..., "secret": ...}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// List access tokens (never their secrets).
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke an access token.
    Revoke {
        /// The access token.
        token: String,
    },
}

/// `sigil admin seal-key rotate`. With a key file, the new key is written
/// beside it first (`FILE.new`), the secrets re-sealed, then the file
/// replaced: an interruption leaves the new key in `FILE.new`.
async fn rotate_seal_key(
    store: &StoreArgs,
    file: &FileConfig,
    sql: &sigil_store::SqlStore,
) -> anyhow::Result<()> {
    let new_key = sigil_store::Sealer::generate_key()?;
    let new = sigil_store::Sealer::from_config(&new_key)?;
    let from_file = store.seal_key.is_none() && file.seal_key.is_none();
    let path = store.seal_key_path(file, &store.database_url(file));
    let mut pending = path.clone().into_os_string();
    pending.push(".new");
    let pending = PathBuf::from(pending);
    if from_file {
        super::settings::write_private(&pending, &new_key, false).with_context(|| {
            format!(
                "cannot write the new key beside {} (is an earlier rotation's {} left over?)",
                path.display(),
                pending.display()
            )
        })?;
    }
    let count = sql.rotate_seal_key(&new).await?;
    if from_file {
        std::fs::rename(&pending, &path).with_context(|| {
            format!(
                "secrets re-sealed, but {} could not replace {}: move it there by hand",
                pending.display(),
                path.display()
            )
        })?;
        println!(
            "re-sealed {count} secrets; the new key is in {}",
            path.display()
        );
    } else {
        println!("re-sealed {count} secrets; new key: {new_key}");
        println!("give every server this key (--seal-key or SIGIL_SEAL_KEY) before starting it");
    }
    Ok(())
}

/// `sigil admin backup FILE`: the database copied by SQLite itself, then
/// the key file, so that the pair opens as the original does.
async fn backup(
    store: &StoreArgs,
    file: &FileConfig,
    sql: &sigil_store::SqlStore,
    target: &std::path::Path,
) -> anyhow::Result<()> {
    let from_file = store.seal_key.is_none() && file.seal_key.is_none();
    let mut key_copy = target.as_os_str().to_owned();
    key_copy.push(".key");
    let key_copy = PathBuf::from(key_copy);
    if from_file && key_copy.exists() {
        bail!("{} exists; a backup overwrites nothing", key_copy.display());
    }
    sql.backup_into(target)
        .await
        .with_context(|| format!("cannot back up into {}", target.display()))?;
    if from_file {
        let key_path = store.seal_key_path(file, &store.database_url(file));
        let key = std::fs::read_to_string(&key_path)
            .with_context(|| format!("cannot read the seal key {}", key_path.display()))?;
        super::settings::write_private(&key_copy, key.trim(), false)?;
        println!(
            "backed up into {}; its seal key is in {}",
            target.display(),
            key_copy.display()
        );
    } else {
        println!(
            "backed up into {}; it opens with the same seal key (--seal-key or SIGIL_SEAL_KEY)",
            target.display()
        );
    }
    Ok(())
}

fn now() -> u64 {
    sigil_core::Clock::now_unix(&sigil_core::SystemClock)
}

/// Runs `sigil admin`.
pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.store.config.as_ref())?;
    let open = args.store.open(&file).await?;
    if let AdminCommand::SealKey {
        command: SealKeyCommand::Rotate,
    } = &args.command
    {
        let result = rotate_seal_key(&args.store, &file, &open.sql).await;
        open.sql.close().await;
        return result;
    }
    if let AdminCommand::Backup { file: target } = &args.command {
        let result = backup(&args.store, &file, &open.sql, target).await;
        open.sql.close().await;
        return result;
    }
    let sql = open.sql.clone();
    match args.command {
        AdminCommand::User {
            command:
                UserCommand::Add {
                    name,
                    password_stdin,
                },
        } => {
            let (password, generated) = if password_stdin {
                let mut text = String::new();
                tokio::io::stdin().read_to_string(&mut text).await?;
                let line = text.lines().next().unwrap_or_default().to_owned();
                if line.is_empty() {
                    bail!("empty password on standard input");
                }
                (line, false)
            } else {
                (random_hex::<12>()?, true)
            };
            sql.create_user(&name, &password)
                .await
                .map_err(|e| match e {
                    sigil_server::StoreError::Duplicate => anyhow!("user {name} exists"),
                    other => anyhow!(other),
                })?;
            if generated {
                println!("user {name} added; password: {password}");
            } else {
                println!("user {name} added");
            }
        }
        AdminCommand::Client { command } => client(&sql, command).await?,
        AdminCommand::SealKey { .. } | AdminCommand::Backup { .. } => {}
        AdminCommand::Migrate => {
            // Opening the store migrated it.
            println!("schema version {}", sql.schema_version().await?);
        }
        AdminCommand::Authorize { token, user, json } => {
            if !sql.user_exists(&user).await? {
                bail!("no user {user} (add one with `sigil admin user add {user}`)");
            }
            let provider = provider(open.stores.clone(), &open, Policy::default())?;
            let approval = provider
                .approve(&token, &user)
                .await
                .map_err(|e| anyhow!("cannot approve: {}", e.advice))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "verifier": approval.verifier, "callback": approval.redirect })
                );
            } else {
                println!("verifier: {}", approval.verifier);
                if let Some(redirect) = approval.redirect {
                    println!("redirect: {redirect}");
                }
            }
        }
        AdminCommand::Token { command } => match command {
            TokenCommand::List { user } => {
                let tokens = match user {
                    Some(user) => sql.tokens_for_user(&user).await?,
                    None => sql.all_tokens().await?,
                };
                for t in tokens {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        t.token,
                        t.client_key,
                        t.user,
                        t.realms.join(" "),
                        t.created_at
                    );
                }
            }
            TokenCommand::Revoke { token } => {
                if !sql.revoke_token(&token).await? {
                    bail!("no such token");
                }
                println!("revoked");
            }
        },
    }
    sql.close().await;
    Ok(())
}

async fn client(sql: &sigil_store::SqlStore, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Add {
            name,
            description,
            website,
            callbacks,
            realms,
            rsa_public_key,
            signature_methods,
            allow_oob,
            allow_xauth,
            json,
        } => {
            let key = random_hex::<12>()?;
            let secret = random_hex::<24>()?;
            let mut client = Client::new(key.clone(), secret.clone(), name);
            client.description = description;
            client.website = website;
            let mut allow_oob = allow_oob;
            let mut checked = Vec::with_capacity(callbacks.len());
            for cb in &callbacks {
                if cb == "oob" {
                    // `--callback oob` means what it says: the PIN flow.
                    allow_oob = true;
                    continue;
                }
                let url = sigil_server::CallbackUrl::parse(cb)
                    .map_err(|e| anyhow!("bad callback URL {cb}: {e}"))?;
                checked.push(url.as_str().to_owned());
            }
            client.callbacks = checked;
            let realms: Vec<String> = realms
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            client.allowed_realms = realms.clone();
            client.default_realms = realms;
            if let Some(path) = rsa_public_key {
                let pem = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                client.rsa_public_key = Some(RsaPublicKey::from_pem(&pem)?);
                client.rsa_public_key_pem = Some(pem);
            }
            client.signature_methods = signature_methods
                .iter()
                .map(|m| {
                    m.parse::<SignatureMethod>()
                        .map_err(|_| anyhow!("unknown signature method {m}"))
                })
                .collect::<anyhow::Result<_>>()?;
            if client.signature_methods.is_empty() && client.rsa_public_key.is_some() {
                // An RSA client signs with its key, not the generated secret.
                client.signature_methods = SignatureMethod::ALL
                    .into_iter()
                    .filter(|m| m.is_rsa())
                    .collect();
            }
            client.allow_oob = allow_oob;
            client.allow_xauth = allow_xauth;
            client.created_at = now();
            sql.insert_client(&client).await?;
            if json {
                println!("{}", serde_json::json!({ "key": key, "secret": secret }));
            } else {
                println!("key: {key}\nsecret: {secret}");
            }
        }
        ClientCommand::List => {
            for c in sql.list_clients(None).await? {
                println!(
                    "{}\t{}\t{}",
                    c.key,
                    if c.enabled { "enabled" } else { "disabled" },
                    c.name
                );
            }
        }
        ClientCommand::Show { key } => {
            let c = sigil_server::ClientStore::client(sql, &key)
                .await?
                .ok_or_else(|| anyhow!("no client {key}"))?;
            let methods: Vec<&str> = c.signature_methods.iter().map(|m| m.as_str()).collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "key": c.key,
                    "name": c.name,
                    "description": c.description,
                    "website": c.website,
                    "callbacks": c.callbacks,
                    "realms": c.allowed_realms,
                    "signature_methods": methods,
                    "rsa_public_key": c.rsa_public_key_pem.is_some(),
                    "allow_oob": c.allow_oob,
                    "allow_xauth": c.allow_xauth,
                    "enabled": c.enabled,
                }))?
            );
        }
        ClientCommand::Disable { key } => {
            if !sql.set_client_enabled(&key, false).await? {
                bail!("no client {key}");
            }
            println!("disabled {key}");
        }
        ClientCommand::RotateSecret { key, json } => {
            let secret = random_hex::<24>()?;
            if !sql
                .set_client_secret(&key, &Secret::new(secret.clone()))
                .await?
            {
                bail!("no client {key}");
            }
            if json {
                println!("{}", serde_json::json!({ "key": key, "secret": secret }));
            } else {
                println!("secret: {secret}");
            }
        }
    }
    Ok(())
}
