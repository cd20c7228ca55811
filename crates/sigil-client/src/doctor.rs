//! Finding why a signature does not match: rebuild the request's base string
//! with each usual mistake, sign each with the same key, and report the
//! variant whose signature is the one given.

use sigil_core::encoding::{encode, encode_into, form_decode};
use sigil_core::{BaseUri, Secret, SignatureMethod, SigningKey, sign_base_string};

/// The request, as the client meant to sign it.
#[derive(Clone, Debug)]
pub struct Suspect {
    /// HTTP method.
    pub method: String,
    /// The URL (query included).
    pub url: String,
    /// Form body parameters (decoded).
    pub form: Vec<(String, String)>,
    /// Protocol parameters without `oauth_signature` (decoded).
    pub oauth: Vec<(String, String)>,
    /// The realm of the Authorization header, if any.
    pub realm: Option<String>,
    /// The signature method.
    pub signature_method: SignatureMethod,
    /// Consumer secret.
    pub consumer_secret: Secret,
    /// Token secret, if any.
    pub token_secret: Option<Secret>,
}

/// One variant tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What differs from the request as given.
    pub cause: &'static str,
    /// The base string of this variant.
    pub base_string: String,
    /// Its signature.
    pub signature: String,
}

#[derive(Clone, Copy)]
struct Options {
    flip_scheme: bool,
    keep_host_case: bool,
    explicit_port: bool,
    swap_twitter_host: bool,
    plus_for_space: bool,
    realm_as_param: bool,
    drop_body: bool,
    drop_query: bool,
    unsorted: bool,
    double_encode: bool,
    no_trailing_ampersand: bool,
    other_method: bool,
}

const PLAIN: Options = Options {
    flip_scheme: false,
    keep_host_case: false,
    explicit_port: false,
    swap_twitter_host: false,
    plus_for_space: false,
    realm_as_param: false,
    drop_body: false,
    drop_query: false,
    unsorted: false,
    double_encode: false,
    no_trailing_ampersand: false,
    other_method: false,
};

/// The usual causes of a mismatch, in the order they are tried.
const VARIANTS: &[(&str, Options)] = &[
    ("as given", PLAIN),
    (
        "http vs https: the other scheme was signed",
        Options {
            flip_scheme: true,
            ..PLAIN
        },
    ),
    (
        "host case: the host was not lower-cased",
        Options {
            keep_host_case: true,
            ..PLAIN
        },
    ),
    (
        "default port: an explicit :80 or :443 was kept",
        Options {
            explicit_port: true,
            ..PLAIN
        },
    ),
    (
        "api.twitter.com vs api.x.com: the other host was signed",
        Options {
            swap_twitter_host: true,
            ..PLAIN
        },
    ),
    (
        "+ vs %20: spaces were encoded as +",
        Options {
            plus_for_space: true,
            ..PLAIN
        },
    ),
    (
        "realm: the realm was signed as a parameter",
        Options {
            realm_as_param: true,
            ..PLAIN
        },
    ),
    (
        "body: the form body parameters were left out",
        Options {
            drop_body: true,
            ..PLAIN
        },
    ),
    (
        "query: the query parameters were left out",
        Options {
            drop_query: true,
            ..PLAIN
        },
    ),
    (
        "sort order: parameters were not sorted",
        Options {
            unsorted: true,
            ..PLAIN
        },
    ),
    (
        "double encoding: values were percent-encoded twice",
        Options {
            double_encode: true,
            ..PLAIN
        },
    ),
    (
        "key: no trailing & after the consumer secret without a token",
        Options {
            no_trailing_ampersand: true,
            ..PLAIN
        },
    ),
    (
        "method: the other HTTP method (GET/POST) was signed",
        Options {
            other_method: true,
            ..PLAIN
        },
    ),
];

