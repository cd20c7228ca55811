//! Service profiles: data, not code forks. Each names the endpoints, the
//! HTTP method of the token requests, the signature method, the placement,
//! the realm and the authorization URL's parameter names. Endpoints are the
//! ones each service documents; they can change, and every field is public
//! so a caller can adjust one.

use sigil_core::SignatureMethod;

use crate::signer::Placement;

/// How to talk to one OAuth 1.0a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceProfile {
    /// A short name (`twitter`, `netsuite`, ...).
    pub name: String,
    /// Temporary-credential endpoint.
    pub request_token_url: String,
    /// Where the resource owner authorizes.
    pub authorize_url: String,
    /// Token-credential endpoint.
    pub access_token_url: String,
    /// HTTP method of the two token requests.
    pub token_method: String,
    /// The signature method the service expects.
    pub signature_method: SignatureMethod,
    /// Where the protocol parameters go.
    pub placement: Placement,
    /// The realm to send in the header, if any.
    pub realm: Option<String>,
    /// The authorization URL's name for the request token.
    pub authorize_token_param: String,
    /// The authorization URL's name for the consumer key, when it wants one
    /// (E*TRADE's `key`).
    pub authorize_key_param: Option<String>,
    /// Whether to insist on `oauth_callback_confirmed=true` (OAuth 1.0a).
    pub require_callback_confirmed: bool,
    /// Parameters the authorization URL carries by default (Trello's
    /// `scope` and `expiration`, Flickr's `perms`); a caller's parameter of
    /// the same name replaces one of these.
    pub authorize_params: Vec<(String, String)>,
    /// The "sign in with" page, for services that have one (X's
    /// `oauth/authenticate`): like the authorization page, but a resource
    /// owner who already authorized the consumer is sent straight back.
    pub authenticate_url: Option<String>,
}

