//! Issue 27: each attack replayed against the real server, asserting the fix.

mod spoofing;
