//! The `ballroom` binary: configuration, logging, bind, serve until SIGINT/SIGTERM (with
//! native TLS, SIGHUP reloads the certificate).

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::debug_fn;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = ballroom::Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_ansi(std::io::stdout().is_terminal())
        // Client-supplied values (room names, origins) are logged escaped: no forged lines.
        .fmt_fields(debug_fn(ballroom::log_format::write_field).delimited(" "))
        .init();
    // Each connection is a file descriptor; the usual soft limit (1024) would cap clients.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
    let shutdown = shutdown_signal();
    // With native TLS or --assets, SIGHUP reloads the certificate or the scenes
    // (`server::run` listens for it). Claim it before the server announces itself, so that
    // an early SIGHUP is ignored (the files are read afterwards anyway) instead of
    // terminating the process. tokio keeps a signal's handler for the life of the process.
    #[cfg(unix)]
    if config.tls_cert.is_some() || config.assets.is_some() {
        let _ = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    }
    let listener = ballroom::server::bind(config.addr)
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    tracing::info!(addr = %listener.local_addr()?, scene = %config.scene, mode = ?config.mode, "listening");
    ballroom::server::run(listener, config, shutdown).await?;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives while the server
/// is still starting is not lost (nor left to its default action, which would kill the
/// process without a clean shutdown).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    #[cfg(unix)]
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    async move {
        #[cfg(unix)]
        {
            let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {},
                _ = wait(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
