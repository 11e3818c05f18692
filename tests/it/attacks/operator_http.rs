//! Finding 5: plain HTTP. `/rooms` and `/metrics` answered anyone even with
//! `--auth-secret` (the room names of an auth-only server were public), and plain HTTP
//! requests were not rate-limited: a few keep-alive connections pulled gigabytes of
//! `/rooms`.

use std::net::{IpAddr, SocketAddr};

use ballroom::auth::{Secret, mint};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::support::{ServerProcess, http_request, sample};

const SECRET: &str = "an-operator-test-secret";

fn token(room: &str) -> String {
    let secret: Secret = SECRET.parse().unwrap();
    let exp = ballroom::auth::now() + 600;
    mint(
        &secret,
        &format!(r#"{{"sub":"op","room":"{room}","exp":{exp}}}"#),
    )
}

#[tokio::test]
async fn with_an_auth_secret_rooms_and_metrics_need_a_token() {
    let server = ServerProcess::start(&["--auth-secret", SECRET]);
    let addr: SocketAddr = server.addr.parse().unwrap();
    for path in ["/rooms", "/metrics"] {
        let (status, headers, body) = http_request(addr, "GET", path, "").await;
        assert_eq!(status, 401, "{path} without a token: {body}");
        assert_eq!(
            headers.get("www-authenticate").map(String::as_str),
            Some("Bearer")
        );
        // A player's token (one room) is not an operator's.
        let player = format!("Authorization: Bearer {}\r\n", token("/lobby"));
        let (status, _, body) = http_request(addr, "GET", path, &player).await;
        assert_eq!(status, 403, "{path} with a one-room token: {body}");
        // A token for every room is, in the header or the query.
        let operator = format!("Authorization: Bearer {}\r\n", token("*"));
        let (status, _, body) = http_request(addr, "GET", path, &operator).await;
        assert_eq!(status, 200, "{path} with an operator token: {body}");
        let (status, _, body) =
            http_request(addr, "GET", &format!("{path}?token={}", token("*")), "").await;
        assert_eq!(status, 200, "{path}?token=: {body}");
    }
    // What a load balancer and a browser need stays open.
    assert_eq!(http_request(addr, "GET", "/healthz", "").await.0, 200);
    assert_eq!(http_request(addr, "GET", "/", "").await.0, 200);
}

#[tokio::test]
async fn without_an_auth_secret_they_stay_open() {
    let server = ServerProcess::start(&[]);
    let addr: SocketAddr = server.addr.parse().unwrap();
    assert_eq!(http_request(addr, "GET", "/rooms", "").await.0, 200);
    assert_eq!(http_request(addr, "GET", "/metrics", "").await.0, 200);
}

/// Send up to `count` GETs of `path` on one keep-alive connection from `local`, each as
/// soon as the previous answer is in (so nothing is left unread when the server closes,
/// which would reset the connection and lose its last answer); the statuses of the
/// answers until the server closed it.
async fn keep_alive_gets(addr: SocketAddr, local: IpAddr, path: &str, count: usize) -> Vec<u16> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    let s = socket.connect(addr).await.unwrap();
    let mut s = tokio::io::BufReader::new(s);
    let one = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    let mut statuses = Vec::new();
    let answer = async {
        for _ in 0..count {
            if s.get_mut().write_all(one.as_bytes()).await.is_err() {
                break;
            }
            // Status line, headers (for the length and whether it closes), body.
            let mut line = String::new();
            if s.read_line(&mut line).await.unwrap_or(0) == 0 {
                break;
            }
            let Some(status) = line.get(9..12).and_then(|c| c.parse().ok()) else {
                break;
            };
            statuses.push(status);
            let (mut length, mut close) = (0usize, false);
            loop {
                line.clear();
                if s.read_line(&mut line).await.unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                close |= lower.starts_with("connection:") && lower.contains("close");
            }
            let mut body = vec![0u8; length];
            if s.read_exact(&mut body).await.is_err() || close {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), answer).await;
    statuses
}

#[tokio::test]
async fn plain_http_is_rate_limited_per_address() {
    // Loopback peers are direct clients here, not a local proxy (the default trusts one).
    let server = ServerProcess::start(&["--trusted-proxies", "none"]);
    let addr: SocketAddr = server.addr.parse().unwrap();
    let statuses = keep_alive_gets(addr, IpAddr::from([127, 0, 0, 21]), "/rooms", 1000).await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        limited >= 1 && ok < 1000,
        "1,000 keep-alive requests: {ok} answered 200, {limited} 429"
    );
    // Another address is not affected.
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(IpAddr::from([127, 0, 0, 22]), 0))
        .unwrap();
    let other = socket.connect(addr).await.unwrap();
    let (status, _, _) = crate::support::http_request_on(other, "GET", "/rooms", "").await;
    assert_eq!(status, 200);
    let (_, _, m) = http_request(addr, "GET", "/metrics", "").await;
    assert!(sample(&m, "ballroom_rejected_total", "per_ip_http_rate").unwrap_or(0.0) >= 1.0);
}
