//! Per-address limits, so that one client address cannot take the whole server:
//! connections open at once (`--max-connections-per-ip`, held by an [`AddressSlot`] that
//! gives its place back when dropped) and a token bucket of WebSocket handshakes
//! (`--handshakes-per-ip`, `--handshake-burst`). A refusal is typed ([`AddressRefusal`]),
//! counted in `ballroom_rejected_total{reason,via}` (`via`: how the address was learnt, see
//! [`ClientAddress::via`]), logged at most once a second per address with the address and
//! `via`, and the last few refused addresses are listed in `/metrics`
//! (`ballroom_limited_address`, [`AddressLimits::render_recent`]). A client of a trusted
//! proxy that names nobody ([`ClientAddress::Unnamed`]) is never counted here.
//!
//! The table is one `std::sync::Mutex` around a `HashMap`, locked once when a connection is
//! accepted, once per handshake and once when a counted connection ends: never per
//! message, never across an `.await`. IPv6 addresses count by their /64.
//!
//! **The table is bounded.** An entry that holds no connection, whose bucket has refilled
//! and that was not logged in the last second is idle: forgetting it changes nothing, since
//! a new entry starts the same. When the table is full, the idle entries go; if it is still
//! full (an attacker cycling through many addresses, each handshaking once), every entry
//! without an open connection goes, which only forgets some recent handshakes. Entries with
//! open connections always stay, so counts stay exact; each holds a `--max-connections`
//! permit, so there are fewer of them than the capacity of twice `--max-connections`.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing::warn;

use super::client_address::ClientAddress;
use crate::config::Config;
use crate::telemetry;

/// `Retry-After` for an address at its connection cap: when one of its connections ends
/// is anyone's guess, and the global cap's 503 says the same.
const CONNECTIONS_RETRY_AFTER: u64 = 5;

/// At most one log line per address per this long.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// Refused addresses listed in `/metrics`, the most recent first.
const RECENT_REFUSED: usize = 16;

/// Why a client address was refused.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum AddressRefusal {
    #[error("too many connections from this address (at most {limit} at once)")]
    Connections { limit: u32 },
    #[error("too many handshakes from this address (at most {rate} a second, {burst} at once)")]
    HandshakeRate {
        rate: f64,
        burst: u32,
        /// Until the next handshake is allowed.
        retry_after: Duration,
    },
}

impl AddressRefusal {
    /// The `reason` label of `ballroom_rejected_total`.
    pub fn label(&self) -> &'static str {
        match self {
            AddressRefusal::Connections { .. } => "per_ip_connections",
            AddressRefusal::HandshakeRate { .. } => "per_ip_handshake_rate",
        }
    }

    /// Whole seconds for `Retry-After`, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        match self {
            AddressRefusal::Connections { .. } => CONNECTIONS_RETRY_AFTER,
            AddressRefusal::HandshakeRate { retry_after, .. } => {
                retry_after.as_secs_f64().ceil().max(1.0) as u64
            }
        }
    }
}

/// The limits and the table of addresses they count.
pub struct AddressLimits {
    /// `--max-connections-per-ip`; 0: none.
    max_open: u32,
    /// `--handshakes-per-ip` and `--handshake-burst`; None: no limit.
    bucket: Option<Bucket>,
    /// Entries kept before the table sheds idle ones.
    capacity: usize,
    table: Mutex<HashMap<AddressKey, Entry>>,
    /// The addresses refused lately (bounded, most recent first), for `/metrics`.
    recent: Mutex<Vec<Refused>>,
}

/// One recently refused address: what `/metrics` says of it.
#[derive(Clone, Debug, PartialEq)]
struct Refused {
    key: AddressKey,
    via: &'static str,
    reason: &'static str,
    count: u64,
}

#[derive(Copy, Clone)]
struct Bucket {
    rate: f64,
    burst: u32,
}

/// What the table keeps for one address.
struct Entry {
    /// Connections open (only counted with `--max-connections-per-ip`).
    open: u32,
    /// Handshake tokens as of `refilled`.
    tokens: f64,
    refilled: Instant,
    /// The last refusal logged, and refusals since then that were not.
    logged: Option<Instant>,
    unlogged: u64,
}

impl Entry {
    fn new(now: Instant, bucket: Option<Bucket>) -> Entry {
        Entry {
            open: 0,
            tokens: bucket.map_or(0.0, |b| f64::from(b.burst)),
            refilled: now,
            logged: None,
            unlogged: 0,
        }
    }

