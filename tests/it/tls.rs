//! Native TLS: a `wss://` handshake with a certificate generated here, and a kick over it.

use std::sync::Arc;

use crate::support::{self, config, start};
use futures_util::{SinkExt, StreamExt};
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Message;

async fn next_of(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>,
    ty: &str,
) -> Value {
    loop {
        let msg = tokio::time::timeout(support::WAIT, ws.next())
            .await
            .expect("message in time")
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == ty {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn a_kick_over_wss_with_a_generated_certificate() {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("ballroom-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, generated.cert.pem()).unwrap();
    std::fs::write(&key_path, generated.signing_key.serialize_pem()).unwrap();

    let mut cfg = config();
    cfg.tls_cert = Some(cert_path);
    cfg.tls_key = Some(key_path);
    let server = start(cfg).await;

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(generated.cert.der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let tls = TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the generated certificate");
    let (mut ws, _) =
        tokio_tungstenite::client_async("wss://localhost/secure?scene=kickballs", tls)
            .await
            .expect("WebSocket handshake over TLS");

    let welcome = next_of(&mut ws, "welcome").await;
    assert_eq!(welcome["room"], "/secure");
    ws.send(Message::text(
        json!({"type":"kick","ball":0,"impulse":[0,0,20],"seq":1}).to_string(),
    ))
    .await
    .unwrap();
    let kick = next_of(&mut ws, "kick").await;
    assert_eq!(
        (kick["ball"].as_u64(), kick["seq"].as_u64()),
        (Some(0), Some(1))
    );

    // A plain-text client gets nowhere on the TLS port.
    let plain = tokio_tungstenite::connect_async(format!("ws://{}/secure", server.addr)).await;
    assert!(plain.is_err());
    server.stop().await;
}
