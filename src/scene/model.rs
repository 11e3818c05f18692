//! A scene's models: the `models` entries of a scene file, and the colliders and served
//! files built from them once per scene (every room of the scene shares them: a rapier
//! `SharedShape` is an `Arc`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rapier3d::glamx::{Mat4, Quat, Vec3};
use rapier3d::prelude::SharedShape;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::gltf_nodes::{Model, NodeKind, NodeMesh};
use super::model_problem::MAX_COORDINATE;
pub use super::model_problem::{MAX_TRIANGLES, ModelProblem};
use crate::ids::{BallId, all_finite};

/// Largest model file (with its buffers) read.
pub const MAX_MODEL_BYTES: u64 = 32 * 1024 * 1024;
/// Largest scale factor of a placement.
const MAX_SCALE: f32 = 1_000.0;
/// Where clients fetch the files of `--assets DIR`.
pub const URL_PREFIX: &str = "/assets/";

/// One model of a scene file: `file` is relative to the `--assets` directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    pub file: String,
    #[serde(default)]
    pub position: [f32; 3],
    /// `[x, y, z, w]`.
    #[serde(default = "super::identity")]
    pub rotation: [f32; 4],
    #[serde(default = "unit_scale")]
    pub scale: [f32; 3],
    /// Of its colliders; the scene's static default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friction: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restitution: Option<f32>,
    /// Where clients fetch the file: set by the server when it loads the model (whatever
    /// a scene file says here is replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The corners `[min, max]` of the box around the model's colliders in the scene's
    /// frame: set by the server when it loads the model (a saved room's scene carries it,
    /// so that the binary snapshots' bounds never depend on reading the model again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<[[f32; 3]; 2]>,
    /// The names of the model's sensors, in the order they were built: set by the server
    /// when it loads the model (a saved room's scene carries them, so its sensors keep
    /// their names when the room is restored without reading the model again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensors: Vec<String>,
}

fn unit_scale() -> [f32; 3] {
    [1.0; 3]
}

impl ModelRef {
    /// The placement as a matrix, if it is a usable one.
    fn placement(&self) -> Result<Mat4, ModelProblem> {
        let bad = |what: &str| Err(ModelProblem::Placement(what.to_owned()));
        if !all_finite(&self.position) || !all_finite(&self.rotation) || !all_finite(&self.scale) {
            return bad("a non-finite number");
        }
        if self.position.iter().any(|x| x.abs() > MAX_COORDINATE) {
            return bad("a position beyond the scene's bounds");
        }
        if self.scale.iter().any(|s| !(*s > 0.0 && *s <= MAX_SCALE)) {
            return bad("a scale outside (0, 1000]");
        }
        let rotation = Quat::from_array(self.rotation);
        if rotation.length_squared() < 1e-6 {
            return bad("a rotation of zero length");
        }
        Ok(Mat4::from_scale_rotation_translation(
            Vec3::from_array(self.scale),
            rotation.normalize(),
            Vec3::from_array(self.position),
        ))
    }
}

/// A model that cannot be used, and which.
#[derive(Debug, thiserror::Error)]
#[error("model `{file}`: {problem}")]
pub struct ModelError {
    pub file: String,
    pub problem: ModelProblem,
}

/// A collider built from a model node, in the scene's frame (identity pose).
#[derive(Clone)]
pub struct ModelCollider {
    /// The node's name without its suffix.
    pub name: String,
    pub shape: SharedShape,
    pub sensor: bool,
    pub friction: f32,
    pub restitution: f32,
}

/// A file clients may fetch under [`URL_PREFIX`].
#[derive(Clone, Debug)]
pub struct ServedFile {
    pub url: String,
    pub bytes: bytes::Bytes,
    /// Quoted, from the contents' SHA-256.
    pub etag: String,
    pub content_type: &'static str,
}

/// What a scene's models became: built once when the scene is loaded, shared by its rooms.
#[derive(Clone, Default)]
pub struct Geometry {
    pub colliders: Arc<[ModelCollider]>,
    /// The convex hulls of the bodies whose `shape` is one, by ball id.
    pub hulls: Arc<BTreeMap<BallId, SharedShape>>,
    pub files: Arc<[ServedFile]>,
    /// Collider triangles in all.
    pub triangles: usize,
    /// Whether the models were read (a scene carried by a saved room has its colliders in
    /// the saved world instead).
    pub loaded: bool,
}

