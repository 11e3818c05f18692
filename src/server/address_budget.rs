//! Token buckets per client address for what `address_limits.rs` does not count: plain
//! HTTP requests (`--http-requests-per-ip`) and rooms opened (`--room-opens-per-ip`).
//!
//! One [`AddressBudget`] per kind, each its own bounded table keyed like the other limits
//! ([`AddressKey`]: an IPv4 address or an IPv6 /64). A table at its capacity first sheds
//! the entries whose bucket is full again (forgetting them changes nothing), then, if an
//! address-cycling flood still fills it, starts afresh: at worst a flooding address gets
//! its burst again, never an unbounded table. A client of a trusted proxy that names
//! nobody ([`ClientAddress::Unnamed`]) is not counted, as in `address_limits.rs`: its
//! clients cannot be told apart, and the global limits still hold.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing::warn;

use super::address_limits::AddressKey;
use super::client_address::ClientAddress;
use crate::host::JoinError;
use crate::telemetry;

/// What a budget counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Plain HTTP requests (everything but WebSocket upgrades, which spend handshakes).
    HttpRequests,
    /// Rooms a client's joins open.
    RoomOpens,
}

impl Kind {
    /// The `reason` label of `ballroom_rejected_total`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::HttpRequests => "per_ip_http_rate",
            Kind::RoomOpens => "per_ip_room_opens",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::HttpRequests => "plain HTTP requests",
            Kind::RoomOpens => "rooms opened",
        }
    }
}

/// An address over its budget.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("too many {} from this address (at most {rate} a second, {burst} at once)", .kind.what())]
pub struct OverBudget {
    pub kind: Kind,
    pub rate: f64,
    pub burst: u32,
    /// Until the next token.
    pub retry_after: Duration,
}

impl OverBudget {
    /// Whole seconds for `Retry-After`, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// A join refused for opening rooms too fast: the same words as the budget's refusal.
impl From<OverBudget> for JoinError {
    fn from(over: OverBudget) -> JoinError {
        JoinError::OpenRate {
            rate: over.rate,
            burst: over.burst,
            retry_after_secs: over.retry_after_secs(),
        }
    }
}

/// A token bucket per address: `rate` a second, `burst` at once; `rate` 0: no limit.
pub struct AddressBudget {
    kind: Kind,
    rate: f64,
    burst: u32,
    capacity: usize,
    table: Mutex<HashMap<AddressKey, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
    /// The last refusal logged.
    logged: Option<Instant>,
}

/// At most one log line per address per this long.
const LOG_EVERY: Duration = Duration::from_secs(1);

impl AddressBudget {
    pub fn new(kind: Kind, rate: f64, burst: u32, capacity: usize) -> AddressBudget {
        AddressBudget {
            kind,
            rate,
            burst: burst.max(1),
            capacity: capacity.max(1),
            table: Mutex::default(),
        }
    }

    /// Spend one token of `client`'s bucket, or refuse (counted, and logged at most once a
    /// second per address). A client the per-address limits do not count spends nothing.
    pub fn spend(&self, client: ClientAddress) -> Result<(), OverBudget> {
        if !client.limited() {
            return Ok(());
        }
        self.spend_at(AddressKey::of(client.ip()), client.via(), Instant::now())
    }

    fn spend_at(&self, key: AddressKey, via: &'static str, now: Instant) -> Result<(), OverBudget> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let (rate, burst) = (self.rate, f64::from(self.burst));
        let log = {
            let mut table = self.lock();
            if table.len() >= self.capacity && !table.contains_key(&key) {
                table.retain(|_, b| b.refilled(now, rate, burst) < burst);
                if table.len() >= self.capacity {
                    table.clear();
                }
            }
            let bucket = table.entry(key).or_insert(Bucket {
                tokens: burst,
                at: now,
                logged: None,
            });
            bucket.tokens = bucket.refilled(now, rate, burst);
            bucket.at = now;
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                return Ok(());
            }
            let due = bucket
                .logged
                .is_none_or(|t| now.saturating_duration_since(t) >= LOG_EVERY);
            if due {
                bucket.logged = Some(now);
            }
            (due, Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        };
        let refusal = OverBudget {
            kind: self.kind,
            rate,
            burst: self.burst,
            retry_after: log.1,
        };
        metrics::counter!(telemetry::REJECTED, "reason" => self.kind.label(), "via" => via)
            .increment(1);
        if log.0 {
            warn!(client = %key, via, reason = self.kind.label(), "refused: {refusal}");
        }
        Err(refusal)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<AddressKey, Bucket>> {
        // Plain counters: a panic elsewhere cannot leave them half-written.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Bucket {
    fn refilled(&self, now: Instant, rate: f64, burst: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * rate).min(burst)
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn key(s: &str) -> AddressKey {
        AddressKey::of(s.parse().unwrap())
    }

    #[test]
    fn each_address_gets_its_burst_then_its_rate() {
        let b = AddressBudget::new(Kind::RoomOpens, 2.0, 3, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            b.spend_at(key("192.0.2.1"), "direct", t0).unwrap();
        }
        let refused = b.spend_at(key("192.0.2.1"), "direct", t0).unwrap_err();
        assert_eq!(refused.kind.label(), "per_ip_room_opens");
        assert_eq!(refused.retry_after, Duration::from_millis(500));
        assert_eq!(refused.retry_after_secs(), 1);
        assert!(refused.to_string().contains("rooms opened"));
        assert!(b.spend_at(key("192.0.2.2"), "direct", t0).is_ok());
        b.spend_at(key("192.0.2.1"), "direct", t0 + Duration::from_millis(500))
            .unwrap();
    }

    #[test]
    fn the_table_stays_bounded_and_no_limit_means_no_table() {
        let b = AddressBudget::new(Kind::HttpRequests, 1.0, 5, 64);
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0A00_0000 + i));
            b.spend_at(AddressKey::of(ip), "direct", t0).unwrap();
        }
        assert!(b.lock().len() <= 64);
        let off = AddressBudget::new(Kind::HttpRequests, 0.0, 5, 64);
        for _ in 0..100 {
            off.spend_at(key("192.0.2.1"), "direct", t0).unwrap();
        }
        assert!(off.lock().is_empty());
    }

    #[test]
    fn a_trusted_proxys_unnamed_clients_spend_nothing() {
        let b = AddressBudget::new(Kind::RoomOpens, 1.0, 1, 64);
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..10 {
            b.spend(ClientAddress::Unnamed(proxy)).unwrap();
        }
        assert!(b.lock().is_empty());
        // The same address connecting directly is counted.
        b.spend(ClientAddress::Peer(proxy)).unwrap();
        assert!(b.spend(ClientAddress::Peer(proxy)).is_err());
        b.spend(ClientAddress::Forwarded("192.0.2.9".parse().unwrap()))
            .unwrap();
    }
}
