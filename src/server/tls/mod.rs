//! Native TLS (rustls, with the `ring` provider), so `wss://` works without a proxy, with a
//! certificate that renews without a restart.
//!
//! Every handshake takes the certificate to present from [`CurrentCertificate`]; a reload
//! (`reload.rs`: SIGHUP, or the files' contents changing) replaces it whole. A connection
//! keeps the session of its own handshake and never asks again, so a reload cannot touch an
//! open connection; a pair that fails to load leaves the previous certificate in place.

mod reload;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};

pub use reload::Reloader;
pub(super) use reload::{Hangup, next_poll};

/// Why a certificate and key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS file {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("TLS certificate {path}: {source}")]
    Cert { path: String, source: pem::Error },
    #[error("TLS key {path}: {source}")]
    Key { path: String, source: pem::Error },
    #[error("TLS certificate {0} holds no certificate")]
    NoCert(String),
    /// The key cannot be used, or is not the key of the chain's first certificate.
    #[error("TLS key {key} for certificate {cert}: {source}")]
    Pair {
        cert: String,
        key: String,
        source: rustls::Error,
    },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The PEM certificate chain and private key named by `--tls-cert` and `--tls-key`.
#[derive(Clone, Debug)]
pub struct CertificateFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Load the pair, and return the acceptor that presents it and the [`Reloader`] that keeps
/// it current.
pub fn start(files: CertificateFiles) -> Result<(TlsAcceptor, Reloader), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (reloader, current) = Reloader::load(files, provider.clone())?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(current);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), reloader))
}

/// The certificate every new handshake presents. Read once per handshake (a clone of an
/// `Arc` under an uncontended lock); replaced whole by a reload.
#[derive(Debug)]
pub struct CurrentCertificate(RwLock<Arc<CertifiedKey>>);

impl CurrentCertificate {
    fn new(key: CertifiedKey) -> CurrentCertificate {
        CurrentCertificate(RwLock::new(Arc::new(key)))
    }

    fn get(&self) -> Arc<CertifiedKey> {
        // A poisoned lock still holds a whole certificate: replacing is one assignment.
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, key: CertifiedKey) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
    }
}

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// SHA-256 of each file as read (`None`: unreadable). Equal fingerprints mean nothing
/// changed in between.
type Fingerprint = [Option<[u8; 32]>; 2];

/// The two files' contents, each read once (symlinks followed), so that what is
/// fingerprinted is exactly what is parsed.
struct PairContents {
    cert: io::Result<Vec<u8>>,
    key: io::Result<Vec<u8>>,
}

impl PairContents {
    fn read(files: &CertificateFiles) -> PairContents {
        PairContents {
            cert: std::fs::read(&files.cert),
            key: std::fs::read(&files.key),
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        let digest = |r: &io::Result<Vec<u8>>| {
            r.as_ref()
                .ok()
                .map(|bytes| <[u8; 32]>::from(Sha256::digest(bytes)))
        };
        [digest(&self.cert), digest(&self.key)]
    }

    /// The certified key these contents hold: a non-empty chain and the key of its first
    /// certificate.
    fn certified_key(
        self,
        files: &CertificateFiles,
        provider: &CryptoProvider,
    ) -> Result<CertifiedKey, TlsError> {
        let (cert_path, key_path) = (shown(&files.cert), shown(&files.key));
        let cert = self.cert.map_err(|source| TlsError::Read {
            path: cert_path.clone(),
            source,
        })?;
        let key = self.key.map_err(|source| TlsError::Read {
            path: key_path.clone(),
            source,
        })?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
            .collect::<Result<_, _>>()
            .map_err(|source| TlsError::Cert {
                path: cert_path.clone(),
                source,
            })?;
        if chain.is_empty() {
            return Err(TlsError::NoCert(cert_path));
        }
        let key = PrivateKeyDer::from_pem_slice(&key).map_err(|source| TlsError::Key {
            path: key_path.clone(),
            source,
        })?;
        CertifiedKey::from_der(chain, key, provider).map_err(|source| TlsError::Pair {
            cert: cert_path,
            key: key_path,
            source,
        })
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}
