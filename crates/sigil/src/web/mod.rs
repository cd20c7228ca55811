//! The web UI of `sigil serve`: sign in and out, the consent page, the
//! developer's applications and the resource owner's authorized
//! applications. Server-rendered HTML (minijinja templates compiled into
//! the binary), one stylesheet, one small script for copy buttons.

mod consent;
mod limiter;
mod pages;
mod session;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Environment, Value, context};
use sigil_server::Provider;
use sigil_store::{SqlStore, WebSession};

pub use consent::WebConsent;
pub use limiter::{SignInLimiter, SignInLimits};
use session::CookieNames;

/// What the web UI is configured with.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// Whether visitors may create their own accounts.
    pub open_registration: bool,
    /// The words shown for each realm on the consent page.
    pub realm_descriptions: BTreeMap<String, String>,
    /// Limits on failed sign-ins.
    pub sign_in: SignInLimits,
    /// How long a session lasts, in seconds.
    pub session_lifetime: u64,
    /// The service's name, on every page and in page titles.
    pub site_name: String,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            open_registration: false,
            realm_descriptions: BTreeMap::new(),
            sign_in: SignInLimits::default(),
            session_lifetime: 12 * 60 * 60,
            site_name: "Sigil".to_owned(),
        }
    }
}

/// Form bodies are small; anything larger is refused before parsing.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The web UI's shared state.
pub struct Web {
    sql: Arc<SqlStore>,
    provider: Arc<Provider>,
    templates: Environment<'static>,
    cookies: CookieNames,
    public_url: String,
    settings: WebSettings,
    limiter: SignInLimiter,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// A visitor as the request shows them: maybe signed in.
#[derive(Clone, Debug, Default)]
struct Visitor {
    /// The session cookie's value, when it names a live session.
    session_id: Option<String>,
    /// The live session.
    session: Option<WebSession>,
}

impl Visitor {
    fn user(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.user.as_str())
    }

    fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.csrf.as_str())
    }
}

impl Web {
    /// The web UI over `sql` (users, clients, sessions) and `provider`,
    /// for a site whose public base URL is `public_url`.
    pub fn new(
        sql: Arc<SqlStore>,
        provider: Arc<Provider>,
        public_url: &str,
        settings: WebSettings,
    ) -> anyhow::Result<Self> {
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            templates.add_template(name, source)?;
        }
        templates.add_global("site_name", settings.site_name.clone());
        Ok(Self {
            sql,
            provider,
            templates,
            cookies: CookieNames::new(public_url.starts_with("https://")),
            public_url: public_url.trim_end_matches('/').to_owned(),
            limiter: SignInLimiter::new(settings.sign_in),
            settings,
        })
    }

    /// Renders `template` with the page's common values (who is signed
    /// in, the CSRF token) and `values`.
    fn render(
        &self,
        status: StatusCode,
        template: &str,
        visitor: &Visitor,
        values: Value,
    ) -> Response {
        let page = context! {
            user => visitor.user(),
            csrf => visitor.csrf(),
            open_registration => self.settings.open_registration,
            ..values
        };
        match self
            .templates
            .get_template(template)
            .and_then(|t| t.render(page))
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(err) => {
                tracing::error!(template, error = %err, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
            }
        }
    }

    /// A short page with a title and one sentence.
    fn message(
        &self,
        status: StatusCode,
        visitor: &Visitor,
        title: &str,
        message: &str,
    ) -> Response {
        self.render(status, "message.html", visitor, context! { title, message })
    }

    /// The page for a store that failed: 503, nothing more about why.
    fn unavailable(&self, err: &impl std::fmt::Display) -> Response {
        tracing::warn!(error = %err, "web request failed in the store");
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            &Visitor::default(),
            "Temporarily unavailable",
            "The service cannot reach its database. Try again in a moment.",
        )
    }

    /// Who is signed in, from the session cookie.
    async fn visitor(&self, headers: &HeaderMap) -> Result<Visitor, sigil_server::StoreError> {
        let Some(id) = session::cookie(headers, self.cookies.session) else {
            return Ok(Visitor::default());
        };
        let session = self.sql.session(id, unix_now()).await?;
        Ok(Visitor {
            session_id: session.is_some().then(|| id.to_owned()),
            session,
        })
    }

    /// Sends a signed-out visitor to sign in, coming back to `back`.
    fn to_sign_in(back: &str) -> Response {
        let next = sigil_core::encoding::encode(back);
        Redirect::to(&format!("/login?next={next}")).into_response()
    }
}

