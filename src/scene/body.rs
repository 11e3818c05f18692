//! A dynamic body's shape (`balls[].shape`): a ball, cuboid, capsule or cylinder typed into
//! the scene file, or the convex hull of a mesh of a model under `--assets`, built once per
//! scene like the models' colliders and shared by its rooms.
//!
//! Whatever the shape, the wire format is the same (ids, poses, velocities), and the ball's
//! `radius` is the shape's bounding radius (the farthest point of the shape from its
//! origin), which the referee measures reach and contact points with.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rapier3d::prelude::SharedShape;
use serde::{Deserialize, Serialize};

use super::Ball;
use super::model::{self, GltfFile, MAX_TRIANGLES, ModelError, ModelProblem, ServedFile};
use crate::ids::{BallId, all_finite};

/// A dynamic body's collider, in the body's frame (its origin is the body's position).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum BodyShape {
    Ball {
        radius: f32,
    },
    Cuboid {
        half_extents: [f32; 3],
    },
    /// Along the body's y axis.
    Capsule {
        half_height: f32,
        radius: f32,
    },
    /// Along the body's y axis.
    Cylinder {
        half_height: f32,
        radius: f32,
    },
    /// The convex hull of the mesh of the node named `node` in the model `file` (relative
    /// to `--assets`), in the node's own frame.
    ConvexHull {
        file: String,
        node: String,
        /// Where clients fetch the file: set by the server when it builds the hull.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
}

impl BodyShape {
    /// The farthest any point of the shape is from its origin; `None` for a hull (known
    /// once it is built).
    pub fn bounding_radius(&self) -> Option<f32> {
        match *self {
            BodyShape::Ball { radius } => Some(radius),
            BodyShape::Cuboid { half_extents } => {
                Some(half_extents.iter().map(|h| h * h).sum::<f32>().sqrt())
            }
            BodyShape::Capsule {
                half_height,
                radius,
            } => Some(half_height + radius),
            BodyShape::Cylinder {
                half_height,
                radius,
            } => Some(half_height.hypot(radius)),
            BodyShape::ConvexHull { .. } => None,
        }
    }

    /// Why the shape cannot be built, if it cannot. `what` names the ball.
    pub fn problem(&self, what: &str) -> Option<String> {
        let positive = |name: &str, xs: &[f32]| {
            (!(all_finite(xs) && xs.iter().all(|x| *x > 0.0)))
                .then(|| format!("{what} shape.{name} must be positive numbers"))
        };
        match self {
            BodyShape::Ball { radius } => positive("radius", &[*radius]),
            BodyShape::Cuboid { half_extents } => positive("half_extents", half_extents),
            BodyShape::Capsule {
                half_height,
                radius,
            }
            | BodyShape::Cylinder {
                half_height,
                radius,
            } => positive("half_height and radius", &[*half_height, *radius]),
            BodyShape::ConvexHull { file, node, .. } => (file.is_empty() || node.is_empty())
                .then(|| format!("{what} shape needs a file and a node")),
        }
    }
}

/// Every ball's shape filled in (a ball of its `radius` when it gives none) and its
/// `radius` made the shape's bounding radius (a hull's is set when the hull is built).
pub fn fill(balls: &mut [Ball]) {
    for b in balls {
        match &b.shape {
            None => b.shape = Some(BodyShape::Ball { radius: b.radius }),
            Some(shape) => {
                if let Some(r) = shape.bounding_radius() {
                    b.radius = r;
                }
            }
        }
    }
}

/// Whether any ball is a convex hull of a model's mesh.
pub fn has_hulls(balls: &[Ball]) -> bool {
    balls
        .iter()
        .any(|b| matches!(b.shape, Some(BodyShape::ConvexHull { .. })))
}

/// Built hulls by ball id, the files clients fetch for them, and the scene's triangles.
type Hulls = (BTreeMap<BallId, SharedShape>, Vec<ServedFile>, usize);

/// The hulls that `balls` name, built from their models under `dir`: each ball's `radius`
/// and its shape's `url` set, the files clients fetch, and the triangles read.
/// `triangles` is how many the scene's models hold already.
pub fn load_hulls(
    dir: &Path,
    balls: &mut [Ball],
    mut triangles: usize,
) -> Result<Hulls, ModelError> {
    let mut files: HashMap<String, GltfFile> = HashMap::new();
    let mut hulls = BTreeMap::new();
    let mut served = Vec::new();
    for b in balls {
        let Some(BodyShape::ConvexHull { file, node, url }) = &mut b.shape else {
            continue;
        };
        let fail = |problem| ModelError {
            file: file.clone(),
            problem,
        };
        if !files.contains_key(file.as_str()) {
            let gltf = model::read_gltf(dir, file).map_err(fail)?;
            served.extend(gltf.served.iter().cloned());
            files.insert(file.clone(), gltf);
        }
        let gltf = &files[file.as_str()];
        let (points, read) = gltf.model().node_points(node).map_err(fail)?;
        triangles += read;
        if triangles > MAX_TRIANGLES {
            return Err(fail(ModelProblem::TooManyTriangles { cap: MAX_TRIANGLES }));
        }
        let hull = SharedShape::convex_hull(&points).ok_or_else(|| {
            fail(ModelProblem::Geometry {
                node: node.clone(),
                what: "no convex hull for a body (its points are flat or coincide)".into(),
            })
        })?;
        b.radius = points.iter().map(|p| p.length()).fold(0.0, f32::max);
        *url = gltf.served.first().map(|f| f.url.clone());
        hulls.insert(b.id, hull);
    }
    Ok((hulls, served, triangles))
}
