//! Issue 27: each finding replayed against the real server (the `ballroom` binary, so that
//! its `/metrics`, its log and its CPU time are its own), asserting the fix. The flood
//! tests keep an honest client in a room of its own and check its snapshot rate
//! throughout. Findings 1 and 2 (`spoofing`) run the server in-process.

mod floods;
mod honest;
mod log_escape;
mod operator_http;
mod small;
mod spoofing;
