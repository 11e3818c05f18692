//! The nginx blocks these tests run are the ones docs/deploy.md tells users to write.

use super::proxy::{RECOMMENDED_BLOCK, TUTORIAL_BLOCK};

/// Whether `block`'s lines (trimmed) stand one after another in `doc`.
fn shows(doc: &str, block: &str) -> bool {
    let doc: Vec<&str> = doc.lines().map(str::trim).collect();
    let block: Vec<&str> = block.lines().map(str::trim).collect();
    doc.windows(block.len()).any(|w| w == block.as_slice())
}

#[test]
fn deploy_md_shows_the_blocks_the_tests_run() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy.md")).unwrap();
    assert!(
        shows(&doc, TUTORIAL_BLOCK),
        "the tutorial's block is not in deploy.md"
    );
    assert!(
        shows(&doc, RECOMMENDED_BLOCK),
        "the recommended block is not in deploy.md"
    );
}
