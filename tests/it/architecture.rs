//! ARCHITECTURE.md stays true: every name it quotes in backticks exists. That covers the
//! files and folders it maps, the Rust and TypeScript types (with their methods or
//! variants after `::`), the constants, and the command-line flags. A rename that leaves
//! the document behind fails here and names the stale quote.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Names ARCHITECTURE.md quotes that come from other crates or from the platform, not
/// from this repository.
const FOREIGN: &[&str] = &[
    "Arc",
    "ArrayBuffer",
    "CancellationToken",
    "Debug",
    "ETag",
    "GET",
    "GLTFLoader",
    "Mutex",
    "Notify",
    "PhysicsWorld",
    "Quat",
    "ResolvesServerCert",
    "SO_REUSEADDR",
    "SO_SNDBUF",
    "TaskTracker",
    "VecDeque",
    "WebSocket",
];

/// Folders whose files a quoted path may name.
const TREES: &[&str] = &[
    "src/",
    "tests/",
    "clients/",
    "viewer/",
    "docs/",
    "scripts/",
    "benches/",
    "bench/",
    "deploy/",
    "assets/",
    "examples/",
    ".ci/",
];

#[test]
fn every_name_architecture_md_quotes_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let code = code_text(root);
    let mut stale = BTreeSet::new();
    for quote in quotes(&doc) {
        if let Err(why) = check(root, &code, quote) {
            stale.insert(format!("`{quote}`: {why}"));
        }
    }
    assert!(
        stale.is_empty(),
        "ARCHITECTURE.md quotes names that do not exist:\n{}",
        stale.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// Every inline code span of `doc`.
fn quotes(doc: &str) -> Vec<&str> {
    doc.split("```")
        .step_by(2) // outside fenced blocks
        .flat_map(|text| text.split('`').skip(1).step_by(2))
        .collect()
}

fn check(root: &Path, code: &str, quote: &str) -> Result<(), String> {
    if root.join(quote).is_file() {
        return Ok(()); // `Dockerfile`, `Cargo.toml`
    }
    if TREES.iter().any(|t| quote.starts_with(t)) {
        return check_path(root, quote);
    }
    if let Some(flag) = quote.strip_prefix("--") {
        let name = flag.split([' ', '=']).next().unwrap_or(flag);
        return check_flag(code, name);
    }
    if is_type_path(quote) {
        return check_type_path(code, quote);
    }
    Ok(()) // prose, values, headers, commands: not names of this repository
}

fn check_path(root: &Path, quote: &str) -> Result<(), String> {
    // `src/room/`, `src/server/accept.rs`, `tests/it/nginx/` ... but not globs or
    // placeholders such as `DIR/scenes/*.json` or `<room>.json`.
    let path = quote.split([' ', ':']).next().unwrap_or(quote);
    if path.contains(['*', '<', '{']) {
        return Ok(());
    }
    if root.join(path).exists() {
        Ok(())
    } else {
        Err("no such file or folder".into())
    }
}

fn check_flag(code: &str, name: &str) -> Result<(), String> {
    let field = name.replace('-', "_");
    let spelled = format!("\"{name}\"");
    if code.contains(&format!("{field}:")) || code.contains(&spelled) {
        Ok(())
    } else {
        Err("no such flag (no field or long name in the code)".into())
    }
}

/// `Room`, `Room::skip`, `RoomRequest::Command`, `PENDING_SNAPSHOTS`: a type or constant,
/// then members.
fn is_type_path(quote: &str) -> bool {
    let mut parts = quote.split("::");
    let head = parts.next().unwrap_or("");
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    head.starts_with(|c: char| c.is_ascii_uppercase()) && ident(head) && parts.all(ident)
}

fn check_type_path(code: &str, quote: &str) -> Result<(), String> {
    let mut parts = quote.split("::");
    let head = parts.next().unwrap_or_default();
    if FOREIGN.contains(&head) {
        return Ok(());
    }
    let defines = [
        "struct",
        "enum",
        "trait",
        "type",
        "const",
        "static",
        "class",
        "interface",
        "mod",
    ]
    .iter()
    .any(|kw| has_word(code, &format!("{kw} {head}")));
    // An enum variant quoted on its own (`Handover`, `ResetBalls`) is used as `Enum::Variant`.
    let variant = code.match_indices(&format!("::{head}")).any(|(at, m)| {
        !code[at + m.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    });
    if !defines && !variant {
        return Err(format!("no type, constant or variant `{head}` is defined"));
    }
    for member in parts {
        if !has_word(code, member) {
            return Err(format!("nothing named `{member}` in the code"));
        }
    }
    Ok(())
}

/// Whether `text` holds `word` not followed by another identifier character.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// The Rust and TypeScript sources, concatenated.
fn code_text(root: &Path) -> String {
    let mut files = Vec::new();
    for dir in ["src", "benches", "tests", "clients/ts/src", "viewer/src"] {
        collect(&root.join(dir), &mut files);
    }
    files
        .iter()
        .filter_map(|f| fs::read_to_string(f).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "ts") {
            out.push(path);
        }
    }
}
