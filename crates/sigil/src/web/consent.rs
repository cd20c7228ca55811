//! The consent page and the decision, plugged into sigil-axum's flow
//! router.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use sigil_axum::ConsentApp;
use sigil_server::{OAuthError, PendingAuthorization, Provider};

use super::pages::see_other;
use super::session::tokens_match;
use super::{FormFields, Visitor, Web};

/// The web UI's consent: who is asking, for what, where you go back to;
/// Approve or Deny with the session's CSRF token.
#[derive(Debug)]
pub struct WebConsent {
    web: Arc<Web>,
}

impl WebConsent {
    /// Consent through `web`'s sessions and templates.
    pub fn new(web: Arc<Web>) -> Self {
        Self { web }
    }
}

#[derive(Serialize)]
struct RealmLine {
    name: String,
    description: String,
}

#[derive(Serialize)]
struct AppView<'a> {
    name: &'a str,
    description: &'a str,
    website: Option<&'a str>,
}

fn consent_path(token: &str) -> String {
    format!(
        "/oauth/authorize?oauth_token={}",
        sigil_core::encoding::encode(token)
    )
}

/// `advice` as the start of a sentence: the protocol's advice strings are
/// lower-case (they follow `oauth_problem_advice=`), a page's are not.
fn sentence(advice: &str) -> String {
    let mut chars = advice.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

impl Web {
    fn authorization_error(&self, visitor: &Visitor, error: &OAuthError) -> Response {
        let status = if error.status == 503 {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::BAD_REQUEST
        };
        self.render(
            status,
            "message.html",
            visitor,
            context! {
                title => "This authorization link cannot be used",
                message => format!("{}. Go back to the application and start again.", sentence(error.advice)),
            },
        )
    }
}

#[async_trait]
impl ConsentApp for WebConsent {
    async fn consent_page(&self, pending: PendingAuthorization, parts: &Parts) -> Response {
        let web = &self.web;
        let visitor = match web.visitor(&parts.headers).await {
            Ok(v) => v,
            Err(err) => return web.unavailable(&err),
        };
        let Some(user) = visitor.user() else {
            return Web::to_sign_in(&consent_path(&pending.token));
        };
        // Only web links are shown as links.
        let website = pending
            .client_website
            .as_deref()
            .filter(|w| w.starts_with("https://") || w.starts_with("http://"));
        let realms: Vec<RealmLine> = pending
            .realms
            .iter()
            .map(|r| RealmLine {
                name: r.clone(),
                description: web.realm_words(r),
            })
            .collect();
        web.render(
            StatusCode::OK,
            "consent.html",
            &visitor,
            context! {
                title => format!("Authorize {}", pending.client_name),
                app => AppView {
                    name: &pending.client_name,
                    description: &pending.client_description,
                    website,
                },
                realms,
                callback_host => pending.callback_host(),
                token => &pending.token,
                user,
            },
        )
    }

    async fn error_page(&self, error: OAuthError, parts: &Parts) -> Response {
        let visitor = self.web.visitor(&parts.headers).await.unwrap_or_default();
        self.web.authorization_error(&visitor, &error)
    }

    async fn decide(&self, provider: &Provider, parts: &Parts, body: &Bytes) -> Response {
        let web = &self.web;
        let Some(form) = FormFields::parse(body) else {
            return web.message(
                StatusCode::BAD_REQUEST,
                &Visitor::default(),
                "Unreadable form",
                "The form data could not be read.",
            );
        };
        let visitor = match web.visitor(&parts.headers).await {
            Ok(v) => v,
            Err(err) => return web.unavailable(&err),
        };
        let Some(session) = &visitor.session else {
            return web.message(
                StatusCode::FORBIDDEN,
                &visitor,
                "Signed out",
                "Your session has ended, so nothing was approved. Sign in and open the application's link again.",
            );
        };
        if !tokens_match(form.get("csrf"), &session.csrf) {
            tracing::warn!(user = %session.user, "consent refused: CSRF token mismatch");
            return web.message(
                StatusCode::FORBIDDEN,
                &visitor,
                "Form expired",
                "This answer did not come from your current session, so nothing was approved.",
            );
        }
        let token = form.get("oauth_token").unwrap_or_default();
        let pending = match provider.pending_authorization(token).await {
            Ok(pending) => pending,
            Err(err) => return web.authorization_error(&visitor, &err),
        };
        match form.get("decision") {
            Some("approve") => match provider.approve(token, &session.user).await {
                Ok(approval) => {
                    tracing::info!(user = %session.user, client_key = %pending.client_key, "authorization approved");
                    match approval.redirect {
                        Some(url) => see_other(&url),
                        None => web.render(
                            StatusCode::OK,
                            "verifier.html",
                            &visitor,
                            context! {
                                title => "Access approved",
                                app_name => &pending.client_name,
                                verifier => approval.verifier,
                            },
                        ),
                    }
                }
                Err(err) => web.authorization_error(&visitor, &err),
            },
            Some("deny") => match provider.deny(token).await {
                Ok(denial) => {
                    tracing::info!(user = %session.user, client_key = %pending.client_key, "authorization denied");
                    match denial.redirect {
                        Some(url) => see_other(&url),
                        None => web.message(
                            StatusCode::OK,
                            &visitor,
                            "Access denied",
                            &format!("{} was not given access.", pending.client_name),
                        ),
                    }
                }
                Err(err) => web.authorization_error(&visitor, &err),
            },
            _ => web.message(
                StatusCode::BAD_REQUEST,
                &visitor,
                "No answer",
                "Choose Approve or Deny.",
            ),
        }
    }
}
