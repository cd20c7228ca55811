//! The pages: home, sign in/out, sign up, applications, authorized
//! applications.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;
use sigil_core::{RsaPublicKey, Secret, SignatureMethod, random_hex};
use sigil_server::{Client, StoreError};

use super::session::{self, tokens_match};
use super::{
    FormFields, MAX_FORM_BYTES, Visitor, Web, format_time, local_path, peer_address, unix_now,
};

/// A 303 to `location`; a location that cannot be a header goes home.
pub(super) fn see_other(location: &str) -> Response {
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response()
}

/// Reads a form body (bounded) into its fields.
async fn read_form(web: &Web, request: Request) -> Result<(Parts, FormFields), Response> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return Err(web.message(
            StatusCode::PAYLOAD_TOO_LARGE,
            &Visitor::default(),
            "Too much data",
            "The form sent more than this site accepts.",
        ));
    };
    match FormFields::parse(&bytes) {
        Some(form) => Ok((parts, form)),
        None => Err(web.message(
            StatusCode::BAD_REQUEST,
            &Visitor::default(),
            "Unreadable form",
            "The form data could not be read.",
        )),
    }
}

impl Web {
    /// The signed-in visitor, or a redirect to sign in (coming back to
    /// `back`), or the store's failure page.
    async fn signed_in(&self, headers: &HeaderMap, back: &str) -> Result<Visitor, Response> {
        match self.visitor(headers).await {
            Ok(v) if v.session.is_some() => Ok(v),
            Ok(_) => Err(Web::to_sign_in(back)),
            Err(err) => Err(self.unavailable(&err)),
        }
    }

    /// A signed-in form POST whose CSRF token matches its session: the
    /// visitor and the form; otherwise the refusal (403), and nothing done.
    pub(super) async fn checked_post(
        &self,
        request: Request,
    ) -> Result<(Visitor, FormFields), Response> {
        let (parts, form) = read_form(self, request).await?;
        let visitor = match self.visitor(&parts.headers).await {
            Ok(v) => v,
            Err(err) => return Err(self.unavailable(&err)),
        };
        let Some(session) = &visitor.session else {
            return Err(self.message(
                StatusCode::FORBIDDEN,
                &visitor,
                "Signed out",
                "Your session has ended, so nothing was changed. Sign in and try again.",
            ));
        };
        if !tokens_match(form.get("csrf"), &session.csrf) {
            return Err(self.message(
                StatusCode::FORBIDDEN,
                &visitor,
                "Form expired",
                "This form did not come from your current session, so nothing was changed. Go back, reload the page and try again.",
            ));
        }
        Ok((visitor, form))
    }

    /// The sign-in (or sign-up) form, with the signed-out visitor's form
    /// token (made and set as a cookie when missing).
    fn signed_out_form(
        &self,
        status: StatusCode,
        template: &str,
        headers: &HeaderMap,
        values: minijinja::Value,
    ) -> Response {
        let (token, set) = match session::cookie(headers, self.cookies.form) {
            Some(t) => (t.to_owned(), None),
            None => match random_hex::<32>() {
                Ok(t) => {
                    let set = self.cookies.set(self.cookies.form, &t, 3600);
                    (t, set)
                }
                Err(err) => return self.unavailable(&err),
            },
        };
        let mut response = self.render(
            status,
            template,
            &Visitor::default(),
            context! { form_csrf => token, ..values },
        );
        if let Some(set) = set {
            response.headers_mut().append(header::SET_COOKIE, set);
        }
        response
    }

    /// Signs `user` in with a new session id (any old one is ended), and
    /// sends them to `next`.
    async fn start_session(&self, headers: &HeaderMap, user: &str, next: &str) -> Response {
        if let Some(old) = session::cookie(headers, self.cookies.session)
            && let Err(err) = self.sql.delete_session(old).await
        {
            return self.unavailable(&err);
        }
        let (Ok(id), Ok(csrf)) = (random_hex::<32>(), random_hex::<32>()) else {
            return self.unavailable(&"no randomness");
        };
        let now = unix_now();
        let lifetime = self.settings.session_lifetime;
        if let Err(err) = self
            .sql
            .create_session(&id, user, &csrf, now, now.saturating_add(lifetime))
            .await
        {
            return self.unavailable(&err);
        }
        tracing::info!(user, "signed in");
        let mut response = see_other(next);
        let headers = response.headers_mut();
        if let Some(set) = self.cookies.set(self.cookies.session, &id, lifetime) {
            headers.append(header::SET_COOKIE, set);
        }
        if let Some(clear) = self.cookies.clear(self.cookies.form) {
            headers.append(header::SET_COOKIE, clear);
        }
        response
    }