impl Geometry {
    /// The names of the sensors the models hold.
    pub fn sensor_names(&self) -> impl Iterator<Item = &str> {
        self.colliders
            .iter()
            .filter(|c| c.sensor)
            .map(|c| c.name.as_str())
    }
}

impl PartialEq for Geometry {
    /// The same build (a scene's geometry is only ever cloned, never rebuilt in place).
    fn eq(&self, other: &Geometry) -> bool {
        Arc::ptr_eq(&self.colliders, &other.colliders)
            || (self.colliders.is_empty() && other.colliders.is_empty())
    }
}

impl fmt::Debug for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Geometry")
            .field("colliders", &self.colliders.len())
            .field("hulls", &self.hulls.len())
            .field("triangles", &self.triangles)
            .field("files", &self.files.len())
            .finish()
    }
}

/// Read and build every model of `models` from `dir`, filling in each one's URL.
/// `friction` and `restitution` are the scene's static defaults.
pub fn load(
    dir: &Path,
    models: &mut [ModelRef],
    friction: f32,
    restitution: f32,
) -> Result<Geometry, ModelError> {
    let mut colliders = Vec::new();
    let mut files = Vec::new();
    let mut triangles = 0;
    for model in models.iter_mut() {
        let fail = |problem| ModelError {
            file: model.file.clone(),
            problem,
        };
        let placement = model.placement().map_err(fail)?;
        let gltf = read_gltf(dir, &model.file).map_err(fail)?;
        let meshes = gltf
            .model()
            .marked_nodes(placement, MAX_TRIANGLES - triangles)
            .map_err(fail)?;
        model.bounds = bounds(meshes.iter().flat_map(|m| &m.vertices));
        model.sensors.clear();
        for mesh in meshes {
            triangles += mesh.indices.len();
            let collider = build(mesh, model, friction, restitution).map_err(fail)?;
            if collider.sensor {
                model.sensors.push(collider.name.clone());
            }
            colliders.push(collider);
        }
        model.url = gltf.served.first().map(|f| f.url.clone());
        files.extend(gltf.served);
    }
    Ok(Geometry {
        colliders: colliders.into(),
        hulls: Arc::default(),
        files: files.into(),
        triangles,
        loaded: true,
    })
}

fn build(
    mesh: NodeMesh,
    model: &ModelRef,
    friction: f32,
    restitution: f32,
) -> Result<ModelCollider, ModelProblem> {
    let shape = match mesh.kind {
        NodeKind::TriMesh => SharedShape::trimesh(mesh.vertices, mesh.indices).map_err(|e| {
            ModelProblem::Geometry {
                node: mesh.name.clone(),
                what: format!("not a usable triangle mesh: {e:?}"),
            }
        })?,
        NodeKind::Convex | NodeKind::Sensor => SharedShape::convex_hull(&mesh.vertices)
            .ok_or_else(|| ModelProblem::Geometry {
                node: mesh.name.clone(),
                what: "no convex hull (its points are flat or coincide)".into(),
            })?,
    };
    Ok(ModelCollider {
        name: mesh.name,
        shape,
        sensor: mesh.kind == NodeKind::Sensor,
        friction: model.friction.unwrap_or(friction),
        restitution: model.restitution.unwrap_or(restitution),
    })
}

/// The box around `points`, if there are any.
fn bounds<'a>(points: impl Iterator<Item = &'a Vec3>) -> Option<[[f32; 3]; 2]> {
    points
        .fold(None, |b: Option<(Vec3, Vec3)>, &p| match b {
            None => Some((p, p)),
            Some((lo, hi)) => Some((lo.min(p), hi.max(p))),
        })
        .map(|(lo, hi)| [lo.to_array(), hi.to_array()])
}

/// A model file read and parsed, with its buffers, and the files clients fetch (the model
/// first, then any external buffers of a `.gltf`).
pub(super) struct GltfFile {
    document: gltf::Document,
    buffers: Vec<Vec<u8>>,
    pub served: Vec<ServedFile>,
}

impl GltfFile {
    pub(super) fn model(&self) -> Model<'_> {
        Model {
            document: &self.document,
            buffers: &self.buffers,
        }
    }
}