const TEMPLATES: [(&str, &str); 11] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("login.html", include_str!("../../templates/login.html")),
    (
        "register.html",
        include_str!("../../templates/register.html"),
    ),
    ("consent.html", include_str!("../../templates/consent.html")),
    (
        "verifier.html",
        include_str!("../../templates/verifier.html"),
    ),
    ("message.html", include_str!("../../templates/message.html")),
    ("apps.html", include_str!("../../templates/apps.html")),
    (
        "app_form.html",
        include_str!("../../templates/app_form.html"),
    ),
    (
        "app_secret.html",
        include_str!("../../templates/app_secret.html"),
    ),
    (
        "authorized.html",
        include_str!("../../templates/authorized.html"),
    ),
];

/// The fields of a form body, decoded once; `None` for a body that is not
/// a well-formed form.
struct FormFields(Vec<(String, String)>);

impl FormFields {
    fn parse(body: &Bytes) -> Option<Self> {
        if body.len() > MAX_FORM_BYTES {
            return None;
        }
        sigil_core::encoding::form_decode(body).ok().map(Self)
    }

    /// The first value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where to go after signing in: only a path on this site, never
/// `//host` or a scheme (no open redirect).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 2048
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The client's address: the one the accept loop resolved (behind trusted
/// proxies, from `X-Forwarded-For`), else the peer's.
fn peer_address(request: &Request) -> Option<IpAddr> {
    let extensions = request.extensions();
    extensions
        .get::<crate::forwarded::ClientAddress>()
        .map(|c| c.0)
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        })
}

fn unix_now() -> u64 {
    sigil_core::Clock::now_unix(&sigil_core::SystemClock)
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
fn format_time(unix: u64) -> String {
    let days = i64::try_from(unix / 86_400).unwrap_or(0);
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// Security headers on every response of the site. The consent page's
/// form redirects to the client's callback, which a `form-action 'self'`
/// would block in browsers that apply it to redirects, so that page leaves
/// `form-action` out.
async fn security_headers(
    axum::extract::State(https): axum::extract::State<bool>,
    request: Request,
    next: Next,
) -> Response {
    let consent = request.uri().path() == "/oauth/authorize";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if https {
        // Browsers keep to https for a year once they have seen it.
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let csp = if consent {
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The consent URL carries the request token: never send it onwards.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        // Pages carry CSRF tokens and, once, secrets.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Adds the security headers to a router; `https` (the public URL is):
/// `Strict-Transport-Security` too.
pub fn with_security_headers(router: Router, https: bool) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        https,
        security_headers,
    ))
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The web UI's routes (the consent page is served by the flow router with
/// [`WebConsent`]).
pub fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::sign_in_page).post(pages::sign_in))
        .route("/logout", post(pages::sign_out))
        .route("/register", get(pages::register_page).post(pages::register))
        .route("/apps", get(pages::apps))
        .route(
            "/apps/new",
            get(pages::new_app_page).post(pages::create_app),
        )
        .route("/apps/{key}", get(pages::app_page).post(pages::update_app))
        .route("/apps/{key}/secret", post(pages::rotate_secret))
        .route("/apps/{key}/delete", post(pages::delete_app))
        .route("/authorized", get(pages::authorized))
        .route("/authorized/revoke", post(pages::revoke))
        .route(
            "/static/style.css",
            get(|| async {
                static_file(
                    "text/css; charset=utf-8",
                    include_str!("../../static/style.css"),
                )
            }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                static_file(
                    "text/javascript; charset=utf-8",
                    include_str!("../../static/app.js"),
                )
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(web)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_local_path_only() {
        assert_eq!(
            local_path(Some("/oauth/authorize?oauth_token=x")),
            "/oauth/authorize?oauth_token=x"
        );
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_318_622_958), "2011-10-14 20:09 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap();
        }
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
    }
}
