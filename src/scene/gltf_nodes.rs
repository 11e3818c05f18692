//! Reading a glTF 2.0 model's marked nodes as triangles in the scene's frame.
//!
//! A node whose name ends in `_collider` is a static triangle mesh, `_collider_convex` a
//! static convex hull, `_sensor` a sensor (the convex hull of its mesh, so that a body
//! inside it counts, not only one crossing its surface). Every other node is only drawn
//! by clients. Each vertex gets the node hierarchy's transforms and the model's placement,
//! so the colliders are built at the identity pose.
//!
//! Nothing here trusts the file: buffers shorter than they declare, indices past the
//! vertices, non-triangle primitives, non-finite or absurd coordinates, degenerate
//! triangles and cyclic or over-deep hierarchies are refused, never indexed.

use std::collections::HashSet;

use rapier3d::glamx::{Mat4, Vec3};

use super::model_problem::{MAX_COORDINATE, MAX_TRIANGLES, ModelProblem};

/// Deepest node hierarchy followed.
const MAX_DEPTH: usize = 64;
/// Twice the area (m²) below which a triangle counts as degenerate.
const MIN_DOUBLE_AREA: f32 = 1e-10;

/// What a marked node becomes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    TriMesh,
    Convex,
    Sensor,
}

impl NodeKind {
    /// The kind a node's name marks, and the name without its suffix.
    pub fn of(name: &str) -> Option<(NodeKind, &str)> {
        for (suffix, kind) in [
            ("_collider_convex", NodeKind::Convex),
            ("_collider", NodeKind::TriMesh),
            ("_sensor", NodeKind::Sensor),
        ] {
            if let Some(stem) = name.strip_suffix(suffix) {
                return Some((kind, stem));
            }
        }
        None
    }
}

/// One marked node's mesh, in the scene's frame.
#[derive(Debug)]
pub struct NodeMesh {
    /// The node's name without its suffix (a sensor's name, as `match.goals` uses it).
    pub name: String,
    pub kind: NodeKind,
    pub vertices: Vec<Vec3>,
    pub indices: Vec<[u32; 3]>,
}

/// A parsed model and its buffers' bytes (`buffers[i]` is buffer `i`, at least as long
/// as it declares).
pub struct Model<'a> {
    pub document: &'a gltf::Document,
    pub buffers: &'a [Vec<u8>],
}

