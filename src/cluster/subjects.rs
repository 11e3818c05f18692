//! A room's names in NATS. Room names are any UTF-8 (the decoded URL path); keys and
//! subject tokens allow far fewer characters, so a room is named by `r` followed by the
//! base64url (no padding) of its name: letters, digits, `-` and `_` only, and never empty.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The key of `room` in the lease and room buckets, and its token in subjects.
pub fn room_key(room: &str) -> String {
    format!("r{}", URL_SAFE_NO_PAD.encode(room))
}

/// The room name of a key made by [`room_key`].
pub fn room_of_key(key: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(key.strip_prefix('r')?).ok()?;
    String::from_utf8(bytes).ok()
}

/// The subjects of one room.
#[derive(Clone, Debug)]
pub struct RoomSubjects {
    /// Commands and joins from other nodes' clients, to the owner.
    pub to_owner: String,
    /// Everything the owner sends to other nodes' clients.
    pub from_owner: String,
    /// Relayed frames of a room without physics (no owner: every node publishes).
    pub relay: String,
}

impl RoomSubjects {
    pub fn new(room: &str) -> RoomSubjects {
        let key = room_key(room);
        RoomSubjects {
            to_owner: format!("ballroom.room.{key}.in"),
            from_owner: format!("ballroom.room.{key}.out"),
            relay: format!("ballroom.relay.{key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_room_name_makes_a_valid_key_and_comes_back() {
        for room in ["", "/", "arena", "a.b c*>", "ünï/cødé", &"x".repeat(200)] {
            let key = room_key(room);
            assert!(
                key.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{key}"
            );
            assert_eq!(room_of_key(&key).as_deref(), Some(room));
        }
        assert_eq!(room_of_key("nope!"), None);
    }
}
