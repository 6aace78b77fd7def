use super::super::parse;
use super::*;
use std::path::Path;

fn basic(u: &str, p: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
    ))
    .unwrap()
}

fn state_with(users: &[(&str, &str, u32)]) -> WebState {
    let mut text = "basic_auth_users:\n".to_string();
    for (user, password, cost) in users {
        let hash = bcrypt::hash(password, *cost).unwrap();
        text.push_str(&format!("  {user}: '{hash}'\n"));
    }
    parse(Path::new("/nonexistent/web.yml"), &text).unwrap()
}

/// An authenticator and the reasons it counted.
fn counted() -> (Authenticator, Arc<Mutex<Vec<&'static str>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let count: RefusalCounter = Arc::new(move |r| sink.lock().unwrap().push(r));
    (Authenticator::new(Some(count)), seen)
}

fn peer(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40000)
}

fn key(ip: &str) -> PeerKey {
    PeerKey::of(ip.parse().unwrap())
}

#[test]
fn every_refusal_has_a_reason_the_counter_starts_at_zero() {
    let outcomes = [
        AuthOutcome::Missing,
        AuthOutcome::Malformed,
        AuthOutcome::Denied,
        AuthOutcome::LockedOut,
        AuthOutcome::Throttled,
    ];
    let reasons: Vec<&str> = outcomes.iter().filter_map(|o| o.reason()).collect();
    assert_eq!(reasons, crate::metrics::AUTH_FAILURE_REASONS);
    assert_eq!(AuthOutcome::Allowed.reason(), None);
}

#[test]
fn basic_header_parsing() {
    let v = HeaderValue::from_static("Basic YWxpY2U6czNjcjM6dA==");
    assert_eq!(
        parse_basic(&v),
        Some(("alice".to_string(), "s3cr3:t".to_string()))
    );
    assert_eq!(parse_basic(&HeaderValue::from_static("Bearer abc")), None);
    assert_eq!(parse_basic(&HeaderValue::from_static("Basic !!!")), None);
    assert_eq!(parse_basic(&HeaderValue::from_static("Basic")), None);
}

#[tokio::test(start_paused = true)]
async fn checks_count_refusals_cache_successes_and_penalise_failures() {
    let state = state_with(&[("alice", "right", 4)]);
    let (auth, seen) = counted();
    let home = peer("127.0.0.1");
    let check = |h: Option<HeaderValue>, from: SocketAddr| {
        let (auth, state) = (&auth, &state);
        async move { auth.check(state, h.as_ref(), from).await }
    };
    assert_eq!(
        check(None, home).await,
        (AuthOutcome::Missing, Duration::ZERO)
    );
    assert_eq!(
        check(Some(HeaderValue::from_static("Bearer x")), home).await,
        (AuthOutcome::Malformed, Duration::ZERO)
    );
    assert_eq!(
        check(Some(basic("alice", "wrong")), home).await,
        (AuthOutcome::Denied, PENALTY_BASE)
    );
    // Within the penalty the next guess is not checked at all.
    let free = auth.slots.available_permits();
    assert_eq!(
        check(Some(basic("bob", "right")), home).await,
        (AuthOutcome::LockedOut, PENALTY_BASE)
    );
    assert_eq!(auth.slots.available_permits(), free);
    // Another client is not slowed; an unknown user is denied.
    assert_eq!(
        check(Some(basic("bob", "right")), peer("127.0.0.3")).await,
        (AuthOutcome::Denied, PENALTY_BASE)
    );
    tokio::time::sleep(PENALTY_BASE).await;
    assert_eq!(
        check(Some(basic("alice", "wrong")), home).await,
        (AuthOutcome::Denied, PENALTY_BASE * 2),
        "each failure doubles the penalty"
    );
    tokio::time::sleep(PENALTY_BASE * 2).await;
    assert_eq!(
        check(Some(basic("alice", "right")), home).await,
        (AuthOutcome::Allowed, Duration::ZERO)
    );
    assert_eq!(auth.shared.cache.lock().unwrap().len(), 1);
    assert_eq!(
        check(Some(basic("alice", "right")), peer("10.1.1.1")).await,
        (AuthOutcome::Allowed, Duration::ZERO),
        "cached: no check"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "missing",
            "malformed",
            "denied",
            "locked_out",
            "denied",
            "denied"
        ]
    );
    // The success cleared its client's failures; only 127.0.0.3 is left.
    assert_eq!(auth.shared.peers.lock().unwrap().len(), 1);
    assert_eq!(auth.shared.waiting.load(Ordering::Acquire), 0);
    // Debug output never shows the hash.
    let hash = state.users["alice"].clone();
    assert!(!format!("{state:?}").contains(&hash));
}

#[test]
fn bcrypt_ignores_password_bytes_past_72_as_go_does() {
    let long = "p".repeat(72);
    let hash = bcrypt::hash(&long, 4).unwrap();
    assert!(bcrypt::verify(format!("{long}anything"), &hash).unwrap());
    assert!(!bcrypt::verify(&long[..71], &hash).unwrap());
}

#[test]
fn a_high_cost_user_is_not_told_apart_from_unknown_names_by_its_cost() {
    let state = state_with(&[("slow", "x", 6)]);
    let decoy = state.decoys.for_user("nobody");
    assert_eq!(decoy.parse::<bcrypt::HashParts>().unwrap().get_cost(), 6);
}