    /// The provider's realms, with their words, `checked` when in `chosen`.
    fn realm_choices(&self, chosen: &[String]) -> Vec<RealmChoice> {
        self.provider
            .policy()
            .realms
            .iter()
            .map(|name| RealmChoice {
                description: self.realm_words(name),
                checked: chosen.contains(name),
                name: name.clone(),
            })
            .collect()
    }

    /// The words configured for `realm`, or its name.
    pub(super) fn realm_words(&self, realm: &str) -> String {
        self.settings
            .realm_descriptions
            .get(realm)
            .cloned()
            .unwrap_or_else(|| realm.to_owned())
    }
}

#[derive(Serialize)]
struct RealmChoice {
    name: String,
    description: String,
    checked: bool,
}

/// `GET /`.
pub async fn home(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    match web.visitor(&headers).await {
        Ok(visitor) => web.render(
            StatusCode::OK,
            "home.html",
            &visitor,
            context! { title => "Home" },
        ),
        Err(err) => web.unavailable(&err),
    }
}

fn query_next(parts: &Parts) -> String {
    local_path(
        parts
            .uri
            .query()
            .and_then(|q| sigil_axum::query_value(q, "next"))
            .as_deref(),
    )
}

/// `GET /login`.
pub async fn sign_in_page(State(web): State<Arc<Web>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let next = query_next(&parts);
    match web.visitor(&parts.headers).await {
        Ok(v) if v.session.is_some() => see_other(&next),
        Ok(_) => web.signed_out_form(
            StatusCode::OK,
            "login.html",
            &parts.headers,
            context! { title => "Sign in", next, username => "" },
        ),
        Err(err) => web.unavailable(&err),
    }
}

/// Names that can sign in: anything an administrator could have made,
/// bounded and without control characters.
fn plausible_user_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 256 && !name.chars().any(char::is_control)
}

/// A signed-out form POST (sign in, sign up) whose double-submit token
/// matched: its fields, where to go next, and the user name typed.
struct SignedOutPost {
    headers: HeaderMap,
    form: FormFields,
    next: String,
    username: String,
    template: &'static str,
    title: &'static str,
}

impl SignedOutPost {
    /// Reads the form; a missing or foreign form token gets the form again
    /// (403) with `expired`, and nothing happens.
    async fn read(
        web: &Web,
        request: Request,
        template: &'static str,
        title: &'static str,
        expired: &str,
    ) -> Result<Self, Response> {
        let (parts, form) = read_form(web, request).await?;
        let post = Self {
            next: local_path(form.get("next")),
            username: form.get("username").unwrap_or_default().trim().to_owned(),
            headers: parts.headers,
            form,
            template,
            title,
        };
        let form_token = session::cookie(&post.headers, web.cookies.form);
        if !form_token.is_some_and(|t| tokens_match(post.form.get("csrf"), t)) {
            return Err(post.again(web, StatusCode::FORBIDDEN, expired));
        }
        Ok(post)
    }

    fn password(&self) -> &str {
        self.form.get("password").unwrap_or_default()
    }

    /// The same form again, with `error`.
    fn again(&self, web: &Web, status: StatusCode, error: &str) -> Response {
        web.signed_out_form(
            status,
            self.template,
            &self.headers,
            context! { title => self.title, next => &self.next, username => &self.username, error },
        )
    }
}

