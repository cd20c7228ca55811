//! The three-legged flow as a small typed state machine: temporary
//! credentials, the authorization URL, token credentials. Each step takes
//! the previous step's value, so they cannot be run out of order.

use crate::error::ClientError;
use crate::profiles::ServiceProfile;
use crate::signer::{Signer, Token};

/// Temporary credentials, with every other field of the answer.
#[derive(Clone, Debug)]
pub struct TemporaryCredentials {
    /// The request token and its secret.
    pub token: Token,
    /// Other fields of the answer.
    pub extra: Vec<(String, String)>,
}

/// Token credentials, with every other field of the answer (`user_id`,
/// `screen_name`, `edam_*`, `oauth_session_handle`, `oauth_expires_in`...).
#[derive(Clone, Debug)]
pub struct TokenCredentials {
    /// The access token and its secret.
    pub token: Token,
    /// Other fields of the answer.
    pub extra: Vec<(String, String)>,
}

impl TokenCredentials {
    /// One extra field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Runs the flow against one service.
#[derive(Clone, Debug)]
pub struct Flow {
    profile: ServiceProfile,
    signer: Signer,
    http: reqwest::Client,
}

fn parse_token_answer(body: &[u8]) -> Result<(Token, Vec<(String, String)>), ClientError> {
    let fields = sigil_core::encoding::form_decode(body)
        .map_err(|_| ClientError::Protocol("answer is not form-encoded".into()))?;
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let token = get("oauth_token").ok_or_else(|| ClientError::Protocol("no oauth_token".into()))?;
    let secret = get("oauth_token_secret").unwrap_or_default();
    let extra = fields
        .into_iter()
        .filter(|(n, _)| n != "oauth_token" && n != "oauth_token_secret")
        .collect();
    Ok((Token::new(token, secret), extra))
}

impl Flow {
    /// A flow for `profile`, signing with `signer` (its consumer, method,
    /// placement and realm).
    pub fn new(profile: ServiceProfile, signer: Signer) -> Self {
        Self {
            profile,
            signer,
            http: reqwest::Client::new(),
        }
    }

