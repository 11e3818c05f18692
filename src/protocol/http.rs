//! The JSON of the plain-HTTP endpoints.

use serde::Serialize;

/// One row of `GET /rooms`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoomSummary {
    pub room: String,
    pub scene: String,
    pub clients: usize,
    pub tick: u64,
    /// In a cluster: the node that runs the room (none for a room without physics, which
    /// every node runs for its own clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// In a cluster, a room without physics: the node whose clients these are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// In a room with rules: how many of their hook calls failed so far (on this node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_failures: Option<u64>,
}

/// The body of `GET /rooms`.
pub fn encode_rooms(rooms: &[RoomSummary]) -> String {
    serde_json::to_string(rooms).expect("room summaries always serialize")
}