/// `POST /login`.
pub async fn sign_in(State(web): State<Arc<Web>>, request: Request) -> Response {
    let address = peer_address(&request);
    let post = match SignedOutPost::read(
        &web,
        request,
        "login.html",
        "Sign in",
        "The form expired. Please sign in again.",
    )
    .await
    {
        Ok(post) => post,
        Err(response) => return response,
    };
    let (username, password) = (&post.username, post.password());
    let again = |status: StatusCode, error: &str| post.again(&web, status, error);
    let now = Instant::now();
    if let Err(wait) = web.limiter.check(username, address, now) {
        tracing::warn!(user = %username, "sign-in refused: too many failures");
        let minutes = wait.div_ceil(60);
        let mut response = again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many failed sign-ins. Try again in {minutes} minute(s)."),
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let valid = plausible_user_name(username) && !password.is_empty() && password.len() <= 1024;
    let correct = if valid {
        match web.sql.check_password(username, password).await {
            Ok(correct) => correct,
            Err(err) => return web.unavailable(&err),
        }
    } else {
        false
    };
    if !correct {
        web.limiter.fail(username, address, now);
        tracing::info!(user = %username, "sign-in failed");
        return again(StatusCode::UNAUTHORIZED, "Wrong user name or password.");
    }
    web.limiter.succeed(username);
    web.start_session(&post.headers, username, &post.next).await
}

/// `POST /logout`.
pub async fn sign_out(State(web): State<Arc<Web>>, request: Request) -> Response {
    let (visitor, _) = match web.checked_post(request).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if let Some(id) = &visitor.session_id
        && let Err(err) = web.sql.delete_session(id).await
    {
        return web.unavailable(&err);
    }
    let mut response = see_other("/");
    if let Some(clear) = web.cookies.clear(web.cookies.session) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// Names people may choose for themselves.
fn valid_new_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn registration_closed(web: &Web) -> Response {
    web.message(
        StatusCode::NOT_FOUND,
        &Visitor::default(),
        "No sign-up here",
        "Accounts on this server are made by its administrator.",
    )
}

/// `GET /register`.
pub async fn register_page(State(web): State<Arc<Web>>, request: Request) -> Response {
    if !web.settings.open_registration {
        return registration_closed(&web);
    }
    let (parts, _) = request.into_parts();
    let next = query_next(&parts);
    web.signed_out_form(
        StatusCode::OK,
        "register.html",
        &parts.headers,
        context! { title => "Create an account", next, username => "" },
    )
}

/// `POST /register`.
pub async fn register(State(web): State<Arc<Web>>, request: Request) -> Response {
    if !web.settings.open_registration {
        return registration_closed(&web);
    }
    let post = match SignedOutPost::read(
        &web,
        request,
        "register.html",
        "Create an account",
        "The form expired. Please try again.",
    )
    .await
    {
        Ok(post) => post,
        Err(response) => return response,
    };
    let (username, password) = (&post.username, post.password());
    let again = |status: StatusCode, error: &str| post.again(&web, status, error);
    if !valid_new_user_name(username) {
        return again(
            StatusCode::BAD_REQUEST,
            "A user name is 1 to 64 letters, digits, dots, underscores or hyphens.",
        );
    }
    let chars = password.chars().count();
    if !(10..=1024).contains(&chars) {
        return again(
            StatusCode::BAD_REQUEST,
            "A password is at least 10 characters.",
        );
    }
    if post.form.get("confirm") != Some(password) {
        return again(StatusCode::BAD_REQUEST, "The two passwords differ.");
    }
    match web.sql.create_user(username, password).await {
        Ok(()) => {
            tracing::info!(user = %username, "account created");
            web.start_session(&post.headers, username, &post.next).await
        }
        Err(StoreError::Duplicate) => again(StatusCode::CONFLICT, "That user name is taken."),
        Err(err) => web.unavailable(&err),
    }
}

const METHODS: [SignatureMethod; 7] = [
    SignatureMethod::HmacSha1,
    SignatureMethod::HmacSha256,
    SignatureMethod::HmacSha512,
    SignatureMethod::RsaSha1,
    SignatureMethod::RsaSha256,
    SignatureMethod::RsaSha512,
    SignatureMethod::Plaintext,
];

fn is_rsa(method: Option<SignatureMethod>) -> bool {
    method.is_some_and(SignatureMethod::is_rsa)
}

/// An application as the form shows it.
#[derive(Clone, Debug, Default, Serialize)]
struct AppForm {
    name: String,
    description: String,
    website: String,
    callbacks: String,
    signature_method: String,
    rsa_public_key: String,
    #[serde(skip)]
    realms: Vec<String>,
}

/// An application's settings once checked.
struct CheckedApp {
    callbacks: Vec<String>,
    allow_oob: bool,
    method: SignatureMethod,
    rsa: Option<(RsaPublicKey, String)>,
    website: Option<String>,
}

fn is_web_url(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && sigil_core::BaseUri::parse(text).is_ok()
}

impl AppForm {
    fn from_fields(form: &FormFields) -> Self {
        let field = |name: &str| form.get(name).unwrap_or_default().trim().to_owned();
        Self {
            name: field("name"),
            description: field("description"),
            website: field("website"),
            callbacks: field("callbacks"),
            signature_method: field("signature_method"),
            rsa_public_key: field("rsa_public_key"),
            realms: form.all("realm").map(str::to_owned).collect(),
        }
    }

    fn from_client(client: &Client) -> Self {
        Self {
            name: client.name.clone(),
            description: client.description.clone(),
            website: client.website.clone().unwrap_or_default(),
            callbacks: client
                .callbacks
                .iter()
                .cloned()
                .chain(client.allow_oob.then(|| "oob".to_owned()))
                .collect::<Vec<_>>()
                .join("\n"),
            signature_method: client
                .signature_methods
                .first()
                .map_or("HMAC-SHA1", |m| m.as_str())
                .to_owned(),
            rsa_public_key: client.rsa_public_key_pem.clone().unwrap_or_default(),
            realms: client.allowed_realms.clone(),
        }
    }

    /// Checks every field; all the problems at once.
    fn check(&self, known_realms: &[String]) -> Result<CheckedApp, Vec<String>> {
        let mut errors = Vec::new();
        if self.name.is_empty()
            || self.name.chars().count() > 100
            || self.name.chars().any(char::is_control)
        {
            errors.push("A name is 1 to 100 characters.".to_owned());
        }
        if self.description.chars().count() > 1000 {
            errors.push("A description is at most 1,000 characters.".to_owned());
        }
        let website = if self.website.is_empty() {
            None
        } else if is_web_url(&self.website) && self.website.len() <= 2000 {
            Some(self.website.clone())
        } else {
            errors.push("The website must be an http:// or https:// URL.".to_owned());
            None
        };
        let mut callbacks = Vec::new();
        let mut allow_oob = false;
        let lines: Vec<&str> = self
            .callbacks
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if lines.len() > 10 {
            errors.push("At most 10 callback URLs.".to_owned());
        }
        for line in lines.iter().take(10) {
            if *line == "oob" {
                allow_oob = true;
            } else {
                // Judged as the browser will read it after consent.
                match sigil_server::CallbackUrl::parse(line) {
                    Ok(url) => callbacks.push(url.as_str().to_owned()),
                    Err(refusal) => errors.push(format!(
                        "Not a callback URL: {line} ({refusal}; or write oob)."
                    )),
                }
            }
        }
        if callbacks.is_empty() && !allow_oob {
            errors.push("Give at least one callback URL, or oob.".to_owned());
        }
        let method = METHODS
            .iter()
            .copied()
            .find(|m| m.as_str() == self.signature_method);
        if method.is_none() {
            errors.push("Choose a signature method.".to_owned());
        }
        let rsa = if is_rsa(method) || !self.rsa_public_key.is_empty() {
            match RsaPublicKey::from_pem(&self.rsa_public_key) {
                Ok(key) if is_rsa(method) => Some((key, self.rsa_public_key.clone())),
                Ok(_) => {
                    errors.push("An RSA public key is only for the RSA methods.".to_owned());
                    None
                }
                Err(_) => {
                    errors.push("The RSA methods need a PEM public key (PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE).".to_owned());
                    None
                }
            }
        } else {
            None
        };
        for realm in &self.realms {
            if !known_realms.contains(realm) {
                errors.push(format!("Unknown permission: {realm}."));
            }
        }
        match method {
            Some(method) if errors.is_empty() => Ok(CheckedApp {
                callbacks,
                allow_oob,
                method,
                rsa,
                website,
            }),
            _ => Err(errors),
        }
    }

    /// Writes the checked settings into `client`.
    fn apply(&self, checked: CheckedApp, client: &mut Client) {
        client.name = self.name.clone();
        client.description = self.description.clone();
        client.website = checked.website;
        client.callbacks = checked.callbacks;
        client.allow_oob = checked.allow_oob;
        client.signature_methods = vec![checked.method];
        match checked.rsa {
            Some((key, pem)) => {
                client.rsa_public_key = Some(key);
                client.rsa_public_key_pem = Some(pem);
            }
            None => {
                client.rsa_public_key = None;
                client.rsa_public_key_pem = None;
            }
        }
        client.allowed_realms = self.realms.clone();
        client.default_realms = self.realms.clone();
    }
}

impl Web {
    fn app_form(
        &self,
        status: StatusCode,
        visitor: &Visitor,
        key: Option<&str>,
        form: &AppForm,
        errors: &[String],
        notice: Option<&str>,
    ) -> Response {
        let title = if key.is_some() {
            form.name.as_str()
        } else {
            "Register an application"
        };
        let methods: Vec<&str> = METHODS.iter().map(|m| m.as_str()).collect();
        self.render(
            status,
            "app_form.html",
            visitor,
            context! {
                title,
                key,
                form,
                errors,
                notice,
                methods,
                realms => self.realm_choices(&form.realms),
                base => &self.public_url,
            },
        )
    }

    fn secret_page(
        &self,
        visitor: &Visitor,
        heading: &str,
        client: &Client,
        secret: &str,
    ) -> Response {
        self.render(
            StatusCode::OK,
            "app_secret.html",
            visitor,
            context! { title => heading, heading, key => &client.key, name => &client.name, secret },
        )
    }

    /// The application `key` if `visitor` owns it; otherwise the answer.
    async fn owned_app(&self, visitor: &Visitor, key: &str) -> Result<Client, Response> {
        let client = match self.provider.stores().clients.client(key).await {
            Ok(client) => client,
            Err(err) => return Err(self.unavailable(&err)),
        };
        match client {
            Some(client) if client.owner.is_some() && client.owner.as_deref() == visitor.user() => {
                Ok(client)
            }
            _ => Err(self.message(
                StatusCode::NOT_FOUND,
                visitor,
                "No such application",
                "You have no application with that key.",
            )),
        }
    }
}

#[derive(Serialize)]
struct AppRow {
    key: String,
    name: String,
    methods: String,
    created: String,
}

/// `GET /apps`.
pub async fn apps(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let visitor = match web.signed_in(&headers, "/apps").await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let clients = match web.sql.list_clients(visitor.user()).await {
        Ok(clients) => clients,
        Err(err) => return web.unavailable(&err),
    };
    let apps: Vec<AppRow> = clients
        .iter()
        .map(|c| AppRow {
            key: c.key.clone(),
            name: c.name.clone(),
            methods: c
                .signature_methods
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: format_time(c.created_at),
        })
        .collect();
    web.render(
        StatusCode::OK,
        "apps.html",
        &visitor,
        context! { title => "Your applications", apps },
    )
}

/// `GET /apps/new`.
pub async fn new_app_page(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    match web.signed_in(&headers, "/apps/new").await {
        Ok(visitor) => {
            let form = AppForm {
                signature_method: "HMAC-SHA1".to_owned(),
                ..AppForm::default()
            };
            web.app_form(StatusCode::OK, &visitor, None, &form, &[], None)
        }
        Err(response) => response,
    }
}

/// `POST /apps/new`.
pub async fn create_app(State(web): State<Arc<Web>>, request: Request) -> Response {
    let (visitor, fields) = match web.checked_post(request).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let form = AppForm::from_fields(&fields);
    let checked = match form.check(&web.provider.policy().realms) {
        Ok(checked) => checked,
        Err(errors) => {
            return web.app_form(
                StatusCode::BAD_REQUEST,
                &visitor,
                None,
                &form,
                &errors,
                None,
            );
        }
    };
    let (Ok(key), Ok(secret)) = (random_hex::<12>(), random_hex::<24>()) else {
        return web.unavailable(&"no randomness");
    };
    let mut client = Client::new(key, secret.clone(), form.name.clone());
    form.apply(checked, &mut client);
    client.owner = visitor.user().map(str::to_owned);
    client.created_at = unix_now();
    if let Err(err) = web.sql.insert_client(&client).await {
        return web.unavailable(&err);
    }
    tracing::info!(client_key = %client.key, owner = ?client.owner, "application registered");
    web.secret_page(&visitor, "Application registered", &client, &secret)
}

/// `GET /apps/{key}`.
pub async fn app_page(
    State(web): State<Arc<Web>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let back = format!("/apps/{}", sigil_core::encoding::encode(&key));
    let visitor = match web.signed_in(&headers, &back).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    match web.owned_app(&visitor, &key).await {
        Ok(client) => web.app_form(
            StatusCode::OK,
            &visitor,
            Some(&client.key),
            &AppForm::from_client(&client),
            &[],
            None,
        ),
        Err(response) => response,
    }
}

/// `POST /apps/{key}`.
pub async fn update_app(
    State(web): State<Arc<Web>>,
    Path(key): Path<String>,
    request: Request,
) -> Response {
    let (visitor, fields) = match web.checked_post(request).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let mut client = match web.owned_app(&visitor, &key).await {
        Ok(client) => client,
        Err(response) => return response,
    };
    let form = AppForm::from_fields(&fields);
    let checked = match form.check(&web.provider.policy().realms) {
        Ok(checked) => checked,
        Err(errors) => {
            return web.app_form(
                StatusCode::BAD_REQUEST,
                &visitor,
                Some(&key),
                &form,
                &errors,
                None,
            );
        }
    };
    form.apply(checked, &mut client);
    if let Err(err) = web.sql.update_client(&client).await {
        return web.unavailable(&err);
    }
    web.app_form(
        StatusCode::OK,
        &visitor,
        Some(&key),
        &form,
        &[],
        Some("Saved."),
    )
}

/// `POST /apps/{key}/secret`: a new secret, shown once.
pub async fn rotate_secret(
    State(web): State<Arc<Web>>,
    Path(key): Path<String>,
    request: Request,
) -> Response {
    let (visitor, _) = match web.checked_post(request).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let client = match web.owned_app(&visitor, &key).await {
        Ok(client) => client,
        Err(response) => return response,
    };
    let Ok(secret) = random_hex::<24>() else {
        return web.unavailable(&"no randomness");
    };
    if let Err(err) = web
        .sql
        .set_client_secret(&key, &Secret::new(secret.clone()))
        .await
    {
        return web.unavailable(&err);
    }
    tracing::info!(client_key = %key, "client secret rotated");
    web.secret_page(&visitor, "New consumer secret", &client, &secret)
}

/// `POST /apps/{key}/delete`.
pub async fn delete_app(
    State(web): State<Arc<Web>>,
    Path(key): Path<String>,
    request: Request,
) -> Response {
    let (visitor, _) = match web.checked_post(request).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if let Err(response) = web.owned_app(&visitor, &key).await {
        return response;
    }
    if let Err(err) = web.sql.delete_client(&key).await {
        return web.unavailable(&err);
    }
    tracing::info!(client_key = %key, "application deleted");
    see_other("/apps")
}

#[derive(Serialize)]
struct GrantRow {
    key: String,
    name: String,
    realms: Vec<String>,
    since: String,
    tokens: usize,
}

/// `GET /authorized`.
pub async fn authorized(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let visitor = match web.signed_in(&headers, "/authorized").await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let user = visitor.user().unwrap_or_default();
    let tokens = match web.provider.stores().tokens.tokens_for_user(user).await {
        Ok(tokens) => tokens,
        Err(err) => return web.unavailable(&err),
    };
    // One row per application: its tokens' realms together, the oldest.
    let mut by_client: BTreeMap<String, (Vec<String>, u64, usize)> = BTreeMap::new();
    for token in tokens {
        let entry = by_client
            .entry(token.client_key.clone())
            .or_insert_with(|| (Vec::new(), token.created_at, 0));
        for realm in token.realms {
            if !entry.0.contains(&realm) {
                entry.0.push(realm);
            }
        }
        entry.1 = entry.1.min(token.created_at);
        entry.2 += 1;
    }
    let mut grants = Vec::new();
    for (key, (realms, since, tokens)) in by_client {
        let name = match web.provider.stores().clients.client(&key).await {
            Ok(Some(client)) => client.name,
            Ok(None) => key.clone(),
            Err(err) => return web.unavailable(&err),
        };
        grants.push(GrantRow {
            realms: realms.iter().map(|r| web.realm_words(r)).collect(),
            key,
            name,
            since: format_time(since),
            tokens,
        });
    }
    web.render(
        StatusCode::OK,
        "authorized.html",
        &visitor,
        context! { title => "Authorized applications", grants },
    )
}

/// `POST /authorized/revoke`: every token `client_key` holds for the user.
pub async fn revoke(State(web): State<Arc<Web>>, request: Request) -> Response {
    let (visitor, form) = match web.checked_post(request).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let user = visitor.user().unwrap_or_default();
    let key = form.get("client_key").unwrap_or_default();
    match web.provider.stores().tokens.revoke_tokens(user, key).await {
        Ok(n) => {
            tracing::info!(user, client_key = key, tokens = n, "access revoked");
            see_other("/authorized")
        }
        Err(err) => web.unavailable(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> FormFields {
        FormFields(
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn an_app_form_reports_every_problem() {
        let form = AppForm::from_fields(&fields(&[
            ("name", ""),
            ("website", "javascript:alert(1)"),
            ("callbacks", "ftp://x\nhttps://ok.example/cb#frag"),
            ("signature_method", "MD5"),
            ("realm", "nope"),
        ]));
        let errors = form.check(&["photos".to_owned()]).err().unwrap();
        assert_eq!(errors.len(), 7, "{errors:?}");
    }

    #[test]
    fn callbacks_a_browser_reads_differently_are_refused() {
        let form = AppForm::from_fields(&fields(&[
            ("name", "Native"),
            (
                "callbacks",
                "http://evil.example\\@127.0.0.1:9/cb\nhttp://u:pw@127.0.0.1:9/cb\nhttp://127.1/cb",
            ),
        ]));
        let errors = form.check(&[]).err().unwrap();
        let said = errors.join(" ");
        assert!(said.contains("backslash"), "{said}");
        assert!(said.contains("user information"), "{said}");
        assert!(said.contains("host is read differently"), "{said}");
    }

    #[test]
    fn a_good_app_form_passes() {
        let form = AppForm::from_fields(&fields(&[
            ("name", "Printer"),
            ("website", "https://printer.example/"),
            ("callbacks", "https://printer.example/cb\r\noob"),
            ("signature_method", "HMAC-SHA256"),
            ("realm", "photos"),
        ]));
        let checked = form.check(&["photos".to_owned()]).ok().unwrap();
        assert_eq!(checked.callbacks, ["https://printer.example/cb"]);
        assert!(checked.allow_oob);
        assert_eq!(checked.method, SignatureMethod::HmacSha256);
    }

    #[test]
    fn rsa_needs_a_key() {
        let form = AppForm::from_fields(&fields(&[
            ("name", "Jira"),
            ("callbacks", "oob"),
            ("signature_method", "RSA-SHA1"),
        ]));
        assert!(form.check(&[]).is_err());
        let pem = include_str!("../../../sigil-core/tests/data/test-rsa-public.pem");
        let form = AppForm {
            rsa_public_key: pem.trim().to_owned(),
            ..form
        };
        assert!(form.check(&[]).is_ok());
    }

    #[test]
    fn self_chosen_names_are_plain() {
        assert!(valid_new_user_name("alice.b-c_1"));
        for bad in ["", "a b", "ål", "x/y", &"a".repeat(65)] {
            assert!(!valid_new_user_name(bad), "{bad}");
        }
    }
}
