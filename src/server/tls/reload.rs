//! When the certificate is reloaded: on SIGHUP (always), and when a poll of the files finds
//! contents other than those last tried (`--tls-reload-interval`).
//!
//! A pair that fails to load (unreadable, bad PEM, a key that is not the certificate's) is
//! logged and counted, and the previous certificate stays. The poll tries a given pair of
//! contents once: a half-written file is tried again when its writer has changed it, and a
//! broken pair left in place is reported once, not every interval.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{CertificateFiles, CurrentCertificate, Fingerprint, PairContents, TlsError};
use crate::telemetry;

/// Keeps the [`CurrentCertificate`] in step with the files.
pub struct Reloader {
    files: CertificateFiles,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentCertificate>,
    /// The contents last loaded or tried.
    tried: Fingerprint,
    hangup: Hangup,
}

/// What asked for a reload.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Trigger {
    Hangup,
    Poll,
}

impl Trigger {
    fn name(self) -> &'static str {
        match self {
            Trigger::Hangup => "SIGHUP",
            Trigger::Poll => "file change",
        }
    }
}

/// What one reload did.
#[derive(Debug)]
enum Outcome {
    /// A poll found the contents last tried: nothing to do.
    Unchanged,
    Loaded,
    Failed(TlsError),
}

impl Reloader {
    /// Load the pair for the first time. SIGHUP is caught before the files are read, so a
    /// signal sent after that read is never lost.
    pub(super) fn load(
        files: CertificateFiles,
        provider: Arc<CryptoProvider>,
    ) -> Result<(Reloader, Arc<CurrentCertificate>), TlsError> {
        let hangup = Hangup::catch();
        let contents = PairContents::read(&files);
        let tried = contents.fingerprint();
        let current = Arc::new(CurrentCertificate::new(
            contents.certified_key(&files, &provider)?,
        ));
        // Both series exist from the start, so a scrape reads 0 rather than nothing.
        for result in ["ok", "failed"] {
            metrics::counter!(telemetry::TLS_RELOADS, "result" => result).increment(0);
        }
        let reloader = Reloader {
            files,
            provider,
            current: current.clone(),
            tried,
            hangup,
        };
        Ok((reloader, current))
    }

    /// Reload on SIGHUP, and poll the files every `interval` (`Duration::ZERO`: never),
    /// until `shutdown`.
    pub async fn run(mut self, interval: Duration, shutdown: CancellationToken) {
        let mut poll = (!interval.is_zero()).then(|| {
            let mut every = tokio::time::interval_at(Instant::now() + interval, interval);
            every.set_missed_tick_behavior(MissedTickBehavior::Delay);
            every
        });
        loop {
            let trigger = tokio::select! {
                _ = shutdown.cancelled() => return,
                () = self.hangup.recv() => Trigger::Hangup,
                () = next_poll(&mut poll) => Trigger::Poll,
            };
            match self.reload(trigger) {
                Outcome::Unchanged => {}
                Outcome::Loaded => {
                    metrics::counter!(telemetry::TLS_RELOADS, "result" => "ok").increment(1);
                    info!(trigger = trigger.name(), "TLS certificate reloaded");
                }
                Outcome::Failed(error) => {
                    metrics::counter!(telemetry::TLS_RELOADS, "result" => "failed").increment(1);
                    warn!(
                        trigger = trigger.name(),
                        %error,
                        "TLS certificate reload failed; still presenting the previous certificate"
                    );
                }
            }
        }
    }

    /// Read the files and, if a signal asked or they changed, present what they hold.
    /// (Blocking reads, on the runtime: two small local files, once per poll or signal.)
    fn reload(&mut self, trigger: Trigger) -> Outcome {
        let contents = PairContents::read(&self.files);
        let fingerprint = contents.fingerprint();
        if trigger == Trigger::Poll && fingerprint == self.tried {
            return Outcome::Unchanged;
        }
        self.tried = fingerprint;
        match contents.certified_key(&self.files, &self.provider) {
            Ok(key) => {
                self.current.replace(key);
                Outcome::Loaded
            }
            Err(e) => Outcome::Failed(e),
        }
    }
}