    /// With an HTTP client of the caller's.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    async fn send(&self, signer: &Signer, url: &str) -> Result<Vec<u8>, ClientError> {
        let method = self.profile.token_method.as_str();
        let signed = signer.sign_parts(method, url, None, b"")?;
        let mut request = self.http.request(
            method
                .parse()
                .map_err(|_| ClientError::Sign("method".into()))?,
            &signed.url,
        );
        if let Some(auth) = signed.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        if let Some(ct) = signed.content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, ct);
        }
        if !signed.body.is_empty() {
            request = request.body(signed.body);
        }
        let response = request
            .send()
            .await
            .map_err(crate::transport::explain_transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        if status >= 300 {
            return Err(ClientError::refused(status, &body));
        }
        Ok(body)
    }

    /// Step 1: temporary credentials for `callback` (a URL, or `oob` for a
    /// PIN), with extra protocol parameters such as `x_auth_access_type`.
    /// Checks `oauth_callback_confirmed`.
    pub async fn request_token(
        &self,
        callback: &str,
        extra: &[(&str, &str)],
    ) -> Result<TemporaryCredentials, ClientError> {
        let mut signer = self
            .signer
            .clone()
            .without_token()
            .param("oauth_callback", callback);
        for (n, v) in extra {
            signer = signer.param(*n, *v);
        }
        let body = self.send(&signer, &self.profile.request_token_url).await?;
        let (token, extra) = parse_token_answer(&body)?;
        let confirmed = extra
            .iter()
            .any(|(n, v)| n == "oauth_callback_confirmed" && v == "true");
        if !confirmed && self.profile.require_callback_confirmed {
            return Err(ClientError::Protocol(
                "oauth_callback_confirmed is not true (not an OAuth 1.0a provider?)".into(),
            ));
        }
        Ok(TemporaryCredentials { token, extra })
    }

    /// Step 2: the URL to send the resource owner to: the profile's
    /// authorization page with the request token, the profile's default
    /// parameters and `extra` (X's `force_login`, `screen_name`; Flickr's
    /// `perms`; Trello's `name`, `scope`, `expiration`). An extra parameter
    /// replaces a default of the same name; one named like the token (or
    /// consumer key) parameter is left out, so the token sent is always the
    /// request token.
    pub fn authorization_url(
        &self,
        temporary: &TemporaryCredentials,
        extra: &[(&str, &str)],
    ) -> String {
        self.page_url(&self.profile.authorize_url, temporary, extra)
    }

    /// Step 2 for "sign in with" (X's `oauth/authenticate`): a resource
    /// owner who already authorized this consumer is sent straight back.
    /// `None` when the profile has no such page.
    pub fn sign_in_url(
        &self,
        temporary: &TemporaryCredentials,
        extra: &[(&str, &str)],
    ) -> Option<String> {
        let page = self.profile.authenticate_url.as_deref()?;
        Some(self.page_url(page, temporary, extra))
    }

    fn page_url(
        &self,
        page: &str,
        temporary: &TemporaryCredentials,
        extra: &[(&str, &str)],
    ) -> String {
        let token_param = self.profile.authorize_token_param.as_str();
        let key_param = self.profile.authorize_key_param.as_deref();
        let reserved = |name: &str| name == token_param || Some(name) == key_param;
        let mut pairs = vec![(token_param, temporary.token.token.as_str())];
        if let Some(name) = key_param {
            pairs.push((name, self.signer.consumer().key.as_str()));
        }
        for (name, value) in &self.profile.authorize_params {
            if !reserved(name) && !extra.iter().any(|(n, _)| n == name) {
                pairs.push((name.as_str(), value.as_str()));
            }
        }
        for (name, value) in extra {
            if !reserved(name) {
                pairs.push((name, value));
            }
        }
        let sep = if page.contains('?') { '&' } else { '?' };
        format!("{page}{sep}{}", sigil_core::encoding::form_encode(pairs))
    }

    /// Step 3: token credentials for the verifier the resource owner got.
    pub async fn access_token(
        &self,
        temporary: &TemporaryCredentials,
        verifier: &str,
    ) -> Result<TokenCredentials, ClientError> {
        let signer = self
            .signer
            .clone()
            .token(temporary.token.clone())
            .param("oauth_verifier", verifier);
        let body = self.send(&signer, &self.profile.access_token_url).await?;
        let (token, extra) = parse_token_answer(&body)?;
        Ok(TokenCredentials { token, extra })
    }

    /// xAuth: token credentials straight from the resource owner's username
    /// and password (`x_auth_mode=client_auth`, in the signed form body), for
    /// providers that allow it to trusted clients.
    pub async fn xauth(
        &self,
        username: &str,
        password: &str,
    ) -> Result<TokenCredentials, ClientError> {
        let signer = self.signer.clone().without_token();
        let body = sigil_core::encoding::form_encode([
            ("x_auth_mode", "client_auth"),
            ("x_auth_username", username),
            ("x_auth_password", password),
        ]);
        let url = &self.profile.access_token_url;
        let signed = signer.sign_parts(
            "POST",
            url,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        )?;
        let mut request = self.http.post(&signed.url);
        if let Some(auth) = signed.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        let response = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(signed.body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?.to_vec();
        if status >= 300 {
            return Err(ClientError::refused(status, &bytes));
        }
        let (token, extra) = parse_token_answer(&bytes)?;
        Ok(TokenCredentials { token, extra })
    }

    /// Renews an expiring access token through the Session extension
    /// (`oauth_session_handle`).
    pub async fn refresh(
        &self,
        current: &TokenCredentials,
    ) -> Result<TokenCredentials, ClientError> {
        let handle = current.field("oauth_session_handle").ok_or_else(|| {
            ClientError::Protocol("no oauth_session_handle to refresh with".into())
        })?;
        let signer = self
            .signer
            .clone()
            .token(current.token.clone())
            .param("oauth_session_handle", handle);
        let body = self.send(&signer, &self.profile.access_token_url).await?;
        let (token, extra) = parse_token_answer(&body)?;
        Ok(TokenCredentials { token, extra })
    }

    /// The signer for protected requests with these token credentials.
    pub fn signer_for(&self, credentials: &TokenCredentials) -> Signer {
        self.signer.clone().token(credentials.token.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::signer::Consumer;

    fn temporary() -> TemporaryCredentials {
        TemporaryCredentials {
            token: Token::new("req tok", "s"),
            extra: Vec::new(),
        }
    }

    fn flow(profile: ServiceProfile) -> Flow {
        Flow::new(profile, Signer::new(Consumer::new("ck", "cs")))
    }

    #[test]
    fn authorization_url_carries_defaults_and_extras() {
        let trello = flow(ServiceProfile::trello());
        assert_eq!(
            trello.authorization_url(&temporary(), &[]),
            "https://trello.com/1/OAuthAuthorizeToken?oauth_token=req%20tok&scope=read&expiration=30days"
        );
        // A caller's parameter replaces the default of its name; the token
        // parameter cannot be replaced.
        assert_eq!(
            trello.authorization_url(
                &temporary(),
                &[
                    ("scope", "read,write"),
                    ("name", "My App"),
                    ("oauth_token", "other")
                ]
            ),
            "https://trello.com/1/OAuthAuthorizeToken?oauth_token=req%20tok&expiration=30days&scope=read%2Cwrite&name=My%20App"
        );
        let etrade = flow(ServiceProfile::etrade());
        assert_eq!(
            etrade.authorization_url(&temporary(), &[("key", "x")]),
            "https://us.etrade.com/e/t/etws/authorize?token=req%20tok&key=ck"
        );
    }

    #[test]
    fn sign_in_only_where_the_service_has_it() {
        let x = flow(ServiceProfile::twitter());
        assert_eq!(
            x.sign_in_url(&temporary(), &[("force_login", "true")])
                .as_deref(),
            Some("https://api.x.com/oauth/authenticate?oauth_token=req%20tok&force_login=true")
        );
        assert_eq!(
            flow(ServiceProfile::trello()).sign_in_url(&temporary(), &[]),
            None
        );
    }
}
