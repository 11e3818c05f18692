//! A minimal glTF 2.0 binary (`.glb`) writer for the tests: named nodes, each with an
//! optional mesh (positions and indices) and a translation, and a parent-child tree.

use serde_json::{Value, json};

pub struct Node {
    pub name: String,
    pub mesh: Option<(Vec<[f32; 3]>, Vec<u32>)>,
    pub translation: [f32; 3],
    pub children: Vec<usize>,
}

impl Node {
    pub fn mesh(name: &str, mesh: (Vec<[f32; 3]>, Vec<u32>)) -> Node {
        Node {
            name: name.to_owned(),
            mesh: Some(mesh),
            translation: [0.0; 3],
            children: Vec::new(),
        }
    }

    pub fn group(name: &str, translation: [f32; 3], children: Vec<usize>) -> Node {
        Node {
            name: name.to_owned(),
            mesh: None,
            translation,
            children,
        }
    }
}

/// The box from `lo` to `hi`: 8 vertices, 12 triangles.
pub fn cuboid(lo: [f32; 3], hi: [f32; 3]) -> (Vec<[f32; 3]>, Vec<u32>) {
    let p = |i: u32| {
        [
            if i & 1 == 0 { lo[0] } else { hi[0] },
            if i & 2 == 0 { lo[1] } else { hi[1] },
            if i & 4 == 0 { lo[2] } else { hi[2] },
        ]
    };
    let faces: [[u32; 4]; 6] = [
        [0, 2, 3, 1],
        [4, 5, 7, 6],
        [0, 1, 5, 4],
        [2, 6, 7, 3],
        [0, 4, 6, 2],
        [1, 3, 7, 5],
    ];
    let indices = faces
        .iter()
        .flat_map(|[a, b, c, d]| [*a, *b, *c, *a, *c, *d])
        .collect();
    ((0..8).map(p).collect(), indices)
}

/// The model: `roots` are the scene's root nodes.
pub fn glb(nodes: &[Node], roots: &[usize]) -> Vec<u8> {
    let mut blob = Vec::new();
    let (mut views, mut accessors, mut meshes, mut out_nodes) = (vec![], vec![], vec![], vec![]);
    for node in nodes {
        let mut n = json!({"name": node.name, "translation": node.translation});
        if !node.children.is_empty() {
            n["children"] = json!(node.children);
        }
        if let Some((positions, indices)) = &node.mesh {
            let pos_view = views.len();
            views.push(json!({"buffer":0,"byteOffset":blob.len(),"byteLength":positions.len()*12}));
            for p in positions {
                for c in p {
                    blob.extend_from_slice(&c.to_le_bytes());
                }
            }
            let idx_view = views.len();
            views.push(json!({"buffer":0,"byteOffset":blob.len(),"byteLength":indices.len()*4}));
            for i in indices {
                blob.extend_from_slice(&i.to_le_bytes());
            }
            let (min, max) = bounds(positions);
            accessors.push(json!({"bufferView":pos_view,"componentType":5126,"count":positions.len(),"type":"VEC3","min":min,"max":max}));
            accessors.push(json!({"bufferView":idx_view,"componentType":5125,"count":indices.len(),"type":"SCALAR"}));
            meshes.push(json!({"name": node.name, "primitives":[{"attributes":{"POSITION":accessors.len()-2},"indices":accessors.len()-1}]}));
            n["mesh"] = json!(meshes.len() - 1);
        }
        out_nodes.push(n);
    }
    let doc = json!({
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": roots}],
        "nodes": out_nodes,
        "meshes": meshes,
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": blob.len()}],
    });
    pack(&doc, &blob)
}

/// `doc` and `blob` as a GLB container.
pub fn pack(doc: &Value, blob: &[u8]) -> Vec<u8> {
    let mut text = doc.to_string().into_bytes();
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    let mut bin = blob.to_vec();
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let total = 12 + 8 + text.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    out
}

fn bounds(positions: &[[f32; 3]]) -> ([f32; 3], [f32; 3]) {
    let mut min = [f32::MAX; 3];
    let mut max = [f32::MIN; 3];
    for p in positions {
        for i in 0..3 {
            min[i] = min[i].min(p[i]);
            max[i] = max[i].max(p[i]);
        }
    }
    (min, max)
}
