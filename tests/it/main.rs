//! Every integration test in one binary, one module per area: the crate and the test
//! harness are linked once rather than once per area.
//!
//! All modules share one process, and so the process-wide Prometheus recorder behind
//! `/metrics`: every server started here, in any module, moves the same series. A test
//! here that reads `/metrics` asserts only what the other tests' servers cannot make true
//! or false: lower bounds its own server reaches, or series that only it moves.
//! `tests/slow_consumer.rs` needs exact values of shared series, so it is a binary of
//! its own.

mod support;

mod address_limits;
mod architecture;
mod attacks;
mod bad_input;
mod binary;
mod binary_snapshots;
mod cluster;
mod codec_v2;
mod conformance;
mod decoder_props;
mod lag_compensation;
mod limits;
mod load_tool;
mod matches;
mod models;
mod nginx;
mod operations;
mod persistence;
mod physics;
mod relay;
mod resilience;
mod rules;
mod security;
mod sessions;
mod tls;
mod viewer;
