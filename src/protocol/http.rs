//! The JSON of the plain-HTTP endpoints.

use serde::Serialize;

/// One row of `GET /rooms`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoomSummary {
    pub room: String,
    pub scene: String,
    pub clients: usize,
    pub tick: u64,
}

/// The body of `GET /rooms`.
pub fn encode_rooms(rooms: &[RoomSummary]) -> String {
    serde_json::to_string(rooms).expect("room summaries always serialize")
}
