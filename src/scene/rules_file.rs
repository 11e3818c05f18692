//! A scene's rules file (`"rules": "rules/NAME.js"`): where its text comes from, and the
//! check that it loads. The built-in rules (`assets/rules/*.js`) are embedded; a scene of
//! `--assets DIR` reads `DIR/rules/NAME.js`, or a built-in of that name when the directory
//! has none. A file that is missing or does not load refuses the scene, with the file and
//! the reason, as a bad model does.

use std::path::Path;
use std::sync::Arc;

use super::{Scene, SceneError};
use crate::rules::{Rules, RulesLimits};

/// Built-in rules: (path as a scene names it, text).
const BUILTIN: &[(&str, &str)] = &[
    (
        "rules/football.js",
        include_str!("../../assets/rules/football.js"),
    ),
    (
        "rules/keepy-uppy.js",
        include_str!("../../assets/rules/keepy-uppy.js"),
    ),
];

/// Read the text of `scene.rules`, if it names any, from `dir` (a scene of `--assets`) or
/// the built-ins, and check that it loads.
pub(super) fn attach(scene: &mut Scene, dir: Option<&Path>) -> Result<(), SceneError> {
    let Some(path) = scene.rules.clone() else {
        return Ok(());
    };
    let refuse = |problem: String| SceneError::Invalid {
        name: scene.name.clone(),
        problem,
    };
    if !scene.has_physics() {
        // A room without balls is a relay, which every node of a cluster runs for its own
        // clients: its rules would run once per node, each with its own state.
        return Err(refuse(format!(
            "rules `{path}`: rules need a scene with balls (one without is a relay)"
        )));
    }
    if scene.rules_options.as_ref().is_some_and(|o| !o.is_object()) {
        return Err(refuse("`rules_options` must be a JSON object".to_owned()));
    }
    if !is_rules_path(&path) {
        return Err(refuse(format!(
            "rules `{path}`: name a file `rules/NAME.js` (NAME of letters, digits, `_` and `-`)"
        )));
    }
    let on_disk = dir.map(|d| d.join(&path)).filter(|p| p.is_file());
    let source: Arc<str> = match on_disk {
        Some(file) => std::fs::read_to_string(&file)
            .map_err(|e| refuse(format!("rules `{path}`: {e}")))?
            .into(),
        None => match BUILTIN.iter().find(|(p, _)| *p == path) {
            Some((_, text)) => (*text).into(),
            None => return Err(refuse(format!("rules `{path}`: no such file"))),
        },
    };
    Rules::load(&path, &source, 0, RulesLimits::default()).map_err(|e| refuse(e.to_string()))?;
    scene.rules_source = Some(source);
    Ok(())
}

/// `rules/NAME.js`, NAME of ASCII letters, digits, `_` and `-`: never outside `rules/`.
fn is_rules_path(path: &str) -> bool {
    path.strip_prefix("rules/")
        .and_then(|rest| rest.strip_suffix(".js"))
        .is_some_and(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_in_rules_are_named() {
        assert!(is_rules_path("rules/football.js"));
        assert!(is_rules_path("rules/keepy-uppy.js"));
        for bad in [
            "rules/../x.js",
            "/etc/x.js",
            "rules/x.ts",
            "rules/.js",
            "x.js",
        ] {
            assert!(!is_rules_path(bad), "{bad}");
        }
    }
}