    fn refill(&mut self, now: Instant, bucket: Bucket) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * bucket.rate).min(f64::from(bucket.burst));
        self.refilled = now;
    }

    /// Forgetting this entry would change nothing.
    fn idle(&self, now: Instant, bucket: Option<Bucket>) -> bool {
        let full = bucket.is_none_or(|b| {
            let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
            self.tokens + elapsed * b.rate >= f64::from(b.burst)
        });
        let quiet = self
            .logged
            .is_none_or(|t| now.saturating_duration_since(t) >= LOG_EVERY);
        self.open == 0 && full && quiet
    }

    /// Whether to log this refusal now, and how many went unlogged before it.
    fn log_due(&mut self, now: Instant) -> Option<u64> {
        match self.logged {
            Some(t) if now.saturating_duration_since(t) < LOG_EVERY => {
                self.unlogged += 1;
                None
            }
            _ => {
                self.logged = Some(now);
                Some(std::mem::take(&mut self.unlogged))
            }
        }
    }
}

/// The unit the limits count: an IPv4 address, or an IPv6 /64 (one host may use any
/// address in its /64).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    pub fn of(ip: IpAddr) -> AddressKey {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let net = u128::from(v6) & !(u128::MAX >> 64);
                AddressKey(IpAddr::V6(Ipv6Addr::from(net)))
            }
            v4 => AddressKey(v4),
        }
    }
}

impl fmt::Display for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => v4.fmt(f),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// One counted connection of an address; dropping it gives the place back.
pub struct AddressSlot {
    held: Option<(Arc<AddressLimits>, AddressKey)>,
}

impl AddressSlot {
    /// A slot that counts nothing (no limit, or a proxy's own connection).
    pub fn uncounted() -> AddressSlot {
        AddressSlot { held: None }
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Some((limits, key)) = self.held.take() {
            if let Some(entry) = limits.lock().get_mut(&key) {
                entry.open = entry.open.saturating_sub(1);
            }
        }
    }
}

impl AddressLimits {
    pub fn new(config: &Config) -> Arc<AddressLimits> {
        let bucket = (config.handshakes_per_ip > 0.0).then_some(Bucket {
            rate: config.handshakes_per_ip,
            burst: config.handshake_burst,
        });
        Arc::new(AddressLimits {
            max_open: config.max_connections_per_ip,
            bucket,
            capacity: 2 * config.max_connections as usize + 1024,
            table: Mutex::default(),
            recent: Mutex::default(),
        })
    }

    /// Count one more open connection of `client`, or refuse it (counted and logged). A
    /// trusted proxy's unnamed client is not counted.
    pub fn open(self: &Arc<Self>, client: ClientAddress) -> Result<AddressSlot, AddressRefusal> {
        if !client.limited() {
            return Ok(AddressSlot::uncounted());
        }
        self.open_at(AddressKey::of(client.ip()), client.via(), Instant::now())
    }

    /// Spend one handshake token of `client`, or refuse the handshake (counted and logged).
    /// A trusted proxy's unnamed client spends none.
    pub fn handshake(&self, client: ClientAddress) -> Result<(), AddressRefusal> {
        if !client.limited() {
            return Ok(());
        }
        self.handshake_at(AddressKey::of(client.ip()), client.via(), Instant::now())
    }

    /// The recently refused addresses as Prometheus lines of `ballroom_limited_address`
    /// (refusals counted since each was listed; at most 16 addresses, the most recent
    /// first), so that an operator sees which address was limited and how it was learnt.
    pub fn render_recent(&self) -> String {
        use std::fmt::Write;
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        if recent.is_empty() {
            return out;
        }
        out.push_str(
            "# HELP ballroom_limited_address Refusals by the limits per client address of the \
             last 16 addresses refused (via: direct, proxy or proxy_unnamed).\n\
             # TYPE ballroom_limited_address gauge\n",
        );
        for r in recent.iter() {
            let _ = writeln!(
                out,
                "ballroom_limited_address{{address=\"{}\",via=\"{}\",reason=\"{}\"}} {}",
                r.key, r.via, r.reason, r.count
            );
        }
        out
    }

