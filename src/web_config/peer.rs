//! Clients by address, and a log of refused requests that writes at most one
//! line per client per [`RefusalLog::EVERY`], however fast it is refused.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Whom failures, queue places and log lines are counted against: an IPv4
/// address or an IPv6 /64 (what one host usually holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum PeerKey {
    V4(Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6(u64),
}

impl PeerKey {
    pub(super) fn of(ip: IpAddr) -> PeerKey {
        match ip.to_canonical() {
            IpAddr::V4(v4) => PeerKey::V4(v4),
            IpAddr::V6(v6) => PeerKey::V6((v6.to_bits() >> 64) as u64),
        }
    }
}

/// When each client's last refusal was logged, and how many were not since.
#[derive(Debug, Default)]
pub struct RefusalLog {
    peers: Mutex<Peers>,
}

#[derive(Debug, Default)]
struct Peers {
    last: HashMap<PeerKey, (Instant, u64)>,
    /// Refusals of clients beyond [`RefusalLog::MAX_PEERS`], and of clients
    /// forgotten, not logged.
    crowded: u64,
    /// When the clients logged long ago were last forgotten.
    swept: Option<Instant>,
}

impl RefusalLog {
    /// The least time between two log lines about one client's refusals.
    pub const EVERY: Duration = Duration::from_secs(10);

    /// The most clients remembered; refusals of others are counted, not
    /// logged, until some are forgotten.
    const MAX_PEERS: usize = 4096;

    /// Whether to log a refusal of a request from `ip` at `now`: `Some(n)`,
    /// with `n` refusals left unlogged since the last line (of this client,
    /// and of clients that did not fit), or `None` to leave it unlogged.
    pub fn admit(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let key = PeerKey::of(ip);
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        let peers = &mut *peers;
        if peers.last.len() >= Self::MAX_PEERS && !peers.last.contains_key(&key) {
            // Forget clients logged more than an interval ago, at most once
            // an interval; what they left unlogged is told with the next line.
            if peers
                .swept
                .is_none_or(|at| now.saturating_duration_since(at) >= Self::EVERY)
            {
                peers.swept = Some(now);
                let mut forgotten = 0;
                peers.last.retain(|_, (at, unlogged)| {
                    let keep = now.saturating_duration_since(*at) < Self::EVERY;
                    if !keep {
                        forgotten += *unlogged;
                    }
                    keep
                });
                peers.crowded += forgotten;
            }
            if peers.last.len() >= Self::MAX_PEERS {
                peers.crowded += 1;
                return None;
            }
        }
        match peers.last.get_mut(&key) {
            Some((at, unlogged)) if now.saturating_duration_since(*at) < Self::EVERY => {
                *unlogged += 1;
                None
            }
            Some((at, unlogged)) => {
                *at = now;
                Some(std::mem::take(unlogged) + std::mem::take(&mut peers.crowded))
            }
            None => {
                peers.last.insert(key, (now, 0));
                Some(std::mem::take(&mut peers.crowded))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn peers_are_ipv4_addresses_and_ipv6_slash_64s() {
        let key = |s| PeerKey::of(ip(s));
        assert_eq!(key("2001:db8::1"), key("2001:db8::ffff:2"));
        assert_ne!(key("2001:db8::1"), key("2001:db8:0:1::1"));
        assert_eq!(key("::ffff:127.0.0.1"), key("127.0.0.1"));
    }

    #[test]
    fn one_line_per_client_per_interval_with_the_count_left_out() {
        let log = RefusalLog::default();
        let now = Instant::now();
        assert_eq!(log.admit(ip("10.0.0.1"), now), Some(0));
        for _ in 0..1000 {
            assert_eq!(log.admit(ip("10.0.0.1"), now), None);
        }
        assert_eq!(log.admit(ip("10.0.0.2"), now), Some(0), "another client");
        let later = now + RefusalLog::EVERY;
        assert_eq!(log.admit(ip("10.0.0.1"), later), Some(1000));
        assert_eq!(log.admit(ip("10.0.0.1"), later), None);
    }

    #[test]
    fn clients_beyond_the_limit_are_counted_not_logged() {
        let log = RefusalLog::default();
        let now = Instant::now();
        let many = |i: usize| ip(&format!("10.{}.{}.1", i / 256, i % 256));
        for i in 0..RefusalLog::MAX_PEERS {
            assert_eq!(log.admit(many(i), now), Some(0));
        }
        assert_eq!(log.admit(ip("192.0.2.1"), now), None);
        assert_eq!(log.admit(ip("192.0.2.2"), now), None);
        // Once the remembered ones are old enough to forget, the next line
        // says how many went unlogged.
        let later = now + RefusalLog::EVERY;
        assert_eq!(log.admit(ip("192.0.2.1"), later), Some(2));
    }
}
