//! Security headers on every response: a Content Security Policy for the
//! web portal (our own origin only, plus the `blob:` workers and `data:`
//! images MapLibre needs, and an external basemap's origin when one is
//! configured), no MIME sniffing, no framing, and a referrer policy.
//!
//! Headers a handler set itself are left alone.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;

/// The headers, computed once at start.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    headers: Arc<Vec<(HeaderName, HeaderValue)>>,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> SecurityHeaders {
        let csp = content_security_policy(config.basemap_url.as_deref());
        let mut headers = vec![
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            ),
        ];
        // The policy is built from our constants and a parsed origin, so it is
        // always a valid header value; should it not be, the strict default holds.
        let csp = HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static(STRICT_CSP));
        headers.push((header::CONTENT_SECURITY_POLICY, csp));
        SecurityHeaders {
            headers: Arc::new(headers),
        }
    }
}

/// The policy without an external basemap.
const STRICT_CSP: &str = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; \
     img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The CSP. Inline styles are allowed (MapLibre and the HTML item pages set
/// them), inline scripts never. An external basemap's origin may be fetched
/// (style, tiles, glyphs) and drawn.
pub fn content_security_policy(basemap_url: Option<&str>) -> String {
    match basemap_url.and_then(origin) {
        None => STRICT_CSP.to_string(),
        Some(o) => STRICT_CSP
            .replace("connect-src 'self'", &format!("connect-src 'self' {o}"))
            .replace("img-src 'self' data: blob:", &format!("img-src 'self' data: blob: {o}"))
            .replace("font-src 'self' data:", &format!("font-src 'self' data: {o}")),
    }
}

/// `scheme://host[:port]` of an http(s) URL (a tile template's `{z}` is in
/// its path, after the origin); anything else yields none.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let ok = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| format!("{scheme}://{authority}"))
}

/// The request span of the trace layer: method and path only. A query
/// string may carry a person's name (a search) or an emailed link's token,
/// and an appeal's tracking path is itself a secret, so neither is logged.
pub fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!("request", method = %req.method(), path = %loggable_path(req.uri().path()))
}

/// A path as it may be logged: secret segments replaced.
pub fn loggable_path(path: &str) -> String {
    const SECRET_AFTER: &[&str] = &["/api/appeals/track/"];
    for prefix in SECRET_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{prefix}…{tail}");
        }
    }
    path.to_string()
}

/// The middleware: adds every header the response does not carry yet.
pub async fn add_headers(State(security): State<SecurityHeaders>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    for (name, value) in security.headers.iter() {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basemap_origin_is_allowed_and_nothing_else() {
        let csp = content_security_policy(Some("https://tiles.example.org:8443/{z}/{x}/{y}.png"));
        assert!(csp.contains("connect-src 'self' https://tiles.example.org:8443;"));
        assert!(csp.contains("img-src 'self' data: blob: https://tiles.example.org:8443;"));
        assert!(csp.contains("script-src 'self';"));
        assert_eq!(content_security_policy(Some("javascript:alert(1)")), STRICT_CSP);
        assert_eq!(content_security_policy(Some("https://a b/")), STRICT_CSP);
        assert_eq!(content_security_policy(None), STRICT_CSP);
    }

    #[test]
    fn tracking_tokens_are_not_logged() {
        assert_eq!(
            loggable_path("/api/appeals/track/abc123/rating"),
            "/api/appeals/track/…/rating"
        );
        assert_eq!(loggable_path("/api/appeals/track/abc123"), "/api/appeals/track/…");
        assert_eq!(loggable_path("/api/appeals/17"), "/api/appeals/17");
    }
}
