//! TLS versions, cipher suites and curves, from Go's names.

use rustls::NamedGroup;
use rustls::crypto::CryptoProvider;

pub(super) fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let rank = |key: &str, v: &str| match v {
        "TLS12" => Ok(2),
        "TLS13" => Ok(3),
        "TLS10" | "TLS11" => Err(format!(
            "tls_server_config.{key}: {v} is not supported (TLS 1.0 and 1.1 are insecure); use TLS12 or TLS13"
        )),
        other => Err(format!(
            "tls_server_config.{key}: unknown TLS version {other:?}; use TLS12 or TLS13"
        )),
    };
    let lo = min
        .map(|v| rank("min_version", v))
        .transpose()?
        .unwrap_or(2);
    let hi = max
        .map(|v| rank("max_version", v))
        .transpose()?
        .unwrap_or(3);
    if lo > hi {
        return Err(
            "tls_server_config: min_version is above max_version; no TLS version is left".into(),
        );
    }
    let mut out = Vec::new();
    if lo <= 2 {
        out.push(&rustls::version::TLS12);
    }
    if hi >= 3 {
        out.push(&rustls::version::TLS13);
    }
    Ok(out)
}

/// Go's names of the TLS 1.3 suites, which Go (and so the exporter-toolkit)
/// accepts in `cipher_suites` and ignores: TLS 1.3 suites are not configurable.
pub(super) const GO_TLS13_SUITES: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// The TLS 1.2 suites of Go's `tls.CipherSuites()` (the names the
/// exporter-toolkit accepts) that rustls does not implement (CBC, and RSA key
/// exchange): accepted with a warning. Go's insecure suites (RC4, 3DES,
/// CBC-SHA256) are refused, as the toolkit refuses them.
pub(super) const GO_UNIMPLEMENTED_SUITES: [&str; 8] = [
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];

/// The provider's suites for a `cipher_suites` list of Go names, and the listed
/// names Go knows that rustls does not implement. As in Go, the list restricts
/// TLS 1.2 only; TLS 1.3 suites are always offered. A name Go does not know is
/// refused, as the exporter-toolkit refuses it; so is a list of which nothing
/// is usable. An empty list means the defaults, as in Go.
pub(super) fn cipher_suites(
    provider: &CryptoProvider,
    names: &[String],
) -> Result<(Vec<rustls::SupportedCipherSuite>, Vec<String>), String> {
    if names.is_empty() {
        return Ok((provider.cipher_suites.clone(), Vec::new()));
    }
    let mut out: Vec<rustls::SupportedCipherSuite> = provider
        .cipher_suites
        .iter()
        .filter(|s| s.version() == &rustls::version::TLS13)
        .copied()
        .collect();
    let mut usable = 0;
    let mut unimplemented = Vec::new();
    for name in names {
        if GO_TLS13_SUITES.contains(&name.as_str()) {
            usable += 1;
            continue;
        }
        if GO_UNIMPLEMENTED_SUITES.contains(&name.as_str()) {
            unimplemented.push(name.clone());
            continue;
        }
        // Also the older names of the ChaCha20 suites, without _SHA256 (Go keeps
        // them as constants; the toolkit takes only the new ones).
        let wanted = if name.ends_with("_CHACHA20_POLY1305") {
            format!("{name}_SHA256")
        } else {
            name.clone()
        };
        match provider
            .cipher_suites
            .iter()
            .find(|s| format!("{:?}", s.suite()) == wanted)
        {
            Some(s) if s.version() == &rustls::version::TLS13 => usable += 1,
            Some(s) => {
                usable += 1;
                if !out.contains(s) {
                    out.push(*s);
                }
            }
            None => {
                let supported: Vec<String> = provider
                    .cipher_suites
                    .iter()
                    .filter(|s| s.version() != &rustls::version::TLS13)
                    .map(|s| format!("{:?}", s.suite()))
                    .chain(GO_TLS13_SUITES.iter().map(|s| s.to_string()))
                    .collect();
                return Err(format!(
                    "tls_server_config.cipher_suites: {name:?} is not a cipher suite Go knows; supported are {}",
                    supported.join(", ")
                ));
            }
        }
    }
    if usable == 0 && !names.is_empty() {
        return Err(format!(
            "tls_server_config.cipher_suites: none of {} is implemented here; add one of {}",
            names.join(", "),
            provider
                .cipher_suites
                .iter()
                .filter(|s| s.version() != &rustls::version::TLS13)
                .map(|s| format!("{:?}", s.suite()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((out, unimplemented))
}

/// The key exchange groups of a `curve_preferences` list of Go names; an empty
/// list means the defaults, as in Go.
pub(super) fn curves(
    provider: &CryptoProvider,
    names: &[String],
) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>, String> {
    if names.is_empty() {
        return Ok(provider.kx_groups.clone());
    }
    let mut out = Vec::new();
    for name in names {
        let group = match name.as_str() {
            "CurveP256" => NamedGroup::secp256r1,
            "CurveP384" => NamedGroup::secp384r1,
            "X25519" => NamedGroup::X25519,
            "X25519MLKEM768" => NamedGroup::X25519MLKEM768,
            other => {
                return Err(format!(
                    "tls_server_config.curve_preferences: {other:?} is not supported; use CurveP256, CurveP384, X25519 or X25519MLKEM768"
                ));
            }
        };
        if let Some(g) = provider.kx_groups.iter().find(|g| g.name() == group) {
            out.push(*g);
        }
    }
    if out.is_empty() {
        return Err("tls_server_config.curve_preferences: no usable curve is left".into());
    }
    Ok(out)
}
