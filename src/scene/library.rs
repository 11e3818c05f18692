//! [`SceneLibrary`]: every scene the server offers, by name: the built-ins embedded in the
//! binary, then `--assets DIR/scenes/*.json` (with their models), which add scenes or
//! override built-ins of the same name.
//!
//! A scene file that fails to load never stops the server and never touches another
//! scene: when the library is loaded again (`SceneLibrary::load` with the previous
//! library), a failed scene keeps its previous version; one that never loaded is
//! remembered with its reason, which a client asking for it is told.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::{Scene, SceneError, ServedFile};

/// Built-in scenes: (name, JSON text).
const BUILTIN: &[(&str, &str)] = &[
    (
        "kickballs",
        include_str!("../../assets/scenes/kickballs.json"),
    ),
    (
        "football",
        include_str!("../../assets/scenes/football.json"),
    ),
    ("relay", include_str!("../../assets/scenes/relay.json")),
    (
        "keepy-uppy",
        include_str!("../../assets/scenes/keepy-uppy.json"),
    ),
];

/// Most files looked at when checking `--assets DIR` for changes.
const MAX_STAMPED_FILES: usize = 10_000;

/// All scenes the server can offer, by name.
#[derive(Clone, Debug, Default)]
pub struct SceneLibrary {
    scenes: BTreeMap<String, Arc<Scene>>,
    /// Scenes of `--assets` that failed to load and have no earlier version, with why.
    failed: BTreeMap<String, String>,
    /// The files of the scenes' models, by URL.
    files: HashMap<String, ServedFile>,
    /// The scenes that came from a file of `--assets`.
    from_files: HashSet<String>,
}

/// A library loaded from `--assets`, and the scene files it could not use.
#[derive(Debug)]
pub struct SceneLoad {
    pub library: SceneLibrary,
    /// Each failure, naming the file and the reason (to be logged and counted).
    pub failures: Vec<SceneError>,
    /// Scenes loaded from files.
    pub loaded: usize,
}

impl SceneLibrary {
    /// The scenes embedded in the binary.
    pub fn builtin() -> SceneLibrary {
        let scenes = BUILTIN
            .iter()
            .map(|(name, text)| {
                let scene = Scene::from_json(name, text)
                    .unwrap_or_else(|e| panic!("built-in scene is invalid: {e}"));
                (name.to_string(), Arc::new(scene))
            })
            .collect();
        SceneLibrary {
            scenes,
            ..SceneLibrary::default()
        }
    }

    /// Built-ins plus every `DIR/scenes/*.json`, the latter winning on a name clash. A scene
    /// file that fails keeps its version in `previous`, if it has one there. Only an
    /// unreadable `DIR/scenes` is an error.
    pub fn load(
        dir: Option<&Path>,
        previous: Option<&SceneLibrary>,
    ) -> Result<SceneLoad, SceneError> {
        let mut library = SceneLibrary::builtin();
        let mut failures = Vec::new();
        let mut loaded = 0;
        let Some(dir) = dir else {
            return Ok(SceneLoad {
                library,
                failures,
                loaded,
            });
        };
        for path in scene_files(dir)? {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let scene = std::fs::read_to_string(&path)
                .map_err(|source| SceneError::Io {
                    path: path.clone(),
                    source,
                })
                .and_then(|text| Scene::load(&name, &text, dir));
            match scene {
                Ok(scene) => {
                    loaded += 1;
                    library.insert(name, Arc::new(scene));
                }
                Err(error) => {
                    let kept = previous
                        .filter(|p| p.from_files.contains(&name))
                        .and_then(|p| p.get(&name));
                    match kept {
                        Some(kept) => library.insert(name, kept),
                        None => {
                            library.scenes.remove(&name);
                            library.failed.insert(name, error.to_string());
                        }
                    }
                    failures.push(error);
                }
            }
        }
        Ok(SceneLoad {
            library,
            failures,
            loaded,
        })
    }

    fn insert(&mut self, name: String, scene: Arc<Scene>) {
        for file in scene.geometry.files.iter() {
            self.files.insert(file.url.clone(), file.clone());
        }
        self.failed.remove(&name);
        self.from_files.insert(name.clone());
        self.scenes.insert(name, scene);
    }

    pub fn get(&self, name: &str) -> Option<Arc<Scene>> {
        self.scenes.get(name).cloned()
    }

    /// Why scene `name` is not offered, if its file failed to load.
    pub fn failure(&self, name: &str) -> Option<&str> {
        self.failed.get(name).map(String::as_str)
    }

    /// A model file clients may fetch, by its URL.
    pub fn file(&self, url: &str) -> Option<&ServedFile> {
        self.files.get(url)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.scenes.keys().map(String::as_str)
    }
}

/// `DIR/scenes/*.json`, sorted.
fn scene_files(dir: &Path) -> Result<Vec<PathBuf>, SceneError> {
    let scenes_dir = dir.join("scenes");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&scenes_dir)
        .map_err(|source| SceneError::Io {
            path: scenes_dir.clone(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// What `--assets DIR` holds, as far as a change matters: every file's path, size and
/// modification time (bounded walk). Two equal stamps: nothing to reload.
pub fn stamp(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_owned(), 0)];
    while let Some((at, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            if out.len() >= MAX_STAMPED_FILES {
                return out;
            }
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if depth < 8 {
                    pending.push((path, depth + 1));
                }
            } else {
                out.push((path, meta.len(), meta.modified().ok()));
            }
        }
    }
    out.sort();
    out
}
