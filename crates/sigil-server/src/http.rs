//! The framework-agnostic request and response the endpoints work on.

/// An incoming HTTP request, as far as OAuth needs it. Header values are
/// bytes: a front end passes them as received, and the engine refuses what
/// is not UTF-8 with a 400.
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpRequest<'a> {
    /// The method.
    pub method: &'a str,
    /// The request target: origin form (`/path?query`), resolved against
    /// the policy's public base URL, or an absolute URL when no public base
    /// URL is configured.
    pub target: &'a str,
    /// The `Authorization` header, if present.
    pub authorization: Option<&'a [u8]>,
    /// The `Content-Type` header, if present.
    pub content_type: Option<&'a [u8]>,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> HttpRequest<'a> {
    /// A request with no headers and no body.
    pub fn new(method: &'a str, target: &'a str) -> Self {
        Self {
            method,
            target,
            ..Self::default()
        }
    }

    /// With an `Authorization` header.
    pub fn authorization(mut self, value: &'a str) -> Self {
        self.authorization = Some(value.as_bytes());
        self
    }

    /// With a body of the given content type.
    pub fn body(mut self, content_type: &'a str, body: &'a [u8]) -> Self {
        self.content_type = Some(content_type.as_bytes());
        self.body = body;
        self
    }
}

/// An answer: status, headers, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers (name, value).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A form-encoded (`application/x-www-form-urlencoded`) answer, never
    /// cached.
    pub fn form(status: u16, body: String) -> Self {
        Self {
            status,
            headers: vec![
                (
                    "Content-Type",
                    "application/x-www-form-urlencoded".to_owned(),
                ),
                ("Cache-Control", "no-store".to_owned()),
            ],
            body: body.into_bytes(),
        }
    }

    /// A redirect (302) to `location`.
    pub fn redirect(location: String) -> Self {
        Self {
            status: 302,
            headers: vec![
                ("Location", location),
                ("Cache-Control", "no-store".to_owned()),
            ],
            body: Vec::new(),
        }
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded as a form, for tests and clients.
    pub fn form_fields(&self) -> Vec<(String, String)> {
        sigil_core::encoding::form_decode(&self.body).unwrap_or_default()
    }
}