#[test]
fn answers_are_delayed_at_most_half_a_second() {
    let auth = Authenticator::default();
    let now = Instant::now();
    let k = key("127.0.0.9");
    let delays: Vec<Duration> = (0..5)
        .map(|_| auth.shared.record(k, AuthOutcome::Denied, now))
        .collect();
    assert_eq!(
        delays,
        [100, 200, 400, 500, 500].map(Duration::from_millis),
        "the penalty doubles, the delay stops at ANSWER_DELAY_MAX"
    );
    assert!(auth.shared.locked_out(k, now + Duration::from_millis(1500)));
    assert!(!auth.shared.locked_out(k, now + Duration::from_millis(1600)));
}

#[test]
fn penalties_double_up_to_the_maximum() {
    assert_eq!(penalty(0), Duration::ZERO);
    assert_eq!(penalty(1), PENALTY_BASE);
    assert_eq!(penalty(2), PENALTY_BASE * 2);
    assert_eq!(penalty(4), PENALTY_BASE * 8);
    assert_eq!(penalty(100), PENALTY_MAX);
    assert_eq!(penalty(u32::MAX), PENALTY_MAX);
}

#[tokio::test(start_paused = true)]
async fn admission_bounds_each_client_and_the_queue() {
    let auth = Authenticator::default();
    let shared = &auth.shared;
    let now = Instant::now();
    let attacker = key("127.0.0.2");
    let first = shared.admit(attacker, now).unwrap();
    let second = shared.admit(attacker, now).unwrap();
    assert!(
        shared.admit(attacker, now).is_none(),
        "a third from one client"
    );
    drop(first);
    let third = shared.admit(attacker, now).unwrap();
    drop((second, third));
    // A failure: no check until its penalty has passed, then the client is
    // a suspect, which queues only behind a few.
    assert_eq!(
        shared.record(attacker, AuthOutcome::Denied, now),
        PENALTY_BASE
    );
    assert!(shared.admit(attacker, now).is_none(), "within the penalty");
    let later = now + PENALTY_BASE;
    let clean: Vec<_> = (0..SUSPECT_QUEUE)
        .map(|i| shared.admit(key(&format!("10.0.0.{i}")), later).unwrap())
        .collect();
    assert!(
        shared.admit(attacker, later).is_none(),
        "a suspect behind a full queue"
    );
    let more_clean = shared
        .admit(key("10.0.1.1"), later)
        .expect("a clean client still queues");
    drop((clean, more_clean));
    assert!(shared.admit(attacker, later).is_some(), "after the penalty");
    assert_eq!(shared.waiting.load(Ordering::Acquire), 0);
    // Throttled answers to the suspect are delayed by its penalty too.
    assert_eq!(
        shared.record(attacker, AuthOutcome::Throttled, later),
        PENALTY_BASE
    );
    // Failures are forgotten a while after the last one.
    let much_later = now + FORGET_AFTER;
    assert_eq!(
        shared.record(attacker, AuthOutcome::Throttled, much_later),
        Duration::ZERO
    );
    assert_eq!(
        shared.record(attacker, AuthOutcome::Denied, much_later),
        PENALTY_BASE
    );
    // A success clears them at once.
    shared.record(attacker, AuthOutcome::Allowed, much_later);
    assert_eq!(
        shared.record(attacker, AuthOutcome::Throttled, much_later),
        Duration::ZERO
    );
    assert!(shared.peers.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_abandoned_check_keeps_its_slot_and_is_still_counted_and_penalised() {
    let state = state_with(&[("alice", "right", 12)]);
    let (auth, seen) = counted();
    let wrong = basic("alice", "wrong");
    for n in 0..Authenticator::MAX_CONCURRENT {
        let from = peer(&format!("10.0.0.{n}"));
        let abandoned = auth.check(&state, Some(&wrong), from);
        // Polled until bcrypt runs, then dropped, as when its connection
        // closes.
        let _ = tokio::time::timeout(Duration::from_millis(20), abandoned).await;
    }
    assert_eq!(auth.slots.available_permits(), 0, "bcrypt still running");
    assert_eq!(auth.shared.waiting.load(Ordering::Acquire), 0);
    // The runs finish their bookkeeping.
    let _both = auth
        .slots
        .acquire_many(Authenticator::MAX_CONCURRENT as u32)
        .await
        .unwrap();
    for _ in 0..100 {
        if seen.lock().unwrap().len() == Authenticator::MAX_CONCURRENT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*seen.lock().unwrap(), ["denied", "denied"]);
    let peers = auth.shared.peers.lock().unwrap();
    assert!(
        peers.values().all(|p| p.failures == 1 && p.in_flight == 0),
        "{peers:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn clean_clients_queue_up_to_the_limit() {
    let auth = Authenticator::default();
    let shared = &auth.shared;
    let now = Instant::now();
    let held: Vec<_> = (0..QUEUE)
        .map(|i| {
            shared
                .admit(key(&format!("10.0.{}.{}", i / 256, i % 256)), now)
                .unwrap()
        })
        .collect();
    assert!(shared.admit(key("10.9.9.9"), now).is_none());
    drop(held);
    assert!(shared.peers.lock().unwrap().is_empty());
}
