use super::*;
use std::sync::Mutex;

fn parse_text(text: &str) -> Result<WebState, String> {
    parse(Path::new("/nonexistent/web.yml"), text).map_err(|e| e.message)
}

#[test]
fn empty_file_means_plain_http_without_auth() {
    let state = parse_text("").unwrap();
    assert!(state.tls.is_none());
    assert!(!state.requires_auth());
    let state = parse_text("tls_server_config: {}\n").unwrap();
    assert!(state.tls.is_none());
}

#[test]
fn unknown_and_unsupported_keys_are_named() {
    let err = parse_text("tls_server_config:\n  cert_fille: x\n").unwrap_err();
    assert!(err.contains("unknown field `cert_fille`"), "{err}");
    let err = parse_text("basic_auth_user:\n  a: b\n").unwrap_err();
    assert!(err.contains("unknown field `basic_auth_user`"), "{err}");
    // As in the exporter-toolkit: without a certificate, key, CA or client
    // auth type, the TLS section means plain HTTP.
    let state = parse_text("tls_server_config:\n  client_allowed_sans: [a]\n").unwrap();
    assert!(state.tls.is_none());
}

/// A bcrypt hash Go's bcrypt would refuse to check is refused, naming the
/// user, never the hash.
#[test]
fn impossible_bcrypt_costs_and_prefixes_are_refused_naming_the_user() {
    let real = bcrypt::hash("x", 4).unwrap();
    let rest = &real[7..];
    for (hash, want) in [
        (
            format!("$2y$99${rest}"),
            "has the bcrypt cost 99, outside bcrypt's 4 to 31",
        ),
        (format!("$2y$03${rest}"), "has the bcrypt cost 3, outside"),
        (format!("$2y$32${rest}"), "has the bcrypt cost 32, outside"),
        (
            format!("$2c$10${rest}"),
            "is not a bcrypt hash (the hash prefix is not a bcrypt prefix)",
        ),
        (
            format!("$2y$1x${rest}"),
            "is not a bcrypt hash (the cost value is not a number)",
        ),
        (
            format!("$2y$10${rest}="),
            "is not a bcrypt hash (the hash format is malformed",
        ),
    ] {
        let err = parse_text(&format!("basic_auth_users:\n  scraper: '{hash}'\n")).unwrap_err();
        assert!(
            err.contains(&format!("the password of user \"scraper\" {want}")),
            "{hash}: {err}"
        );
        assert!(!err.contains(rest), "the hash is a secret: {err}");
    }
    let slow = parse_text(&format!("basic_auth_users:\n  scraper: '$2y$15${rest}'\n")).unwrap();
    assert!(
        slow.warnings
            .iter()
            .any(|w| w.contains("user \"scraper\" has the bcrypt cost 15")),
        "{:?}",
        slow.warnings
    );
    for cost in ["04", "31"] {
        let text = format!("basic_auth_users:\n  scraper: '$2y${cost}${rest}'\n");
        assert!(parse_text(&text).is_ok(), "cost {cost}");
    }
    for prefix in ["2a", "2b", "2x", "2y"] {
        let text = format!("basic_auth_users:\n  scraper: '${prefix}$04${rest}'\n");
        assert!(parse_text(&text).is_ok(), "${prefix}$");
    }
}

#[test]
fn bad_values_get_clear_errors() {
    let cases = [
        (
            "basic_auth_users:\n  alice: secret\n",
            "the password of user \"alice\" is not a bcrypt hash",
        ),
        (
            "http_server_config:\n  headers:\n    Server: x\n",
            "setting \"Server\" is not allowed",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "X-Frame-Options: \"allow\" is not allowed; use deny or sameorigin",
        ),
        (
            "tls_server_config:\n  cert_file: a.pem\n",
            "key_file (or key) is missing",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n",
            "tls_server_config.cert_file: cannot read /nonexistent/cert.pem",
        ),
        (
            "tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n",
            "client authentication needs TLS",
        ),
        (
            "rate_limit:\n  interval: fast\n",
            "rate_limit.interval: \"fast\"",
        ),
    ];
    for (text, want) in cases {
        let err = parse_text(text).unwrap_err();
        assert!(err.contains(want), "{text}: {err}");
    }
}