pub(in crate::server) async fn next_poll(poll: &mut Option<Interval>) {
    match poll {
        Some(every) => {
            every.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// SIGHUP as a stream of reload requests (of the certificate, and of `--assets`); silent
/// off Unix, or if it cannot be caught. Each `catch` gets every signal.
pub(in crate::server) struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    pub(in crate::server) fn catch() -> Hangup {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = signal(SignalKind::hangup())
                .inspect_err(|e| warn!(error = %e, "cannot catch SIGHUP; reloads only by polling"))
                .ok();
            Hangup { signal }
        }
        #[cfg(not(unix))]
        Hangup {}
    }

    pub(in crate::server) async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            if signal.recv().await.is_some() {
                return;
            }
            self.signal = None;
        }
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of the test's own holding `cert.pem` and `key.pem`.
    fn files(name: &str) -> CertificateFiles {
        let dir = std::env::temp_dir().join(format!("ballroom-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        CertificateFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    fn generated() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap()
    }

    fn presented(current: &CurrentCertificate) -> Vec<u8> {
        current.get().end_entity_cert().unwrap().to_vec()
    }

    fn ring() -> Arc<CryptoProvider> {
        Arc::new(tokio_rustls::rustls::crypto::ring::default_provider())
    }

    #[tokio::test]
    async fn a_half_written_pair_fails_once_and_loads_when_complete() {
        let (a, b) = (generated(), generated());
        let files = files("reload-half");
        std::fs::write(&files.cert, a.cert.pem()).unwrap();
        std::fs::write(&files.key, a.signing_key.serialize_pem()).unwrap();
        let (mut reloader, current) = Reloader::load(files.clone(), ring()).unwrap();
        assert_eq!(presented(&current), a.cert.der().to_vec());
        assert!(matches!(reloader.reload(Trigger::Poll), Outcome::Unchanged));

        // The new certificate is written, its key not yet: B's certificate with A's key.
        std::fs::write(&files.cert, b.cert.pem()).unwrap();
        let outcome = reloader.reload(Trigger::Poll);
        assert!(
            matches!(outcome, Outcome::Failed(TlsError::Pair { .. })),
            "{outcome:?}"
        );
        assert_eq!(presented(&current), a.cert.der().to_vec());
        // Polled again unchanged, the broken pair is not tried (nor reported) again...
        assert!(matches!(reloader.reload(Trigger::Poll), Outcome::Unchanged));
        // ...but a signal always tries.
        assert!(matches!(
            reloader.reload(Trigger::Hangup),
            Outcome::Failed(TlsError::Pair { .. })
        ));

        std::fs::write(&files.key, b.signing_key.serialize_pem()).unwrap();
        assert!(matches!(reloader.reload(Trigger::Poll), Outcome::Loaded));
        assert_eq!(presented(&current), b.cert.der().to_vec());
        std::fs::remove_dir_all(files.cert.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn unreadable_or_garbage_files_keep_the_previous_certificate() {
        let a = generated();
        let files = files("reload-garbage");
        std::fs::write(&files.cert, a.cert.pem()).unwrap();
        std::fs::write(&files.key, a.signing_key.serialize_pem()).unwrap();
        let (mut reloader, current) = Reloader::load(files.clone(), ring()).unwrap();

        std::fs::remove_file(&files.key).unwrap();
        let outcome = reloader.reload(Trigger::Poll);
        assert!(
            matches!(outcome, Outcome::Failed(TlsError::Read { .. })),
            "{outcome:?}"
        );
        std::fs::write(&files.key, "not a key").unwrap();
        let outcome = reloader.reload(Trigger::Poll);
        assert!(
            matches!(outcome, Outcome::Failed(TlsError::Key { .. })),
            "{outcome:?}"
        );
        std::fs::write(&files.cert, "").unwrap();
        std::fs::write(&files.key, a.signing_key.serialize_pem()).unwrap();
        let outcome = reloader.reload(Trigger::Poll);
        assert!(
            matches!(outcome, Outcome::Failed(TlsError::NoCert(_))),
            "{outcome:?}"
        );
        assert_eq!(presented(&current), a.cert.der().to_vec());
        std::fs::remove_dir_all(files.cert.parent().unwrap()).unwrap();
    }
}
