use super::*;

#[test]
fn versions_and_their_order() {
    assert_eq!(versions(None, None).unwrap().len(), 2);
    assert_eq!(versions(Some("TLS13"), None).unwrap().len(), 1);
    assert!(
        versions(Some("TLS10"), None)
            .unwrap_err()
            .contains("not supported")
    );
    assert!(
        versions(Some("TLS13"), Some("TLS12"))
            .unwrap_err()
            .contains("above")
    );
    assert!(
        versions(None, Some("TLS14"))
            .unwrap_err()
            .contains("unknown TLS version")
    );
}

#[test]
fn cipher_suites_and_curves_map_go_names() {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let (suites, _) = cipher_suites(
        &provider,
        &["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".to_string()],
    )
    .unwrap();
    assert!(
        suites
            .iter()
            .any(|s| format!("{:?}", s.suite()) == "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")
    );
    // Go's names of TLS 1.3 suites are accepted (and, as in Go, ignored).
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (suites, dropped) = cipher_suites(
        &provider,
        &names(&["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"]),
    )
    .unwrap();
    assert!(dropped.is_empty());
    assert!(
        suites
            .iter()
            .all(|s| s.version() == &rustls::version::TLS13)
    );
    // Suites Go knows and rustls does not implement: left out, named.
    let (_, dropped) = cipher_suites(
        &provider,
        &names(&[
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ]),
    )
    .unwrap();
    assert_eq!(dropped, ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]);
    let err =
        cipher_suites(&provider, &names(&["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"])).unwrap_err();
    assert!(
        err.contains("none of TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is implemented"),
        "{err}"
    );
    // Go's insecure suites: refused, as the toolkit refuses them.
    let err = cipher_suites(&provider, &names(&["TLS_RSA_WITH_RC4_128_SHA"])).unwrap_err();
    assert!(err.contains("not a cipher suite Go knows"), "{err}");
    // Empty lists mean the defaults.
    let (suites, _) = cipher_suites(&provider, &[]).unwrap();
    assert_eq!(suites.len(), provider.cipher_suites.len());
    assert_eq!(
        curves(&provider, &[]).unwrap().len(),
        provider.kx_groups.len()
    );
    let err = cipher_suites(&provider, &names(&["TLS_MADE_UP"])).unwrap_err();
    assert!(
        err.contains("\"TLS_MADE_UP\" is not a cipher suite Go knows"),
        "{err}"
    );
    assert_eq!(curves(&provider, &["X25519".to_string()]).unwrap().len(), 1);
    assert!(curves(&provider, &["CurveP521".to_string()]).is_err());
}
