//! Property tests of the relay rule: however a server type is spelled into a frame's
//! top-level `type` (duplicate keys in any order, any character of key or value escaped,
//! whitespace, text only a lenient parser accepts), the frame is refused, never relayed;
//! and frames with no type of ours are still relayed.

use proptest::prelude::*;

use super::inbound::{DecodeError, Inbound, classify_text};
use super::{COMMAND_TYPES, SERVER_TYPES};

/// `s` as a JSON string literal, each character written plainly or as `\uXXXX` (upper or
/// lower case hex) as `escapes` says.
fn spell(s: &str, escapes: &[(bool, bool)]) -> String {
    let mut out = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        match escapes.get(i).copied().unwrap_or_default() {
            (true, upper) => {
                let hex = format!("{:04x}", u32::from(c));
                out.push_str("\\u");
                out.push_str(&if upper { hex.to_uppercase() } else { hex });
            }
            (false, _) => out.push(c),
        }
    }
    out.push('"');
    out
}

fn escapes() -> impl Strategy<Value = Vec<(bool, bool)>> {
    prop::collection::vec((any::<bool>(), any::<bool>()), 10)
}

/// A harmless top-level value for a decoy `type` or another key.
fn decoy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"x\"".to_owned()),
        Just("0".to_owned()),
        Just("null".to_owned()),
        Just("{\"type\":\"y\"}".to_owned()),
        Just("[\"snapshot\"]".to_owned()),
        "[a-z]{0,6}".prop_map(|s| format!("\"{s}\"")),
    ]
}

/// A tail some client parser accepts and serde_json does not, or none.
fn tail() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(",\"n\":NaN".to_owned()),
        Just(",\"n\":-Infinity".to_owned()),
        Just(",\"n\":1e400".to_owned()),
        Just(",\"s\":\"\\ud800\"".to_owned()),
        // Deeper than serde_json's recursion limit (128), not than JSON.parse's.
        Just(format!(",\"deep\":{}{}", "[".repeat(200), "]".repeat(200))),
    ]
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just(" "), Just("\n\t "), Just("\r\n")]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_server_type_in_any_spelling_is_never_relayed(
        ty in prop::sample::select(SERVER_TYPES),
        key_escapes in escapes(),
        value_escapes in escapes(),
        before in prop::collection::vec((any::<bool>(), decoy()), 0..3),
        after in prop::collection::vec((any::<bool>(), decoy()), 0..3),
        tail in tail(),
        space in ws(),
    ) {
        let field = |(is_type, value): &(bool, String)| {
            let key = if *is_type { "\"type\"" } else { "\"other\"" };
            format!("{key}{space}:{space}{value}")
        };
        let mut fields: Vec<String> = before.iter().map(field).collect();
        fields.push(format!(
            "{}{space}:{space}{}",
            spell("type", &key_escapes),
            spell(ty, &value_escapes)
        ));
        fields.extend(after.iter().map(field));
        let text = format!("{space}{{{space}{}{tail}{space}}}", fields.join(","));
        let single = before.iter().chain(&after).all(|(t, _)| !t) && tail.is_empty();
        match classify_text(&text) {
            Inbound::Reject(DecodeError::ReservedType(_)) => {}
            // `kick` and `player` are commands too: alone, a malformed command.
            Inbound::Reject(DecodeError::BadCommand { .. } | DecodeError::BadJson { .. })
                if COMMAND_TYPES.contains(&ty) => {}
            Inbound::Command(_) if single && COMMAND_TYPES.contains(&ty) => {}
            other => prop_assert!(false, "{text} gave {other:?}"),
        }
    }

    #[test]
    fn frames_without_our_types_are_relayed(
        values in prop::collection::vec(decoy(), 0..4),
        type_first in any::<bool>(),
        nested in prop::sample::select(SERVER_TYPES),
        space in ws(),
    ) {
        let mut fields: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let key = if type_first && i == 0 { "type".to_owned() } else { format!("k{i}") };
                format!("\"{key}\"{space}:{space}{v}")
            })
            .collect();
        // Scenes' own envelopes may carry our names below the top level.
        fields.push(format!("\"data\":{{\"type\":\"{nested}\"}}"));
        let text = format!("{{{}}}", fields.join(","));
        let ours = |v: &String| {
            COMMAND_TYPES.iter().chain(SERVER_TYPES).any(|t| *v == format!("\"{t}\""))
        };
        prop_assume!(!(type_first && values.first().is_some_and(ours)));
        prop_assert!(matches!(classify_text(&text), Inbound::Relay), "{text}");
    }
}

#[test]
fn the_issue_spellings_are_refused() {
    for text in [
        r#"{"type":"x","type":"match","score":{"blue":0,"red":9}}"#,
        r#"{"\u0074ype":"snapshot","tick":1,"balls":[]}"#,
        r#"{"type":"x","type":"welcome","n":NaN}"#,
        r#"{"type":"x","\u0074ype":"result","n":1e400}"#,
        r#"{"type":0,"type":"error","code":"x"}"#,
    ] {
        assert!(
            matches!(
                classify_text(text),
                Inbound::Reject(DecodeError::ReservedType(_))
            ),
            "{text}"
        );
    }
}
