//! The live viewer: the web app of `viewer/` at the repository root, built into
//! `viewer/dist` (committed), embedded in the binary at compile time and served to plain
//! HTTP requests: `GET /` (with or without `?room=`) is the page, `GET /viewer.js` and
//! `GET /viewer.css` its bundle and style. A WebSocket upgrade on `/` never gets here: it
//! joins the room `/` as before.
//!
//! Behind a proxy that forwards its path prefix whole (nginx's `location /broadcast {
//! proxy_pass http://127.0.0.1:8080; }`), the page is asked for at `/broadcast/`: the
//! server tells the page the directory it saw the request under in
//! `<meta name="ballroom-mount">`, and the page, comparing it with its own address, opens
//! room sockets at the right path whether or not the proxy strips its prefix.
//!
//! Every response carries a strict `Content-Security-Policy` (scripts and styles from this
//! origin only, connections to this origin and WebSockets), an `ETag` of the embedded bytes
//! and `Cache-Control: no-cache`, so a browser revalidates (a `304` when unchanged) and
//! never keeps a bundle from an older binary.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

/// One embedded file of `viewer/dist`.
pub struct Asset {
    /// The request path that serves it.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

static ASSETS: [Asset; 3] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../viewer/dist/index.html"),
    },
    Asset {
        path: "/viewer.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../viewer/dist/viewer.js"),
    },
    Asset {
        path: "/viewer.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../viewer/dist/viewer.css"),
    },
];

/// What the page may load and connect to: its own origin, and WebSockets (the rooms). No
/// inline script or style, no plugins, no framing, no form posts.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The embedded file served at `path`, if any.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// The quoted `ETag` of each asset, hashed once.
fn etag(asset: &Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let mut h = DefaultHasher::new();
                a.body.hash(&mut h);
                format!("\"{:016x}\"", h.finish())
            })
            .collect()
    });
    let i = ASSETS
        .iter()
        .position(|a| a.path == asset.path)
        .expect("assets come from ASSETS");
    &tags[i]
}

/// The page's mount as built: the directory the server saw the request under.
const MOUNT_AS_BUILT: &str = r#"<meta name="ballroom-mount" content="/">"#;

/// The page's bytes for a request under `mount` (`/`, or `/broadcast/` behind a proxy that
/// forwards its prefix), and their `ETag`.
fn page_under(asset: &'static Asset, mount: &str) -> Option<(Bytes, String)> {
    if asset.path != "/" || mount == "/" {
        return None;
    }
    let html = std::str::from_utf8(asset.body).ok()?;
    let mut escaped = String::with_capacity(mount.len());
    for c in mount.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    let body = html.replacen(
        MOUNT_AS_BUILT,
        &format!(r#"<meta name="ballroom-mount" content="{escaped}">"#),
        1,
    );
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    Some((Bytes::from(body), format!("\"{:016x}\"", h.finish())))
}

/// The response to a plain `GET` (or `HEAD`) of `asset` asked for under the directory
/// `mount`: `200` with the file, or `304` when the request's `If-None-Match` names its
/// current `ETag`.
pub fn respond(asset: &'static Asset, mount: &str, request: &HeaderMap) -> Response<Full<Bytes>> {
    let mounted = page_under(asset, mount);
    let (body, tag) = match &mounted {
        Some((body, tag)) => (body.clone(), tag.as_str()),
        None => (Bytes::from_static(asset.body), etag(asset)),
    };
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag
        });
    let mut res = if fresh {
        let mut res = Response::new(Full::default());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res
    } else {
        let mut res = Response::new(Full::new(body));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        res
    };
    let h = res.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(tag).expect("a quoted hex ETag is a valid header value"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_served_at_its_path_and_only_there() {
        assert_eq!(asset("/").unwrap().content_type, "text/html; charset=utf-8");
        assert!(asset("/viewer.js").unwrap().body.len() > 10_000);
        assert!(asset("/viewer.css").is_some());
        assert!(asset("/index.html").is_none());
        assert!(asset("/lobby").is_none());
    }

    #[test]
    fn the_page_references_its_files_relatively() {
        let html = std::str::from_utf8(asset("/").unwrap().body).unwrap();
        assert!(html.contains(r#"src="viewer.js""#), "{html}");
        assert!(html.contains(r#"href="viewer.css""#), "{html}");
        assert!(!html.contains("src=\"/"), "absolute script path: {html}");
        assert!(
            !html.contains("<style"),
            "inline style breaks the CSP: {html}"
        );
    }

    #[test]
    fn a_matching_if_none_match_gets_304_and_others_200() {
        let page = asset("/").unwrap();
        let first = respond(page, "/", &HeaderMap::new());
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[header::ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, tag.clone());
        assert_eq!(respond(page, "/", &h).status(), StatusCode::NOT_MODIFIED);
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(respond(page, "/", &h).status(), StatusCode::OK);
        // Each file has its own tag.
        let js = respond(asset("/viewer.js").unwrap(), "/", &HeaderMap::new());
        assert_ne!(js.headers()[header::ETAG], tag);
    }

    #[test]
    fn the_page_says_the_directory_it_was_asked_for_under() {
        let page = asset("/").unwrap();
        let html = std::str::from_utf8(page.body).unwrap();
        assert!(html.contains(MOUNT_AS_BUILT), "{html}");
        let (body, tag) = page_under(page, "/broadcast/").unwrap();
        let body = std::str::from_utf8(&body).unwrap();
        assert!(
            body.contains(r#"<meta name="ballroom-mount" content="/broadcast/">"#),
            "{body}"
        );
        assert_ne!(tag, etag(page), "another body, another tag");
        let (odd, _) = page_under(page, "/a\"<b>&/").unwrap();
        assert!(
            std::str::from_utf8(&odd)
                .unwrap()
                .contains(r#"content="/a&quot;&lt;b&gt;&amp;/""#)
        );
        assert!(page_under(page, "/").is_none());
        assert!(page_under(asset("/viewer.js").unwrap(), "/broadcast/").is_none());
    }
}
