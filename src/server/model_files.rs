//! The files of the scenes' models, answered to `GET /assets/...`: only files that a
//! loaded scene names (read, checked and held by the [`SceneLibrary`](crate::scene::SceneLibrary)
//! when the scene was loaded, so nothing else under `--assets` is ever served, and what a
//! client draws is what the room collides with), each with its content type and `ETag`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use super::ServerState;
use crate::scene::model::URL_PREFIX;

/// The answer to a `GET` of `path`, if `path` is under `/assets/`, directly or under a
/// prefix that a proxy forwards whole (`/broadcast/assets/models/stadium.glb`, which the
/// viewer at `/broadcast/` asks for by a relative URL).
pub fn respond(
    server: &ServerState,
    path: &str,
    request: &HeaderMap,
) -> Option<Response<Full<Bytes>>> {
    let mut urls = path
        .match_indices(URL_PREFIX)
        .map(|(i, _)| &path[i..])
        .peekable();
    urls.peek()?;
    let Some(file) = urls.find_map(|url| server.host.scenes.file(url)) else {
        let mut res = Response::new(Full::new(Bytes::from_static(b"no such model file\n")));
        *res.status_mut() = StatusCode::NOT_FOUND;
        return Some(res);
    };
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.strip_prefix("W/").unwrap_or(t) == file.etag
        });
    let mut res = if fresh {
        let mut res = Response::new(Full::default());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res
    } else {
        let mut res = Response::new(Full::new(file.bytes.clone()));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(file.content_type),
        );
        res
    };
    let h = res.headers_mut();
    if let Ok(tag) = HeaderValue::from_str(&file.etag) {
        h.insert(header::ETAG, tag);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(res)
}