fn build(s: &Suspect, o: Options) -> Option<(String, Vec<u8>)> {
    let mut url = s.url.clone();
    if o.flip_scheme {
        url = if let Some(rest) = url.strip_prefix("https://") {
            format!("http://{rest}")
        } else {
            format!("https://{}", url.strip_prefix("http://")?)
        };
    }
    if o.swap_twitter_host {
        url = if url.contains("://api.twitter.com") {
            url.replacen("://api.twitter.com", "://api.x.com", 1)
        } else if url.contains("://api.x.com") {
            url.replacen("://api.x.com", "://api.twitter.com", 1)
        } else {
            return None;
        };
    }
    let uri = BaseUri::parse(&url).ok()?;
    let method = if o.other_method {
        if s.method.eq_ignore_ascii_case("GET") {
            "POST"
        } else {
            "GET"
        }
        .to_owned()
    } else {
        s.method.to_ascii_uppercase()
    };
    // Base string URI, with the mistakes that normalisation hides.
    let raw_host = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let raw_host = raw_host.rsplit_once('@').map_or(raw_host, |(_, h)| h);
    let host = if o.keep_host_case {
        let without_port = raw_host.split(':').next().unwrap_or(raw_host);
        if without_port == uri.host() {
            return None;
        }
        without_port.to_owned()
    } else {
        uri.host().to_owned()
    };
    let port = match (uri.port(), o.explicit_port) {
        (Some(p), _) => Some(p),
        (None, true) => Some(if uri.is_https() { 443 } else { 80 }),
        (None, false) => None,
    };
    let mut base_uri = format!("{}://{host}", uri.scheme());
    if let Some(p) = port {
        base_uri.push_str(&format!(":{p}"));
    }
    base_uri.push_str(uri.path());

    let mut params: Vec<(String, String)> = Vec::new();
    if let (false, Some(q)) = (o.drop_query, uri.query()) {
        params.extend(form_decode(q.as_bytes()).ok()?);
    }
    if !o.drop_body {
        params.extend(s.form.iter().cloned());
    }
    params.extend(s.oauth.iter().cloned());
    if o.realm_as_param {
        params.push(("realm".to_owned(), s.realm.clone()?));
    }
    let enc = |v: &str| -> String {
        let once = if o.plus_for_space {
            v.split(' ')
                .map(|p| encode(p).into_owned())
                .collect::<Vec<_>>()
                .join("+")
        } else {
            encode(v).into_owned()
        };
        if o.double_encode {
            encode(&once).into_owned()
        } else {
            once
        }
    };
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(n, v)| (encode(n).into_owned(), enc(v)))
        .collect();
    let mut sorted = pairs.clone();
    sorted.sort();
    if !o.unsorted {
        pairs = sorted;
    } else if sorted == pairs {
        return None; // already in order: the variant is the same request
    }
    let normalized = pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut base = String::new();
    base.push_str(&method);
    base.push('&');
    encode_into(&mut base, &base_uri);
    base.push('&');
    encode_into(&mut base, &normalized);
    let key = if o.no_trailing_ampersand {
        if s.token_secret.is_some() {
            return None;
        }
        encode(s.consumer_secret.expose()).into_owned().into_bytes()
    } else {
        sigil_core::shared_key(&s.consumer_secret, s.token_secret.as_ref()).into_bytes()
    };
    Some((base, key))
}

/// Every variant that applies, with its base string and signature.
pub fn diagnose(s: &Suspect, rsa: Option<&sigil_core::RsaPrivateKey>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (cause, options) in VARIANTS {
        let Some((base, key)) = build(s, *options) else {
            continue;
        };
        let signature = match s.signature_method {
            m if m.is_rsa() => {
                rsa.and_then(|k| sign_base_string(m, &base, &SigningKey::Rsa(k)).ok())
            }
            SignatureMethod::Plaintext => String::from_utf8(key).ok(),
            m => sigil_core::hmac_raw(m, &key, base.as_bytes()),
        };
        if let Some(signature) = signature {
            findings.push(Finding {
                cause,
                base_string: base,
                signature,
            });
        }
    }
    findings
}

/// The first variant whose signature is `expected`.
pub fn find_cause(
    s: &Suspect,
    expected: &str,
    rsa: Option<&sigil_core::RsaPrivateKey>,
) -> Option<Finding> {
    diagnose(s, rsa)
        .into_iter()
        .find(|f| f.signature == expected)
}

/// Where two strings first differ (byte offset), if they do.
pub fn first_difference(a: &str, b: &str) -> Option<usize> {
    let common = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    (common < a.len().max(b.len())).then_some(common)
}
