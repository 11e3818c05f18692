//! What every client parser could take a text frame's `type` to be: the one place that
//! decides whether a frame may be relayed (see `docs/PROTOCOL.md`, "Broadcast fallback").
//!
//! `JSON.parse` and Python's `json` keep the **last** of duplicate keys, and both unescape
//! key names, so `{"type":"x","type":"match"}` and `{"\u0074ype":"match"}` read as a
//! `match` to them. The scan therefore collects the value of **every** top-level key that
//! is `type` once unescaped (serde_json unescapes keys before the visitor sees them).
//!
//! Text that serde_json refuses may still parse elsewhere (Python accepts `NaN`; JS reads
//! `1e400` as `Infinity` and keeps lone surrogates; both nest deeper than serde_json's
//! 128 levels). Such text is read by [`lenient_types`], a tokenizer that accepts anything
//! shaped like `"key": "value"` anywhere in the text, so every `type` string value in it
//! counts, nested or not.
//!
//! Nested `type` keys of valid JSON are not collected: clients dispatch on the top-level
//! `type` only, and scenes' own envelopes (`{"type":0,"data":{"type":"player"}}`) keep
//! being relayed.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

/// The `type` values a frame may be read as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypeScan {
    /// The string values of every top-level `type` key, in order (duplicates included).
    pub names: Vec<String>,
    /// How many top-level `type` keys there were (string-valued or not).
    pub keys: usize,
    /// The text is not JSON serde_json accepts (`names` then comes from the lenient scan).
    pub malformed: Option<String>,
}

impl TypeScan {
    /// Whether any reading of the frame names one of `types`.
    pub fn names_any(&self, types: &[&str]) -> bool {
        self.names.iter().any(|n| types.contains(&n.as_str()))
    }

    /// The first name that is one of `types`.
    pub fn first_of(&self, types: &[&str]) -> Option<&str> {
        self.names
            .iter()
            .map(String::as_str)
            .find(|n| types.contains(n))
    }
}

/// Scan one text frame that starts with `{` (after whitespace).
pub fn scan(text: &str) -> TypeScan {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = TopLevel.deserialize(&mut de).and_then(|found| {
        de.end()?;
        Ok(found)
    });
    match parsed {
        Ok((names, keys)) => TypeScan {
            names,
            keys,
            malformed: None,
        },
        Err(e) => TypeScan {
            names: lenient_types(text),
            keys: 0,
            malformed: Some(e.to_string()),
        },
    }
}

/// The top-level value: for an object, its `type` values and `type` key count; anything
/// else has none.
struct TopLevel;

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = (Vec<String>, usize);

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel {
    type Value = (Vec<String>, usize);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut names, mut keys) = (Vec::new(), 0);
        while let Some(is_type) = map.next_key_seed(IsType)? {
            if is_type {
                keys += 1;
                if let Some(name) = map.next_value_seed(StringOrNone)? {
                    names.push(name);
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok((names, keys))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok((Vec::new(), 0))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok((Vec::new(), 0))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok((Vec::new(), 0))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok((Vec::new(), 0))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok((Vec::new(), 0))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok((Vec::new(), 0))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((Vec::new(), 0))
    }
}

/// A key: whether it is `type` (after unescaping).
struct IsType;

impl<'de> DeserializeSeed<'de> for IsType {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsType {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == "type")
    }
}

/// A `type` value: its string, or `None` for any other JSON value.
struct StringOrNone;

impl<'de> DeserializeSeed<'de> for StringOrNone {
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StringOrNone {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// In text serde_json refused: the value of every `"type": "…"` pair anywhere in it, key
/// and value unescaped as a lenient parser would (a lone surrogate becomes U+FFFD).
pub fn lenient_types(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    // The last string token, and whether only whitespace and one `:` followed it.
    let mut key: Option<String> = None;
    let mut after_colon = false;
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => {
                let s = read_string(&mut chars);
                if after_colon && key.as_deref() == Some("type") {
                    out.push(s);
                    key = None;
                    after_colon = false;
                } else {
                    key = Some(s);
                    after_colon = false;
                }
            }
            ':' if key.is_some() && !after_colon => after_colon = true,
            c if c.is_whitespace() => {}
            _ => {
                key = None;
                after_colon = false;
            }
        }
    }
    out
}

/// The rest of a string token after its opening quote, unescaped.
fn read_string(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> String {
    let mut s = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('u') => {
                    let mut unit = 0u32;
                    let mut digits = 0;
                    while digits < 4 {
                        match chars.peek().and_then(|(_, c)| c.to_digit(16)) {
                            Some(d) => {
                                unit = unit * 16 + d;
                                digits += 1;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    s.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                }
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some('r') => s.push('\r'),
                Some('b') => s.push('\u{8}'),
                Some('f') => s.push('\u{c}'),
                Some(other) => s.push(other),
                None => break,
            },
            c => s.push(c),
        }
    }
    s
}
