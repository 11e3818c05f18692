//! Handshake security: tokens and origins are checked before any room exists.

use crate::support::{Server, config, start};
use ballroom::auth::{Secret, mint};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SECRET: &str = "scene-backend-shared-secret";

fn token(claims: &str) -> String {
    mint(&SECRET.parse::<Secret>().unwrap(), claims)
}

fn in_an_hour() -> u64 {
    ballroom::auth::now() + 3600
}

async fn secured() -> Server {
    let mut cfg = config();
    cfg.auth_secret = Some(SECRET.parse().unwrap());
    cfg.allowed_origins = vec!["https://play.example".into()];
    start(cfg).await
}

/// The HTTP status a handshake was refused with, or 101.
async fn handshake(server: &Server, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = format!("ws://{}{path}", server.addr)
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName = k.parse().unwrap();
        req.headers_mut().insert(name, v.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => 101,
        Err(WsError::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("unexpected handshake error {e}"),
    }
}

#[tokio::test]
async fn a_valid_token_is_accepted_by_query_or_subprotocol() {
    let server = secured().await;
    let t = token(&format!(
        r#"{{"sub":"alice","room":"/broadcast/*","exp":{}}}"#,
        in_an_hour()
    ));
    let (_c, welcome) = server
        .protocol(&format!("/broadcast/realm?token={t}"))
        .await;
    assert_eq!(welcome["player"], "alice");
    assert_eq!(
        welcome["room"], "/broadcast/realm",
        "the token is not part of the room"
    );

    let status = handshake(
        &server,
        "/broadcast/other",
        &[(
            "Sec-WebSocket-Protocol",
            &format!("ballroom.v1, bearer.{t}"),
        )],
    )
    .await;
    assert_eq!(status, 101);
    server.stop().await;
}

#[tokio::test]
async fn missing_forged_expired_and_wrong_room_tokens_are_refused_at_the_handshake() {
    let server = secured().await;
    let exp = in_an_hour();
    let forged = mint(
        &"someone-elses-secret-value".parse().unwrap(),
        &format!(r#"{{"sub":"mallory","room":"*","exp":{exp}}}"#),
    );
    let expired = token(r#"{"sub":"alice","room":"*","exp":1000}"#);
    let elsewhere = token(&format!(r#"{{"sub":"alice","room":"/lobby","exp":{exp}}}"#));
    for (path, status) in [
        ("/room".to_owned(), 401),
        (format!("/room?token={forged}"), 401),
        (format!("/room?token={expired}"), 401),
        ("/room?token=garbage".to_owned(), 401),
        (format!("/room?token={elsewhere}"), 403),
    ] {
        assert_eq!(handshake(&server, &path, &[]).await, status, "{path}");
    }
    // No room was created by any of them (the operator's token, for every room, reads
    // `/rooms` on a server with a secret).
    let operator = token(&format!(r#"{{"sub":"ops","room":"*","exp":{exp}}}"#));
    let (status, _, rooms) = server
        .request(
            "GET",
            "/rooms",
            &format!("Authorization: Bearer {operator}\r\n"),
        )
        .await;
    assert_eq!((status, rooms.as_str()), (200, "[]"));
    assert_eq!(
        handshake(&server, &format!("/lobby?token={elsewhere}"), &[]).await,
        101
    );
    server.stop().await;
}

#[tokio::test]
async fn only_allowed_browser_origins_may_connect() {
    let server = secured().await;
    let t = token(&format!(
        r#"{{"sub":"bob","room":"*","exp":{}}}"#,
        in_an_hour()
    ));
    let path = format!("/o?token={t}");
    assert_eq!(
        handshake(&server, &path, &[("Origin", "https://evil.example")]).await,
        403
    );
    assert_eq!(
        handshake(&server, &path, &[("Origin", "https://play.example")]).await,
        101
    );
    assert_eq!(
        handshake(&server, &path, &[]).await,
        101,
        "non-browser clients send no Origin"
    );
    server.stop().await;
}

#[tokio::test]
async fn without_a_secret_the_server_is_open() {
    let server = start(config()).await;
    assert_eq!(handshake(&server, "/open", &[]).await, 101);
    server.stop().await;
}