fn profile(name: &str, request: &str, authorize: &str, access: &str) -> ServiceProfile {
    ServiceProfile {
        name: name.to_owned(),
        request_token_url: request.to_owned(),
        authorize_url: authorize.to_owned(),
        access_token_url: access.to_owned(),
        token_method: "POST".to_owned(),
        signature_method: SignatureMethod::HmacSha1,
        placement: Placement::Header,
        realm: None,
        authorize_token_param: "oauth_token".to_owned(),
        authorize_key_param: None,
        require_callback_confirmed: true,
        authorize_params: Vec::new(),
        authenticate_url: None,
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

impl ServiceProfile {
    /// X (Twitter), user context, with "Sign in with X"
    /// (`oauth/authenticate`). The authorization page also takes
    /// `force_login=true` and `screen_name`.
    pub fn twitter() -> Self {
        let mut p = profile(
            "twitter",
            "https://api.x.com/oauth/request_token",
            "https://api.x.com/oauth/authorize",
            "https://api.x.com/oauth/access_token",
        );
        p.authenticate_url = Some("https://api.x.com/oauth/authenticate".to_owned());
        p
    }

    /// Trello, asking for read access that expires in 30 days (Trello's own
    /// defaults, made explicit); `name`, `scope` (`read,write,account`) and
    /// `expiration` (`1hour`, `1day`, `30days`, `never`) can be given.
    pub fn trello() -> Self {
        let mut p = profile(
            "trello",
            "https://trello.com/1/OAuthGetRequestToken",
            "https://trello.com/1/OAuthAuthorizeToken",
            "https://trello.com/1/OAuthGetAccessToken",
        );
        p.authorize_params = pairs(&[("scope", "read"), ("expiration", "30days")]);
        p
    }

    /// Flickr (token requests by GET), asking for `perms=read`; `write` and
    /// `delete` can be given instead.
    pub fn flickr() -> Self {
        let mut p = profile(
            "flickr",
            "https://www.flickr.com/services/oauth/request_token",
            "https://www.flickr.com/services/oauth/authorize",
            "https://www.flickr.com/services/oauth/access_token",
        );
        p.token_method = "GET".to_owned();
        p.authorize_params = pairs(&[("perms", "read")]);
        p
    }

    /// Tumblr.
    pub fn tumblr() -> Self {
        profile(
            "tumblr",
            "https://www.tumblr.com/oauth/request_token",
            "https://www.tumblr.com/oauth/authorize",
            "https://www.tumblr.com/oauth/access_token",
        )
    }

    /// Garmin Connect (Garmin retires OAuth 1.0a at the end of 2026).
    pub fn garmin() -> Self {
        profile(
            "garmin",
            "https://connectapi.garmin.com/oauth-service/oauth/request_token",
            "https://connect.garmin.com/oauthConfirm",
            "https://connectapi.garmin.com/oauth-service/oauth/access_token",
        )
    }

    /// NetSuite token-based authentication for `account` (e.g. `1234567` or
    /// `1234567_SB1`): HMAC-SHA256, and the account id as realm, upper-cased
    /// with `_` as NetSuite requires; hosts use it lower-cased with `-`.
    pub fn netsuite(account: &str) -> Self {
        let realm = account.to_ascii_uppercase().replace('-', "_");
        let host = account.to_ascii_lowercase().replace('_', "-");
        let mut p = profile(
            "netsuite",
            &format!("https://{host}.restlets.api.netsuite.com/rest/requesttoken"),
            &format!("https://{host}.app.netsuite.com/app/login/secure/authorizetoken.nl"),
            &format!("https://{host}.restlets.api.netsuite.com/rest/accesstoken"),
        );
        p.signature_method = SignatureMethod::HmacSha256;
        p.realm = Some(realm);
        p
    }

    /// Jira / Atlassian Data Center application links at `base` (RSA-SHA1).
    pub fn jira(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let mut p = profile(
            "jira",
            &format!("{base}/plugins/servlet/oauth/request-token"),
            &format!("{base}/plugins/servlet/oauth/authorize"),
            &format!("{base}/plugins/servlet/oauth/access-token"),
        );
        p.signature_method = SignatureMethod::RsaSha1;
        p
    }

    /// WooCommerce's REST API at `base`: one-legged, HMAC-SHA256, parameters
    /// in the query (WooCommerce reads OAuth only over plain http; over https
    /// it uses basic authentication). There is no token flow.
    pub fn woocommerce(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let mut p = profile("woocommerce", "", "", "");
        p.request_token_url = format!("{base}/wp-json/wc/v3");
        p.signature_method = SignatureMethod::HmacSha256;
        p.placement = Placement::Query;
        p.require_callback_confirmed = false;
        p
    }

    /// Magento 2 / Adobe Commerce integrations at `base` (HMAC-SHA256).
    /// There is no authorization page: Magento posts the verifier to the
    /// integration's callback when an administrator activates it, so
    /// `authorize_url` is empty and the flow goes from the request token
    /// straight to the access token.
    pub fn magento(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let mut p = profile(
            "magento",
            &format!("{base}/oauth/token/request"),
            "",
            &format!("{base}/oauth/token/access"),
        );
        p.signature_method = SignatureMethod::HmacSha256;
        p
    }

    /// E*TRADE: token requests by GET, an authorization URL that takes
    /// `key` and `token`, and `oob` as the only callback (`sigil login
    /// --pin`).
    pub fn etrade() -> Self {
        let mut p = profile(
            "etrade",
            "https://api.etrade.com/oauth/request_token",
            "https://us.etrade.com/e/t/etws/authorize",
            "https://api.etrade.com/oauth/access_token",
        );
        p.token_method = "GET".to_owned();
        p.authorize_token_param = "token".to_owned();
        p.authorize_key_param = Some("key".to_owned());
        p
    }

    /// Evernote (one endpoint for both token requests).
    pub fn evernote() -> Self {
        let mut p = profile(
            "evernote",
            "https://www.evernote.com/oauth",
            "https://www.evernote.com/OAuth.action",
            "https://www.evernote.com/oauth",
        );
        p.token_method = "GET".to_owned();
        p
    }

    /// Discogs.
    pub fn discogs() -> Self {
        let mut p = profile(
            "discogs",
            "https://api.discogs.com/oauth/request_token",
            "https://www.discogs.com/oauth/authorize",
            "https://api.discogs.com/oauth/access_token",
        );
        p.token_method = "GET".to_owned();
        p
    }

    /// SmugMug.
    pub fn smugmug() -> Self {
        profile(
            "smugmug",
            "https://api.smugmug.com/services/oauth/1.0a/getRequestToken",
            "https://api.smugmug.com/services/oauth/1.0a/authorize",
            "https://api.smugmug.com/services/oauth/1.0a/getAccessToken",
        )
    }

    /// A `sigil serve` at `base`.
    pub fn sigil(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        profile(
            "sigil",
            &format!("{base}/oauth/request_token"),
            &format!("{base}/oauth/authorize"),
            &format!("{base}/oauth/access_token"),
        )
    }

    /// The names [`ServiceProfile::by_name`] knows (`x` is X's other name).
    pub const NAMES: &[&str] = &[
        "twitter",
        "x",
        "trello",
        "flickr",
        "tumblr",
        "garmin",
        "etrade",
        "evernote",
        "discogs",
        "smugmug",
        "netsuite",
        "jira",
        "woocommerce",
        "magento",
        "sigil",
    ];

    /// A profile by name; `param` is the account (NetSuite) or base URL
    /// (Jira, WooCommerce, Magento, sigil) where the profile needs one.
    pub fn by_name(name: &str, param: Option<&str>) -> Option<Self> {
        Some(match (name, param) {
            ("twitter" | "x", _) => Self::twitter(),
            ("trello", _) => Self::trello(),
            ("flickr", _) => Self::flickr(),
            ("tumblr", _) => Self::tumblr(),
            ("garmin", _) => Self::garmin(),
            ("etrade", _) => Self::etrade(),
            ("evernote", _) => Self::evernote(),
            ("discogs", _) => Self::discogs(),
            ("smugmug", _) => Self::smugmug(),
            ("netsuite", Some(account)) => Self::netsuite(account),
            ("jira", Some(base)) => Self::jira(base),
            ("woocommerce", Some(base)) => Self::woocommerce(base),
            ("magento", Some(base)) => Self::magento(base),
            ("sigil", Some(base)) => Self::sigil(base),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netsuite_realm_and_hosts() {
        let p = ServiceProfile::netsuite("1234567_sb1");
        assert_eq!(p.realm.as_deref(), Some("1234567_SB1"));
        assert!(
            p.request_token_url
                .starts_with("https://1234567-sb1.restlets.api.netsuite.com/")
        );
        assert_eq!(p.signature_method, SignatureMethod::HmacSha256);
    }

    /// Every profile's endpoints, each as the service documents it (the
    /// source beside it, read 2026-12), all https.
    #[test]
    fn endpoints_are_where_the_services_document_them() {
        // (profile, request token, authorize, access token, source)
        let documented = [
            (
                ServiceProfile::twitter(),
                "https://api.x.com/oauth/request_token",
                "https://api.x.com/oauth/authorize",
                "https://api.x.com/oauth/access_token",
                "docs.x.com/fundamentals/authentication/api-reference",
            ),
            (
                ServiceProfile::trello(),
                "https://trello.com/1/OAuthGetRequestToken",
                "https://trello.com/1/OAuthAuthorizeToken",
                "https://trello.com/1/OAuthGetAccessToken",
                "developer.atlassian.com/cloud/trello/guides/rest-api/authorization/",
            ),
            (
                ServiceProfile::flickr(),
                "https://www.flickr.com/services/oauth/request_token",
                "https://www.flickr.com/services/oauth/authorize",
                "https://www.flickr.com/services/oauth/access_token",
                "www.flickr.com/services/api/auth.oauth.html",
            ),
            (
                ServiceProfile::tumblr(),
                "https://www.tumblr.com/oauth/request_token",
                "https://www.tumblr.com/oauth/authorize",
                "https://www.tumblr.com/oauth/access_token",
                "www.tumblr.com/docs/en/api/v2 (OAuth 1.0a authorization)",
            ),
            (
                ServiceProfile::garmin(),
                "https://connectapi.garmin.com/oauth-service/oauth/request_token",
                "https://connect.garmin.com/oauthConfirm",
                "https://connectapi.garmin.com/oauth-service/oauth/access_token",
                "Garmin Connect Developer Program, OAuth 1.0a specification (partners only)",
            ),
            (
                ServiceProfile::netsuite("1234567"),
                "https://1234567.restlets.api.netsuite.com/rest/requesttoken",
                "https://1234567.app.netsuite.com/app/login/secure/authorizetoken.nl",
                "https://1234567.restlets.api.netsuite.com/rest/accesstoken",
                "docs.oracle.com NetSuite help, the three-step TBA authorization flow (section_156338994830)",
            ),
            (
                ServiceProfile::jira("https://jira.example.com"),
                "https://jira.example.com/plugins/servlet/oauth/request-token",
                "https://jira.example.com/plugins/servlet/oauth/authorize",
                "https://jira.example.com/plugins/servlet/oauth/access-token",
                "developer.atlassian.com/server/jira/platform/oauth/",
            ),
            (
                ServiceProfile::magento("https://shop.example.com"),
                "https://shop.example.com/oauth/token/request",
                "",
                "https://shop.example.com/oauth/token/access",
                "developer.adobe.com/commerce/webapi/get-started/authentication/gs-authentication-oauth",
            ),
            (
                ServiceProfile::etrade(),
                "https://api.etrade.com/oauth/request_token",
                "https://us.etrade.com/e/t/etws/authorize",
                "https://api.etrade.com/oauth/access_token",
                "apisb.etrade.com/docs/api/authorization/request_token.html",
            ),
            (
                ServiceProfile::evernote(),
                "https://www.evernote.com/oauth",
                "https://www.evernote.com/OAuth.action",
                "https://www.evernote.com/oauth",
                "dev.evernote.com/doc/articles/authentication.php",
            ),
            (
                ServiceProfile::discogs(),
                "https://api.discogs.com/oauth/request_token",
                "https://www.discogs.com/oauth/authorize",
                "https://api.discogs.com/oauth/access_token",
                "www.discogs.com/developers#page:authentication",
            ),
            (
                ServiceProfile::smugmug(),
                "https://api.smugmug.com/services/oauth/1.0a/getRequestToken",
                "https://api.smugmug.com/services/oauth/1.0a/authorize",
                "https://api.smugmug.com/services/oauth/1.0a/getAccessToken",
                "api.smugmug.com/api/v2/doc/tutorial/authorization.html",
            ),
        ];
        for (profile, request, authorize, access, source) in &documented {
            let name = &profile.name;
            assert_eq!(profile.request_token_url, *request, "{name} ({source})");
            assert_eq!(profile.authorize_url, *authorize, "{name} ({source})");
            assert_eq!(profile.access_token_url, *access, "{name} ({source})");
            for url in [request, authorize, access]
                .into_iter()
                .filter(|u| !u.is_empty())
            {
                assert!(url.starts_with("https://"), "{name}: {url}");
            }
            if let Some(sign_in) = &profile.authenticate_url {
                assert!(sign_in.starts_with("https://"), "{name}: {sign_in}");
            }
        }
        assert_eq!(
            documented.len() + 3,
            ServiceProfile::NAMES.len(),
            "every profile but woocommerce, sigil and the x alias is listed"
        );
        // X documents "Sign in with X" at oauth/authenticate (same source).
        assert_eq!(
            ServiceProfile::twitter().authenticate_url.as_deref(),
            Some("https://api.x.com/oauth/authenticate")
        );
    }

    #[test]
    fn every_named_profile_resolves() {
        let needs_param = ["netsuite", "jira", "woocommerce", "magento", "sigil"];
        for name in ServiceProfile::NAMES {
            if needs_param.contains(name) {
                assert!(
                    ServiceProfile::by_name(name, None).is_none(),
                    "{name} needs a parameter"
                );
                assert!(
                    ServiceProfile::by_name(name, Some("https://x.example")).is_some(),
                    "{name}"
                );
            } else {
                assert!(ServiceProfile::by_name(name, None).is_some(), "{name}");
            }
        }
        assert!(ServiceProfile::by_name("myspace", None).is_none());
    }
}