    fn remember(&self, key: AddressKey, via: &'static str, reason: &'static str) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let count = match recent
            .iter()
            .position(|r| r.key == key && r.via == via && r.reason == reason)
        {
            Some(i) => recent.remove(i).count + 1,
            None => 1,
        };
        recent.insert(
            0,
            Refused {
                key,
                via,
                reason,
                count,
            },
        );
        recent.truncate(RECENT_REFUSED);
    }

    fn open_at(
        self: &Arc<Self>,
        key: AddressKey,
        via: &'static str,
        now: Instant,
    ) -> Result<AddressSlot, AddressRefusal> {
        if self.max_open == 0 {
            return Ok(AddressSlot::uncounted());
        }
        let limit = self.max_open;
        self.decide(key, via, now, |entry| {
            if entry.open >= limit {
                return Err(AddressRefusal::Connections { limit });
            }
            entry.open += 1;
            Ok(())
        })?;
        Ok(AddressSlot {
            held: Some((self.clone(), key)),
        })
    }

    fn handshake_at(
        &self,
        key: AddressKey,
        via: &'static str,
        now: Instant,
    ) -> Result<(), AddressRefusal> {
        let Some(bucket) = self.bucket else {
            return Ok(());
        };
        self.decide(key, via, now, |entry| {
            entry.refill(now, bucket);
            if entry.tokens >= 1.0 {
                entry.tokens -= 1.0;
                return Ok(());
            }
            Err(AddressRefusal::HandshakeRate {
                rate: bucket.rate,
                burst: bucket.burst,
                retry_after: Duration::from_secs_f64((1.0 - entry.tokens) / bucket.rate),
            })
        })
    }

    /// Run `rule` on `key`'s entry; count a refusal, and log it if none was logged for this
    /// address in the last second (after the lock is released).
    fn decide(
        &self,
        key: AddressKey,
        via: &'static str,
        now: Instant,
        rule: impl FnOnce(&mut Entry) -> Result<(), AddressRefusal>,
    ) -> Result<(), AddressRefusal> {
        let (outcome, log) = {
            let mut table = self.lock();
            let entry = self.entry(&mut table, key, now);
            match rule(entry) {
                Ok(()) => (Ok(()), None),
                Err(refusal) => (Err(refusal), entry.log_due(now)),
            }
        };
        if let Err(refusal) = &outcome {
            metrics::counter!(telemetry::REJECTED, "reason" => refusal.label(), "via" => via)
                .increment(1);
            self.remember(key, via, refusal.label());
            if let Some(unlogged) = log {
                warn!(
                    client = %key,
                    via,
                    reason = refusal.label(),
                    retry_after = refusal.retry_after_secs(),
                    unlogged,
                    "refused: {refusal}"
                );
            }
        }
        outcome
    }

    /// `key`'s entry, made room for if the table is full (see the module's notes).
    fn entry<'t>(
        &self,
        table: &'t mut HashMap<AddressKey, Entry>,
        key: AddressKey,
        now: Instant,
    ) -> &'t mut Entry {
        if table.len() >= self.capacity && !table.contains_key(&key) {
            table.retain(|_, e| !e.idle(now, self.bucket));
            if table.len() >= self.capacity {
                table.retain(|_, e| e.open > 0);
            }
        }
        table
            .entry(key)
            .or_insert_with(|| Entry::new(now, self.bucket))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<AddressKey, Entry>> {
        // The table holds plain counters: a panic elsewhere cannot leave them half-written.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_open: u32, rate: f64, burst: u32, max_connections: u32) -> Arc<AddressLimits> {
        let mut config = Config::defaults();
        config.max_connections_per_ip = max_open;
        config.handshakes_per_ip = rate;
        config.handshake_burst = burst;
        config.max_connections = max_connections;
        AddressLimits::new(&config)
    }

    fn key(s: &str) -> AddressKey {
        AddressKey::of(s.parse().unwrap())
    }

    #[test]
    fn an_address_at_its_cap_is_refused_until_one_of_its_connections_ends() {
        let l = limits(2, 0.0, 1, 100);
        let now = Instant::now();
        let a1 = l.open_at(key("192.0.2.1"), "direct", now).unwrap();
        let _a2 = l.open_at(key("192.0.2.1"), "direct", now).unwrap();
        let refused = l.open_at(key("192.0.2.1"), "direct", now).err().unwrap();
        assert_eq!(refused, AddressRefusal::Connections { limit: 2 });
        assert_eq!(refused.label(), "per_ip_connections");
        assert_eq!(refused.retry_after_secs(), 5);
        // Another address is not affected.
        let _b = l.open_at(key("192.0.2.2"), "direct", now).unwrap();
        drop(a1);
        assert!(l.open_at(key("192.0.2.1"), "direct", now).is_ok());
    }

    #[test]
    fn the_handshake_bucket_allows_its_burst_then_its_rate() {
        let l = limits(0, 2.0, 3, 100);
        let t0 = Instant::now();
        let a = key("198.51.100.1");
        for _ in 0..3 {
            l.handshake_at(a, "direct", t0).unwrap();
        }
        let refused = l.handshake_at(a, "direct", t0).unwrap_err();
        assert_eq!(refused.label(), "per_ip_handshake_rate");
        // One token is due in half a second: Retry-After rounds up to whole seconds.
        match refused {
            AddressRefusal::HandshakeRate { retry_after, .. } => {
                assert_eq!(retry_after, Duration::from_millis(500))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(refused.retry_after_secs(), 1);
        assert!(l.handshake_at(key("198.51.100.2"), "direct", t0).is_ok());
        let later = t0 + Duration::from_millis(500);
        l.handshake_at(a, "direct", later).unwrap();
        assert!(l.handshake_at(a, "direct", later).is_err());
        // Refilled, never beyond the burst.
        let much_later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            l.handshake_at(a, "direct", much_later).unwrap();
        }
        assert!(l.handshake_at(a, "direct", much_later).is_err());
    }

    #[test]
    fn no_limit_means_no_table() {
        let l = limits(0, 0.0, 1, 100);
        let now = Instant::now();
        for _ in 0..1000 {
            let _slot = l.open_at(key("192.0.2.1"), "direct", now).unwrap();
            l.handshake_at(key("192.0.2.1"), "direct", now).unwrap();
        }
        assert_eq!(l.entries(), 0);
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_eq!(key("192.0.2.1").to_string(), "192.0.2.1");
        let l = limits(1, 0.0, 1, 100);
        let _one = l
            .open_at(key("2001:db8::1"), "direct", Instant::now())
            .unwrap();
        assert!(
            l.open_at(key("2001:db8::2"), "direct", Instant::now())
                .is_err()
        );
    }

    #[test]
    fn an_address_cycling_attacker_cannot_grow_the_table_or_free_a_held_place() {
        // Capacity: 2 × 10 + 1024 entries.
        let l = limits(1, 1.0, 5, 10);
        let t0 = Instant::now();
        let held = l.open_at(key("192.0.2.1"), "direct", t0).unwrap();
        for i in 0..100_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0A00_0000 + i));
            l.handshake_at(AddressKey::of(ip), "direct", t0).unwrap();
        }
        assert!(l.entries() <= 2 * 10 + 1024, "{} entries", l.entries());
        // The address holding a connection was never forgotten.
        assert!(l.open_at(key("192.0.2.1"), "direct", t0).is_err());
        drop(held);
        assert!(l.open_at(key("192.0.2.1"), "direct", t0).is_ok());
    }

    #[test]
    fn idle_entries_are_shed_first() {
        let l = limits(0, 1.0, 2, 0);
        // Capacity 1024: fill it with addresses that handshook once, at t0.
        let t0 = Instant::now();
        for i in 0..1024u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0A00_0000 + i));
            l.handshake_at(AddressKey::of(ip), "direct", t0).unwrap();
        }
        let busy = key("192.0.2.9");
        // A second later every bucket but one has refilled; `busy` drains its own.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(l.entries(), 1024);
        l.handshake_at(busy, "direct", t1).unwrap();
        assert_eq!(l.entries(), 1, "the refilled entries were shed");
        l.handshake_at(busy, "direct", t1).unwrap();
        assert!(
            l.handshake_at(busy, "direct", t1).is_err(),
            "and `busy` was remembered"
        );
    }

    #[test]
    fn metrics_list_the_last_refused_addresses_and_how_they_were_learnt() {
        let l = limits(1, 0.0, 1, 100);
        assert_eq!(l.render_recent(), "");
        let t0 = Instant::now();
        let _held = l.open_at(key("192.0.2.1"), "proxy", t0).unwrap();
        for _ in 0..3 {
            assert!(l.open_at(key("192.0.2.1"), "proxy", t0).is_err());
        }
        let shown = l.render_recent();
        assert!(
            shown.contains(
                "ballroom_limited_address{address=\"192.0.2.1\",via=\"proxy\",reason=\"per_ip_connections\"} 3"
            ),
            "{shown}"
        );
        // Bounded: the oldest addresses go first.
        for i in 0..40u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0A00_0000 + i));
            let _one = l.open_at(AddressKey::of(ip), "direct", t0).unwrap();
            assert!(l.open_at(AddressKey::of(ip), "direct", t0).is_err());
        }
        let shown = l.render_recent();
        assert_eq!(shown.matches("ballroom_limited_address{").count(), 16);
        assert!(shown.contains("address=\"10.0.0.39\""), "{shown}");
        assert!(!shown.contains("192.0.2.1"), "{shown}");
        // A trusted proxy's unnamed clients are never counted.
        let local = ClientAddress::Unnamed("127.0.0.1".parse().unwrap());
        for _ in 0..10 {
            l.handshake(local).unwrap();
            std::mem::forget(l.open(local).unwrap());
        }
    }

    #[test]
    fn refusals_are_logged_at_most_once_a_second_per_address() {
        let mut e = Entry::new(Instant::now(), None);
        let t0 = Instant::now();
        assert_eq!(e.log_due(t0), Some(0));
        assert_eq!(e.log_due(t0 + Duration::from_millis(300)), None);
        assert_eq!(e.log_due(t0 + Duration::from_millis(900)), None);
        assert_eq!(e.log_due(t0 + Duration::from_secs(1)), Some(2));
        assert!(
            !e.idle(t0 + Duration::from_millis(1500), None),
            "logged lately"
        );
        assert!(e.idle(t0 + Duration::from_secs(2), None));
    }
}
