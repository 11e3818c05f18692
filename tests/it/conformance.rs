//! RFC 6455 behaviour at the wire, with a hand-written client that can send what a normal
//! library never would: unmasked frames, reserved opcodes and bits, fragments with control
//! frames between them, and a close handshake. tungstenite does the parsing; these tests
//! make sure nothing in ballroom undoes it (for instance by relaying a bad frame).

use std::time::Duration;

use crate::support::{self, Server, config, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const TEXT: u8 = 0x1;
const CONT: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

struct Raw {
    s: TcpStream,
}

impl Raw {
    async fn open(server: &Server, path: &str) -> Raw {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            tokio::time::timeout(support::WAIT, s.read_exact(&mut b))
                .await
                .expect("handshake timed out")
                .unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        // The accept key of RFC 6455's own example.
        assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
        Raw { s }
    }

    /// Send one frame; `first` is FIN/RSV bits | opcode.
    async fn frame(&mut self, first: u8, masked: bool, payload: &[u8]) {
        assert!(payload.len() < 126);
        let mut f = vec![first, (payload.len() as u8) | if masked { 0x80 } else { 0 }];
        if masked {
            let key = [0x37u8, 0xfa, 0x21, 0x3d];
            f.extend_from_slice(&key);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            f.extend_from_slice(payload);
        }
        self.s.write_all(&f).await.unwrap();
    }

    /// The next frame from the server: (opcode, payload), or None at end of stream.
    async fn read(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut h = [0u8; 2];
        match tokio::time::timeout(support::WAIT, self.s.read_exact(&mut h)).await {
            Err(_) => panic!("no frame from the server in time"),
            Ok(Err(_)) => return None,
            Ok(Ok(_)) => {}
        }
        assert_eq!(h[1] & 0x80, 0, "server frames are never masked");
        let len = match h[1] & 0x7f {
            126 => {
                let mut l = [0u8; 2];
                self.s.read_exact(&mut l).await.ok()?;
                u16::from_be_bytes(l) as usize
            }
            127 => panic!("unexpectedly large frame"),
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        self.s.read_exact(&mut payload).await.ok()?;
        Some((h[0] & 0x0f, payload))
    }

    /// Read until a close frame; returns its code.
    async fn close_code(&mut self) -> u16 {
        loop {
            match self.read().await {
                Some((CLOSE, p)) => return u16::from_be_bytes([p[0], p[1]]),
                Some(_) => continue,
                None => panic!("stream ended without a close frame"),
            }
        }
    }
}

#[tokio::test]
async fn an_unmasked_client_frame_is_a_protocol_error_and_is_not_relayed() {
    let server = start(config()).await;
    let mut peer = server.plain("/rfc").await;
    let mut raw = Raw::open(&server, "/rfc").await;
    raw.frame(0x80 | TEXT, false, b"unmasked").await;
    assert_eq!(raw.close_code().await, 1002);
    assert!(peer.collect(Duration::from_millis(300)).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn reserved_opcodes_and_bits_are_protocol_errors() {
    let server = start(config()).await;
    let mut peer = server.plain("/rfc").await;
    for first in [0x80 | 0x3, 0x80 | 0xB, 0x80 | 0x40 | TEXT] {
        let mut raw = Raw::open(&server, "/rfc").await;
        raw.frame(first, true, b"x").await;
        assert_eq!(raw.close_code().await, 1002, "first byte {first:#x}");
    }
    assert!(peer.collect(Duration::from_millis(300)).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn fragments_with_a_ping_between_them_make_one_message() {
    let server = start(config()).await;
    let mut peer = server.plain("/rfc").await;
    let mut raw = Raw::open(&server, "/rfc").await;
    raw.frame(TEXT, true, b"hel").await; // FIN clear: first fragment
    raw.frame(0x80 | PING, true, b"are you there").await; // control frames may interleave
    raw.frame(0x80 | CONT, true, b"lo").await;
    // The ping is answered with its payload; the message is relayed whole, echo included.
    let mut pong = None;
    let mut text = None;
    while pong.is_none() || text.is_none() {
        match raw.read().await.expect("open") {
            (PONG, p) => pong = Some(p),
            (TEXT, p) => text = Some(p),
            (PING, _) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pong.unwrap(), b"are you there");
    assert_eq!(text.unwrap(), b"hello");
    assert_eq!(peer.next().await, Message::text("hello"));
    server.stop().await;
}

#[tokio::test]
async fn a_control_frame_may_not_be_fragmented_or_long() {
    let server = start(config()).await;
    let mut raw = Raw::open(&server, "/rfc").await;
    raw.frame(PING, true, b"fragmented ping").await; // FIN clear on a control frame
    assert_eq!(raw.close_code().await, 1002);
    server.stop().await;
}

#[tokio::test]
async fn the_close_handshake_is_answered_then_the_connection_ends() {
    let server = start(config()).await;
    let mut raw = Raw::open(&server, "/rfc").await;
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    raw.frame(0x80 | CLOSE, true, &payload).await;
    assert_eq!(raw.close_code().await, 1000);
    // After the closing handshake the server closes the TCP connection.
    assert!(raw.read().await.is_none());
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_split_across_fragments_is_refused_with_1007() {
    let server = start(config()).await;
    let mut peer = server.plain("/rfc").await;
    let mut raw = Raw::open(&server, "/rfc").await;
    raw.frame(TEXT, true, &[0x68, 0xc3]).await; // 'h' and half of a two-byte sequence
    raw.frame(0x80 | CONT, true, &[0x28]).await; // not a continuation byte
    assert_eq!(raw.close_code().await, 1007);
    assert!(peer.collect(Duration::from_millis(300)).await.is_empty());
    server.stop().await;
}
