//! Handshake authentication and origin checks, decided before any room state is touched.
//!
//! With `--auth-secret`, a client must present a JSON Web Token signed with HMAC-SHA256
//! (HS256) under that secret, so a scene's backend can mint tokens with any JWT library.
//! Claims:
//!
//! - `sub`: the player id (string), reported to the room in `welcome.player`;
//! - `room`: the room name it may join, exactly, or a prefix ending in `*`
//!   (`"/broadcast/*"`), or `"*"` for any room;
//! - `exp`: expiry, seconds since the Unix epoch.
//!
//! The token comes in the query (`?token=…`) or, for browsers that prefer not to put it in
//! URLs, as a WebSocket subprotocol `bearer.<token>` offered beside `ballroom.v1`. A missing,
//! malformed, forged or expired token is refused with HTTP 401; a valid token for another
//! room with 403.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::Deserialize;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The subprotocol prefix that carries a token.
pub const BEARER_PREFIX: &str = "bearer.";

/// The verified claims of a token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub room: String,
    pub exp: u64,
}

/// Why a handshake was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
    #[error("a token is required (?token=… or subprotocol bearer.<token>)")]
    Missing,
    #[error("the token is not a well-formed HS256 JWT")]
    Malformed,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token expired")]
    Expired,
    #[error("the token does not allow room `{0}`")]
    WrongRoom(String),
    #[error("origin `{0}` is not allowed")]
    Origin(String),
}

impl AuthError {
    /// 401 for no valid credentials, 403 for credentials or origins that do not allow this.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::WrongRoom(_) | AuthError::Origin(_) => 403,
            _ => 401,
        }
    }
}

/// The shared secret; its `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() < 16 {
            return Err("the secret must be at least 16 bytes".into());
        }
        Ok(Secret(s.to_owned()))
    }
}

/// Verify `token` under `secret` at `now` (Unix seconds) for `room`.
pub fn verify(secret: &Secret, token: &str, room: &str, now: u64) -> Result<Claims, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| AuthError::Malformed);
    #[derive(Deserialize)]
    struct Header {
        alg: String,
    }
    let h: Header = serde_json::from_slice(&decode(header)?).map_err(|_| AuthError::Malformed)?;
    if h.alg != "HS256" {
        return Err(AuthError::Malformed);
    }
    let mut mac =
        HmacSha256::new_from_slice(secret.0.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&decode(sig)?)
        .map_err(|_| AuthError::BadSignature)?;
    let claims: Claims =
        serde_json::from_slice(&decode(payload)?).map_err(|_| AuthError::Malformed)?;
    if claims.exp <= now {
        return Err(AuthError::Expired);
    }
    if !room_matches(&claims.room, room) {
        return Err(AuthError::WrongRoom(room.to_owned()));
    }
    Ok(claims)
}

/// `pattern` is a room name, a prefix ending in `*`, or `*`.
fn room_matches(pattern: &str, room: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => room.starts_with(prefix),
        None => pattern == room,
    }
}

/// Mint a token (for tests, tools and the documentation's example).
pub fn mint(secret: &Secret, claims_json: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims_json.as_bytes());
    let mut mac =
        HmacSha256::new_from_slice(secret.0.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{sig}")
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        "a-test-secret-of-some-length".parse().unwrap()
    }

    #[test]
    fn tokens_verify_and_each_fault_has_its_error() {
        let s = secret();
        let good = mint(&s, r#"{"sub":"alice","room":"/broadcast/*","exp":2000}"#);
        let c = verify(&s, &good, "/broadcast/realm", 1000).unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(
            verify(&s, &good, "/broadcast/realm", 2000),
            Err(AuthError::Expired)
        );
        assert_eq!(
            verify(&s, &good, "/other", 1000),
            Err(AuthError::WrongRoom("/other".into()))
        );
        let forged = mint(
            &"another-secret-entirely".parse().unwrap(),
            r#"{"sub":"alice","room":"*","exp":2000}"#,
        );
        assert_eq!(
            verify(&s, &forged, "/x", 1000),
            Err(AuthError::BadSignature)
        );
        // Changing the claims breaks the signature.
        let mut parts: Vec<&str> = good.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice","room":"*","exp":9999}"#);
        parts[1] = &other;
        assert_eq!(
            verify(&s, &parts.join("."), "/x", 1000),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(&s, "not-a-token", "/x", 1000),
            Err(AuthError::Malformed)
        );
        let exact = mint(&s, r#"{"sub":"bob","room":"/exact","exp":2000}"#);
        assert!(verify(&s, &exact, "/exact", 1000).is_ok());
        assert!(verify(&s, &exact, "/exact/more", 1000).is_err());
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!("short".parse::<Secret>().is_err());
    }
}
