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
    }
}

impl ServiceProfile {
    /// X (Twitter), user context.
    pub fn twitter() -> Self {
        profile(
            "twitter",
            "https://api.x.com/oauth/request_token",
            "https://api.x.com/oauth/authorize",
            "https://api.x.com/oauth/access_token",
        )
    }

    /// Trello.
    pub fn trello() -> Self {
        profile(
            "trello",
            "https://trello.com/1/OAuthGetRequestToken",
            "https://trello.com/1/OAuthAuthorizeToken",
            "https://trello.com/1/OAuthGetAccessToken",
        )
    }

    /// Flickr (token requests by GET).
    pub fn flickr() -> Self {
        let mut p = profile(
            "flickr",
            "https://www.flickr.com/services/oauth/request_token",
            "https://www.flickr.com/services/oauth/authorize",
            "https://www.flickr.com/services/oauth/access_token",
        );
        p.token_method = "GET".to_owned();
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

    /// Garmin Connect.
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

    /// Magento 2 integrations at `base` (HMAC-SHA256).
    pub fn magento(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let mut p = profile(
            "magento",
            &format!("{base}/oauth/token/request"),
            &format!("{base}/oauth/authorize"),
            &format!("{base}/oauth/token/access"),
        );
        p.signature_method = SignatureMethod::HmacSha256;
        p
    }

    /// E*TRADE: token requests by GET, and an authorization URL that takes
    /// `key` and `token`.
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

    #[test]
    fn every_named_profile_resolves() {
        for name in [
            "twitter", "trello", "flickr", "tumblr", "garmin", "etrade", "evernote", "discogs",
            "smugmug",
        ] {
            assert!(ServiceProfile::by_name(name, None).is_some(), "{name}");
        }
        for name in ["netsuite", "jira", "woocommerce", "magento", "sigil"] {
            assert!(
                ServiceProfile::by_name(name, None).is_none(),
                "{name} needs a parameter"
            );
            assert!(
                ServiceProfile::by_name(name, Some("https://x.example")).is_some(),
                "{name}"
            );
        }
    }
}
