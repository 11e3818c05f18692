//! `--state-dir`: one file per room, written atomically at shutdown and taken back at start.
//!
//! A file is written to a temporary name, flushed to disk, renamed over its final name and
//! the directory flushed, so a crash mid-write leaves the old file or the new one, never
//! half of one. At start every `*.room` file is read and removed; one that cannot be read
//! (corrupt, truncated, from a newer build, for a scene that no longer fits) is renamed
//! `*.room.bad-<unix seconds>` and reported, and never stops the start.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use super::{RecordError, RoomRecord, decode};
use crate::scene::Scene;

const EXTENSION: &str = "room";

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    path: PathBuf,
}

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    #[error("state directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What one file held.
pub enum Taken {
    /// A record, with the scene it carries, parsed and checked.
    Room {
        record: Box<RoomRecord<'static>>,
        scene: Arc<Scene>,
    },
    /// A file that is not a usable record: moved aside to `moved_to`.
    Bad {
        file: PathBuf,
        moved_to: PathBuf,
        error: RecordError,
    },
}

impl StateDir {
    /// The directory at `path`, created if needed.
    pub fn open(path: &Path) -> Result<StateDir, StateDirError> {
        fs::create_dir_all(path).map_err(|source| StateDirError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(StateDir {
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write `bytes` as the file of room `name`, atomically; returns the file's path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let file = self.path.join(file_name(name));
        let temporary = file.with_extension(format!("{EXTENSION}.tmp"));
        let mut out = fs::File::create(&temporary)?;
        out.write_all(bytes)?;
        out.sync_all()?;
        drop(out);
        fs::rename(&temporary, &file)?;
        fs::File::open(&self.path)?.sync_all()?;
        Ok(file)
    }

    /// Every saved room, each file removed once read; unreadable files moved aside.
    pub fn take_all(&self) -> Result<Vec<Taken>, StateDirError> {
        let io = |source| StateDirError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let mut files: Vec<PathBuf> = fs::read_dir(&self.path)
            .map_err(io)?
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
            .collect();
        files.sort();
        let mut taken = Vec::with_capacity(files.len());
        for file in files {
            let read = fs::read(&file).map_err(io)?;
            let record = decode(&read).and_then(|record| Ok((record.scene()?, record)));
            match record {
                Ok((scene, record)) => {
                    fs::remove_file(&file).map_err(io)?;
                    taken.push(Taken::Room {
                        record: Box::new(record),
                        scene,
                    });
                }
                Err(error) => {
                    let moved_to =
                        file.with_extension(format!("{EXTENSION}.bad-{}", super::now_ms() / 1000));
                    fs::rename(&file, &moved_to).map_err(io)?;
                    taken.push(Taken::Bad {
                        file,
                        moved_to,
                        error,
                    });
                }
            }
        }
        Ok(taken)
    }
}

/// A file name for room `name`: its letters and digits (for the operator's eye) and a
/// hash of the whole name (so that names differing only in other characters differ).
/// Never starts with `-`, which a shell command given the file would take for an option.
fn file_name(name: &str) -> String {
    let readable: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .skip_while(|c| *c == '-')
        .take(40)
        .collect();
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    if readable.is_empty() {
        format!("{hash:016x}.{EXTENSION}")
    } else {
        format!("{readable}-{hash:016x}.{EXTENSION}")
    }
}