/// A web config with an inline self-signed certificate and key, and `extra`
/// keys under `tls_server_config`.
fn inline_tls(extra: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let indent = |pem: &str| {
        pem.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    let pem = cert.pem();
    format!(
        "tls_server_config:\n  cert: |\n{}  key: |\n{}  client_ca: |\n{}{extra}",
        indent(&pem),
        indent(&key.serialize_pem()),
        indent(&pem)
    )
}

#[test]
fn a_client_ca_is_refused_only_with_no_client_cert_as_in_the_toolkit() {
    let err = parse_text(&inline_tls("")).unwrap_err();
    assert!(
        err.contains("client_ca_file is set but client_auth_type is NoClientCert"),
        "{err}"
    );
    for auth in [
        "RequestClientCert",
        "RequireAnyClientCert",
        "RequireClientCert",
        "VerifyClientCertIfGiven",
        "RequireAndVerifyClientCert",
    ] {
        let text = inline_tls(&format!("  client_auth_type: {auth}\n"));
        let state = parse_text(&text).unwrap_or_else(|e| panic!("{auth}: {e}"));
        assert!(state.tls.is_some(), "{auth}");
    }
    let err = parse_text(&inline_tls("  client_auth_type: Sometimes\n")).unwrap_err();
    assert!(err.contains("unknown value \"Sometimes\""), "{err}");
}

#[test]
fn client_allowed_sans_needs_a_required_certificate() {
    let sans = "  client_allowed_sans: [scraper.example]\n";
    for auth in ["RequestClientCert", "VerifyClientCertIfGiven"] {
        let err =
            parse_text(&inline_tls(&format!("  client_auth_type: {auth}\n{sans}"))).unwrap_err();
        assert!(
                err.contains(&format!(
                    "client_allowed_sans needs a client certificate on every connection, but client_auth_type is {auth}"
                )),
                "{err}"
            );
    }
    for auth in ["RequireAnyClientCert", "RequireAndVerifyClientCert"] {
        let text = inline_tls(&format!("  client_auth_type: {auth}\n{sans}"));
        assert!(parse_text(&text).is_ok(), "{auth}");
    }
}

/// Every key of the exporter-toolkit's documented format at once, as its
/// documentation lays them out.
#[test]
fn every_key_of_the_toolkit_format_is_accepted() {
    let hash = bcrypt::hash("secret", 4).unwrap();
    let text = inline_tls(&format!(
        "  client_auth_type: RequireAndVerifyClientCert\n\
             \x20 client_allowed_sans: [scraper.example, 10.0.0.1]\n\
             \x20 min_version: TLS12\n\
             \x20 max_version: TLS13\n\
             \x20 cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384]\n\
             \x20 prefer_server_cipher_suites: true\n\
             \x20 curve_preferences: [X25519, CurveP256]\n\
             http_server_config:\n\
             \x20 http2: true\n\
             \x20 headers:\n\
             \x20   Content-Security-Policy: default-src 'self'\n\
             \x20   X-Frame-Options: deny\n\
             \x20   X-Content-Type-Options: nosniff\n\
             \x20   X-XSS-Protection: 1; mode=block\n\
             \x20   Strict-Transport-Security: max-age=31536000\n\
             basic_auth_users:\n\
             \x20 prometheus: '{hash}'\n\
             rate_limit:\n\
             \x20 interval: 100ms\n\
             \x20 burst: 20\n"
    ));
    let state = parse_text(&text).unwrap();
    assert!(state.tls.is_some());
    assert!(state.requires_auth());
    assert_eq!(state.headers.len(), 5);
    assert!(state.rate_limit.is_some());
    assert!(state.warnings.is_empty(), "{:?}", state.warnings);
}

#[test]
fn unimplemented_suites_are_warnings() {
    let text = inline_tls(
        "  client_auth_type: RequireAndVerifyClientCert\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n",
    );
    let state = parse_text(&text).unwrap();
    assert_eq!(state.warnings.len(), 1, "{:?}", state.warnings);
    assert!(
        state.warnings[0].contains("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
        "{:?}",
        state.warnings
    );
}

#[test]
fn headers_are_canonical_and_checked() {
    let state = parse_text(
            "http_server_config:\n  http2: false\n  headers:\n    x-content-type-options: nosniff\n    Strict-Transport-Security: max-age=31536000\n",
        )
        .unwrap();
    let names: Vec<&str> = state.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["strict-transport-security", "x-content-type-options"]
    );
}

/// What each `client_auth_type` protects, as the reload check sees it, and
/// the edits that tighten: each applies.
#[test]
fn each_client_auth_type_maps_to_its_protections_and_tightening_passes() {
    let guard = |extra: &str| {
        parse_text(&inline_tls(extra))
            .unwrap_or_else(|e| panic!("{extra}: {e}"))
            .guard
    };
    for (auth, required, verified) in [
        ("RequestClientCert", false, false),
        ("RequireAnyClientCert", true, false),
        ("RequireClientCert", true, false),
        ("VerifyClientCertIfGiven", false, true),
        ("RequireAndVerifyClientCert", true, true),
    ] {
        let g = guard(&format!("  client_auth_type: {auth}\n"));
        assert!(g.tls, "{auth}");
        assert_eq!(
            (
                g.certificate_required,
                g.certificate_verified,
                g.own_client_cas
            ),
            (required, verified, true),
            "{auth}"
        );
    }
    let tighter = [
        ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"),
        ("RequireAnyClientCert", "RequireAndVerifyClientCert"),
        ("RequestClientCert", "RequireAnyClientCert"),
    ];
    for (from, to) in tighter {
        let (old, new) = (
            guard(&format!("  client_auth_type: {from}\n")),
            guard(&format!("  client_auth_type: {to}\n")),
        );
        assert!(old.loosened_by(&new).is_empty(), "{from} -> {to}");
        assert!(!new.loosened_by(&old).is_empty(), "{to} -> {from}");
    }
    let without = guard("  client_auth_type: RequireAndVerifyClientCert\n");
    let with = guard(
        "  client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [scraper.example]\n  min_version: TLS13\n",
    );
    assert!(
        without.loosened_by(&with).is_empty(),
        "a list of names, TLS 1.3 only"
    );
    assert_eq!(
        with.loosened_by(&without).len(),
        2,
        "{:?}",
        with.loosened_by(&without)
    );
}

/// A change of the web config logs the new settings, as the start-up line
/// does, and never a password's hash.
#[test]
fn a_reload_logs_its_settings_never_its_secrets() {
    let dir = std::env::temp_dir().join(format!(
        "pinpoint-email-exporter-reload-log-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("web.yml");
    let (first, second) = (
        bcrypt::hash("first", 4).unwrap(),
        bcrypt::hash("second", 4).unwrap(),
    );
    std::fs::write(
        &file,
        format!("basic_auth_users:\n  prometheus: '{first}'\n"),
    )
    .unwrap();
    let web = WebConfig::new(Some(file.clone()))
        .unwrap()
        .with_timing(Duration::from_millis(50), Duration::ZERO);

    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || Sink(Arc::clone(&sink)))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // The kernel's file timestamps tick at least every 10 ms.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        &file,
        format!("basic_auth_users:\n  prometheus: '{second}'\n  other: '{second}'\n"),
    )
    .unwrap();
    assert!(!web.recheck(), "seen: the (zero) settle time starts");
    assert!(web.recheck(), "applied");
    let log = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("web config reloaded") && log.contains("basic_auth_users=2"),
        "{log}"
    );
    for secret in [first.as_str(), second.as_str(), "$2b$"] {
        assert!(!log.contains(secret), "{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `tracing` writer into a shared buffer.
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
