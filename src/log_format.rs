//! How the binary's log writes field values: every control character escaped.
//!
//! Values that come from clients (a room name is a percent-decoded URL path, an `Origin`,
//! a relayed frame's error) reach the log through `%` fields and messages, which the
//! default formatter writes raw: a `%0A` in a room name would end the line and start a
//! forged one, a `%1B` would send escape sequences to the operator's terminal.
//! [`write_field`] writes each field as the default formatter does (`name=value`; the
//! message bare), with C0 and C1 controls, DEL, and the Unicode line separators and
//! bidirectional overrides written as escapes (`\n`, `\r`, `\t`, `\x1b`, `\u{202e}`).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use tracing::field::Field;
use tracing_subscriber::fmt::format::Writer;

/// One field of an event or span, its value escaped (for
/// `tracing_subscriber::fmt::format::debug_fn`).
pub fn write_field(w: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
    let text = format!("{value:?}");
    let text = escape_controls(&text);
    match field.name() {
        "message" => w.write_str(&text),
        name => write!(w, "{}={text}", name.strip_prefix("r#").unwrap_or(name)),
    }
}

/// `s` with every character that could break a log line or drive a terminal escaped.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_the_rest_is_kept() {
        assert_eq!(escape_controls("/lobby-ñ"), "/lobby-ñ");
        assert!(matches!(escape_controls("/plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("/x\n2026 ERROR forged"),
            "/x\\n2026 ERROR forged"
        );
        assert_eq!(
            escape_controls("\u{1b}[31m\r\t\u{7f}"),
            "\\x1b[31m\\r\\t\\x7f"
        );
        assert_eq!(escape_controls("\u{85}\u{202e}"), "\\x85\\u{202e}");
    }
}
