//! A small HTTP agent for the web UI: keeps cookies, never follows
//! redirects (tests look at each hop), reads hidden form fields.

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};

/// One answer.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of hidden (or any) input `name` in the page.
    pub fn field(&self, name: &str) -> Option<String> {
        field(&self.body, name)
    }

    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

/// The `value` of the input named `name` in `html` (attributes in the
/// order the templates write them: `name="…" value="…"`), HTML-unescaped.
pub fn field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let rest = html.get(start..)?;
    let end = rest.find('"')?;
    Some(
        rest[..end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">"),
    )
}

/// A visitor with a cookie jar.
pub struct Agent {
    http: reqwest::Client,
    base: String,
    /// Cookies by name.
    pub cookies: BTreeMap<String, String>,
    /// Headers sent with every request.
    extra: Vec<(String, String)>,
}

impl Agent {
    /// A visitor of the site at `base`.
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
            cookies: BTreeMap::new(),
            extra: Vec::new(),
        }
    }

    /// A visitor of `base` through `http` (which must not follow
    /// redirects).
    pub fn with_client(base: &str, http: reqwest::Client) -> Self {
        Self {
            http,
            ..Self::new(base)
        }
    }

    /// Sends `name: value` with every request from now on (replacing an
    /// earlier one of that name).
    pub fn extra_header(&mut self, name: &str, value: &str) {
        self.extra.retain(|(n, _)| n != name);
        self.extra.push((name.to_owned(), value.to_owned()));
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, request: reqwest::RequestBuilder) -> Page {
        let mut request = request;
        for (name, value) in &self.extra {
            request = request.header(name, value);
        }
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header(COOKIE, self.cookie_header())
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for line in headers.get_all(SET_COOKIE).iter() {
            let line = line.to_str().unwrap();
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(self.url(path));
        self.finish(request).await
    }

    /// `POST path` with a form body.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.http.post(self.url(path)).form(fields);
        self.finish(request).await
    }

    /// Signs in through the form; the answer is the redirect to `next`.
    pub async fn sign_in(&mut self, user: &str, password: &str, next: &str) -> Page {
        let form = self
            .get(&format!(
                "/login?next={}",
                sigil_core::encoding::encode(next)
            ))
            .await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.field("csrf").unwrap();
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("next", next),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }
}
