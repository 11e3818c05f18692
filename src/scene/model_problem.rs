//! What a model may be, and why one is refused: the caps both the reader of a model's
//! nodes (`gltf_nodes.rs`) and the scene's models (`model.rs`) check, and `ModelProblem`.

/// Most collider triangles in one scene (all its models together).
pub const MAX_TRIANGLES: usize = 500_000;
/// Farthest a collider vertex may be from the scene's origin (m).
pub const MAX_COORDINATE: f32 = 100_000.0;

/// Why a model cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelProblem {
    #[error("its path must stay inside the assets directory (relative, no `..`)")]
    OutsideAssets,
    #[error("only .glb and .gltf models are read")]
    NotGltf,
    #[error("cannot be read: {0}")]
    Io(#[from] std::io::Error),
    #[error("{size} bytes, over the cap of {cap} bytes")]
    TooLarge { size: u64, cap: u64 },
    #[error("malformed glTF: {0}")]
    Malformed(String),
    #[error("node `{node}`: {what}")]
    Geometry { node: String, what: String },
    #[error("the scene's colliders pass the cap of {cap} triangles")]
    TooManyTriangles { cap: usize },
    #[error("placement has {0}")]
    Placement(String),
}
