//! The scenes a server offers now: the [`SceneLibrary`] that new rooms take their scene
//! from, replaced when `--assets` changes (by the server's `SceneReloader`). A running
//! room keeps the `Arc<Scene>` it started with.

use std::sync::{Arc, RwLock};

use super::join::JoinError;
use crate::scene::{Scene, SceneLibrary, ServedFile};
/// The current library; cheap to read (a clone of an `Arc` under a read lock).
pub struct LiveScenes {
    current: RwLock<Arc<SceneLibrary>>,
}

impl LiveScenes {
    pub fn new(library: SceneLibrary) -> LiveScenes {
        LiveScenes {
            current: RwLock::new(Arc::new(library)),
        }
    }

    pub fn current(&self) -> Arc<SceneLibrary> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serve `library` to rooms opened from now on.
    pub fn replace(&self, library: SceneLibrary) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(library);
    }

    pub fn get(&self, name: &str) -> Option<Arc<Scene>> {
        self.current().get(name)
    }

    /// Scene `name`, or the join error a client asking for it gets (with the reason when
    /// its file failed to load).
    pub fn lookup(&self, name: &str) -> Result<Arc<Scene>, JoinError> {
        let library = self.current();
        library
            .get(name)
            .ok_or_else(|| match library.failure(name) {
                Some(reason) => JoinError::SceneFailed {
                    name: name.to_owned(),
                    reason: reason.to_owned(),
                },
                None => JoinError::UnknownScene(name.to_owned()),
            })
    }

    /// A model file clients may fetch, by URL.
    pub fn file(&self, url: &str) -> Option<ServedFile> {
        self.current().file(url).cloned()
    }
}