/// Read and parse the model file `file` under `dir`, within the size cap.
pub(super) fn read_gltf(dir: &Path, file: &str) -> Result<GltfFile, ModelProblem> {
    let content_type = match Path::new(file).extension().and_then(|e| e.to_str()) {
        Some("glb") => "model/gltf-binary",
        Some("gltf") => "model/gltf+json",
        _ => return Err(ModelProblem::NotGltf),
    };
    let mut total = 0u64;
    let bytes = read_capped(dir, file, &mut total)?;
    let gltf =
        gltf::Gltf::from_slice(&bytes).map_err(|e| ModelProblem::Malformed(e.to_string()))?;
    let mut served = vec![served_file(file, bytes.clone(), content_type)];
    let mut buffers = Vec::new();
    for buffer in gltf.document.buffers() {
        let data = match buffer.source() {
            gltf::buffer::Source::Bin => gltf.blob.clone().ok_or_else(|| {
                ModelProblem::Malformed("a GLB buffer without a binary chunk".into())
            })?,
            gltf::buffer::Source::Uri(uri) => match uri.strip_prefix("data:") {
                Some(data) => decode_data_uri(data)?,
                None => {
                    let path = sibling(file, uri);
                    let data = read_capped(dir, &path, &mut total)?;
                    served.push(served_file(&path, data.clone(), "application/octet-stream"));
                    data.to_vec()
                }
            },
        };
        if data.len() < buffer.length() {
            return Err(ModelProblem::Malformed(format!(
                "buffer {} holds {} bytes but declares {}",
                buffer.index(),
                data.len(),
                buffer.length()
            )));
        }
        buffers.push(data);
    }
    Ok(GltfFile {
        document: gltf.document,
        buffers,
        served,
    })
}

/// `uri` (relative to the model) as a path relative to the assets directory.
fn sibling(file: &str, uri: &str) -> String {
    match file.rsplit_once('/') {
        Some((parent, _)) => format!("{parent}/{uri}"),
        None => uri.to_owned(),
    }
}

fn decode_data_uri(data: &str) -> Result<Vec<u8>, ModelProblem> {
    let Some((_, payload)) = data.split_once(";base64,") else {
        return Err(ModelProblem::Malformed(
            "a data URI that is not base64".into(),
        ));
    };
    if payload.len() as u64 > MAX_MODEL_BYTES * 4 / 3 {
        return Err(ModelProblem::TooLarge {
            size: payload.len() as u64 * 3 / 4,
            cap: MAX_MODEL_BYTES,
        });
    }
    base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|e| ModelProblem::Malformed(format!("a data URI: {e}")))
}

/// The file `relative` under `dir`, if it stays there and `total` stays under the cap.
fn read_capped(dir: &Path, relative: &str, total: &mut u64) -> Result<bytes::Bytes, ModelProblem> {
    let path = inside(dir, relative)?;
    let size = std::fs::metadata(&path)?.len();
    *total += size;
    if *total > MAX_MODEL_BYTES {
        return Err(ModelProblem::TooLarge {
            size: *total,
            cap: MAX_MODEL_BYTES,
        });
    }
    let bytes = std::fs::read(&path)?;
    if bytes.len() as u64 != size {
        return Err(ModelProblem::Malformed(
            "the file changed while it was read".into(),
        ));
    }
    Ok(bytes.into())
}

/// `relative` under `dir`: only plain names, and no symbolic link that leads out.
pub fn inside(dir: &Path, relative: &str) -> Result<PathBuf, ModelProblem> {
    let rel = Path::new(relative);
    let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
    if relative.is_empty() || !plain || relative.contains('\\') {
        return Err(ModelProblem::OutsideAssets);
    }
    let root = dir.canonicalize()?;
    let path = root.join(rel).canonicalize()?;
    if !path.starts_with(&root) {
        return Err(ModelProblem::OutsideAssets);
    }
    Ok(path)
}

fn served_file(relative: &str, bytes: bytes::Bytes, content_type: &'static str) -> ServedFile {
    let digest = Sha256::digest(&bytes);
    let etag = format!(
        "\"{}\"",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    ServedFile {
        url: format!("{URL_PREFIX}{relative}"),
        bytes,
        etag,
        content_type,
    }
}
