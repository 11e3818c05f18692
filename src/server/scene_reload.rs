//! Reloading `--assets` into the host's [`LiveScenes`]: on SIGHUP, and when a poll of the
//! directory finds files changed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::tls::{Hangup, next_poll};
use crate::host::LiveScenes;
use crate::scene::{SceneError, SceneLibrary, SceneLoad, library_stamp};
use crate::telemetry;

/// Log and count what a load of `--assets` could not use.
pub fn report(load: &SceneLoad) {
    for result in ["ok", "failed"] {
        metrics::counter!(telemetry::SCENE_LOADS, "result" => result).increment(0);
    }
    metrics::counter!(telemetry::SCENE_LOADS, "result" => "ok").increment(load.loaded as u64);
    for failure in &load.failures {
        metrics::counter!(telemetry::SCENE_LOADS, "result" => "failed").increment(1);
        warn!(error = %failure, "scene not loaded; its previous version, if any, stays");
    }
}

/// Reloads `--assets` into a [`LiveScenes`].
pub struct SceneReloader {
    dir: PathBuf,
    scenes: Arc<LiveScenes>,
    stamp: Stamp,
    hangup: Hangup,
}

type Stamp = Vec<(PathBuf, u64, Option<std::time::SystemTime>)>;

impl SceneReloader {
    /// Catch SIGHUP, then take the stamp of `dir` (so a change after the first load is
    /// never missed: at worst it is loaded twice).
    pub fn new(dir: PathBuf, scenes: Arc<LiveScenes>) -> SceneReloader {
        let hangup = Hangup::catch();
        let stamp = library_stamp(&dir);
        SceneReloader {
            dir,
            scenes,
            stamp,
            hangup,
        }
    }

    /// Reload on SIGHUP, and when a poll every `interval` (`Duration::ZERO`: never) finds
    /// the directory's files changed, until `shutdown`. (Reading and building models is
    /// blocking work, done off the runtime's workers.)
    pub async fn run(mut self, interval: Duration, shutdown: CancellationToken) {
        let mut poll = (!interval.is_zero()).then(|| {
            let mut every = tokio::time::interval_at(Instant::now() + interval, interval);
            every.set_missed_tick_behavior(MissedTickBehavior::Delay);
            every
        });
        loop {
            let trigger = tokio::select! {
                _ = shutdown.cancelled() => return,
                () = self.hangup.recv() => "SIGHUP",
                () = next_poll(&mut poll) => "file change",
            };
            let (dir, previous) = (self.dir.clone(), self.scenes.current());
            let (before, forced) = (self.stamp.clone(), trigger == "SIGHUP");
            let outcome = tokio::task::spawn_blocking(move || {
                let stamp = library_stamp(&dir);
                let changed = forced || stamp != before;
                let load = changed.then(|| SceneLibrary::load(Some(&dir), Some(&previous)));
                (stamp, load)
            })
            .await;
            match outcome {
                Ok((stamp, load)) => {
                    self.stamp = stamp;
                    if let Some(load) = load {
                        self.apply(trigger, load);
                    }
                }
                Err(error) => warn!(%error, "scene reload failed; the scenes stay as they were"),
            }
        }
    }

    fn apply(&self, trigger: &str, load: Result<SceneLoad, SceneError>) {
        match load {
            Ok(load) => {
                report(&load);
                info!(
                    trigger,
                    loaded = load.loaded,
                    failed = load.failures.len(),
                    "scenes reloaded for new rooms"
                );
                self.scenes.replace(load.library);
            }
            Err(error) => {
                metrics::counter!(telemetry::SCENE_LOADS, "result" => "failed").increment(1);
                warn!(trigger, %error, "scene reload failed; the scenes stay as they were");
            }
        }
    }
}
