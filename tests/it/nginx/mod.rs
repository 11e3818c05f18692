//! ballroom behind a real nginx (Debian's `nginx-light`), as the seed tutorial deploys it:
//! each test starts nginx on a loopback port with a configuration it writes
//! (`proxy.rs`), in front of a real server on `127.0.0.1:0`.
//!
//! - `crowd`: the tutorial's `location /broadcast` block verbatim (its upstream port aside),
//!   plain and with TLS (a self-signed certificate standing in for certbot's): a crowd of
//!   1,000 players joining at 100 a second all get in, and a relayed message reaches each.
//! - `per_client`: the recommended block (`X-Real-IP`): players reaching nginx from many
//!   loopback addresses are limited each by its own, and one flooding address is refused
//!   while the others are served.
//! - `prefix`: a physics room, the viewer's page, its files and `rooms` through the
//!   tutorial's `/broadcast` prefix.
//! - `docs`: the blocks these tests run are the ones docs/deploy.md shows.

mod crowd;
mod docs;
mod per_client;
mod prefix;
mod proxy;