impl Model<'_> {
    /// Every marked node of the default scene (or of all scenes when none is default),
    /// with `placement` applied after the hierarchy's transforms. `budget` is how many
    /// triangles the scene may still add.
    pub fn marked_nodes(
        &self,
        placement: Mat4,
        budget: usize,
    ) -> Result<Vec<NodeMesh>, ModelProblem> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut triangles = 0usize;
        let roots: Vec<gltf::Node> = match self.document.default_scene() {
            Some(scene) => scene.nodes().collect(),
            None => self.document.scenes().flat_map(|s| s.nodes()).collect(),
        };
        let mut stack: Vec<(gltf::Node, Mat4, usize)> =
            roots.into_iter().map(|n| (n, placement, 0)).collect();
        while let Some((node, parent, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(ModelProblem::Malformed(format!(
                    "node hierarchy deeper than {MAX_DEPTH}"
                )));
            }
            if !seen.insert(node.index()) {
                return Err(ModelProblem::Malformed(format!(
                    "node {} is reached twice (a cycle or a shared child)",
                    node.index()
                )));
            }
            let local = Mat4::from_cols_array_2d(&node.transform().matrix());
            let world = parent * local;
            if !world.is_finite() {
                return Err(geometry(&node, "its transform is not finite".into()));
            }
            if let Some((kind, stem)) = node.name().and_then(NodeKind::of)
                && let Some(mesh) = node.mesh()
            {
                let (vertices, indices) = self.triangles(&node, &mesh, world)?;
                triangles += indices.len();
                if triangles > budget {
                    return Err(ModelProblem::TooManyTriangles { cap: MAX_TRIANGLES });
                }
                out.push(NodeMesh {
                    name: stem.to_owned(),
                    kind,
                    vertices,
                    indices,
                });
            }
            for child in node.children() {
                stack.push((child, world, depth + 1));
            }
        }
        Ok(out)
    }

    /// The vertices of the mesh of the node named `name` (exactly), in the node's own frame
    /// (its transforms and its parents' are not applied: its origin is the body's), and
    /// its triangle count.
    pub fn node_points(&self, name: &str) -> Result<(Vec<Vec3>, usize), ModelProblem> {
        let Some(node) = self.document.nodes().find(|n| n.name() == Some(name)) else {
            return Err(ModelProblem::Geometry {
                node: name.to_owned(),
                what: "no node of this name".into(),
            });
        };
        let Some(mesh) = node.mesh() else {
            return Err(geometry(&node, "no mesh".into()));
        };
        let (vertices, indices) = self.triangles(&node, &mesh, Mat4::IDENTITY)?;
        Ok((vertices, indices.len()))
    }

    /// A node's mesh as one vertex and index list, checked.
    fn triangles(
        &self,
        node: &gltf::Node,
        mesh: &gltf::Mesh,
        world: Mat4,
    ) -> Result<(Vec<Vec3>, Vec<[u32; 3]>), ModelProblem> {
        let mut vertices: Vec<Vec3> = Vec::new();
        let mut indices: Vec<[u32; 3]> = Vec::new();
        for primitive in mesh.primitives() {
            if primitive.mode() != gltf::mesh::Mode::Triangles {
                return Err(geometry(
                    node,
                    format!(
                        "primitive mode {:?}, only triangles make colliders",
                        primitive.mode()
                    ),
                ));
            }
            let reader = primitive.reader(|b| self.buffers.get(b.index()).map(Vec::as_slice));
            let Some(positions) = reader.read_positions() else {
                return Err(geometry(
                    node,
                    "positions missing or outside their buffer".into(),
                ));
            };
            let base = vertices.len();
            for p in positions {
                let v = world.transform_point3(Vec3::from_array(p));
                if !v.is_finite() {
                    return Err(geometry(node, "a non-finite coordinate".into()));
                }
                if v.abs().max_element() > MAX_COORDINATE {
                    return Err(geometry(
                        node,
                        format!("a coordinate beyond {MAX_COORDINATE} m ({v})"),
                    ));
                }
                vertices.push(v);
            }
            let count = vertices.len() - base;
            let local: Vec<u32> = match (primitive.indices(), reader.read_indices()) {
                (_, Some(read)) => read.into_u32().collect(),
                (None, None) => (0..count as u32).collect(),
                (Some(_), None) => {
                    return Err(geometry(node, "indices outside their buffer".into()));
                }
            };
            if !local.len().is_multiple_of(3) {
                return Err(geometry(node, "an index count not a multiple of 3".into()));
            }
            for tri in local.chunks_exact(3) {
                let mut t = [0u32; 3];
                for (k, &i) in tri.iter().enumerate() {
                    if i as usize >= count {
                        return Err(geometry(
                            node,
                            format!("index {i} past its {count} vertices"),
                        ));
                    }
                    t[k] = (base + i as usize) as u32;
                }
                let [a, b, c] = t.map(|i| vertices[i as usize]);
                if (b - a).cross(c - a).length() < MIN_DOUBLE_AREA {
                    return Err(geometry(
                        node,
                        format!("degenerate triangle {} (no area)", indices.len()),
                    ));
                }
                indices.push(t);
            }
        }
        if indices.is_empty() {
            return Err(geometry(node, "no triangles".into()));
        }
        Ok((vertices, indices))
    }
}

fn geometry(node: &gltf::Node, what: String) -> ModelProblem {
    ModelProblem::Geometry {
        node: node.name().unwrap_or("(unnamed)").to_owned(),
        what,
    }
}
