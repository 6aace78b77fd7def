//! `tls_server_config`: the rustls server configuration, from Go's names of
//! versions, suites, curves and client authentication types.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, NamedGroup, RootCertStore, SignatureScheme,
};

use super::TlsFile;

pub(super) fn tls_config(
    tls: TlsFile,
    dir: &Path,
) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    if tls.client_allowed_sans.is_some() {
        return Err(
            "tls_server_config.client_allowed_sans is not supported by this exporter; \
             give the allowed clients certificates of their own CA and set client_ca_file"
                .into(),
        );
    }
    let cert = PemSource::of("cert", tls.cert, "cert_file", tls.cert_file)?;
    let key = PemSource::of("key", tls.key, "key_file", tls.key_file)?;
    let client_ca = PemSource::of(
        "client_ca",
        tls.client_ca,
        "client_ca_file",
        tls.client_ca_file,
    )?;
    let (cert_pem, key_pem) = match (cert, key) {
        // As in the exporter-toolkit: no certificate and no key means plain HTTP.
        (None, None) => {
            if client_ca.is_some() || tls.client_auth_type.is_some() {
                return Err(
                    "tls_server_config: client authentication needs TLS; set cert_file and key_file"
                        .into(),
                );
            }
            return Ok(None);
        }
        (Some(_), None) => {
            return Err("tls_server_config: key_file (or key) is missing; set both the certificate and its key".into());
        }
        (None, Some(_)) => {
            return Err("tls_server_config: cert_file (or cert) is missing; set both the certificate and its key".into());
        }
        (Some(c), Some(k)) => (c.read(dir)?, k.read(dir)?),
    };
    let (certs, key) = server_identity(&cert_pem, &key_pem)?;
    let roots = client_ca
        .map(|c| c.read(dir))
        .transpose()?
        .map(|pem| client_roots(&pem))
        .transpose()?;

    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(names) = &tls.cipher_suites {
        provider.cipher_suites = cipher_suites(&provider, names)?;
    }
    if let Some(names) = &tls.curve_preferences {
        provider.kx_groups = curves(&provider, names)?;
    }
    let provider = Arc::new(provider);
    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())?;
    let auth_type = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let verifier = client_verifier(auth_type, roots, &provider)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "tls_server_config: the certificate ({}) and key ({}) do not form a usable pair: {e}",
                cert_pem.0, key_pem.0
            )
        })?;
    config.ignore_client_order = tls.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// The server's certificate chain and key, from their PEM text (each with the
/// key of the file that named it, for messages).
fn server_identity(
    cert_pem: &(String, String),
    key_pem: &(String, String),
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let certs = CertificateDer::pem_slice_iter(cert_pem.1.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "tls_server_config.{}: not a PEM certificate: {e}",
                cert_pem.0
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "tls_server_config.{}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            cert_pem.0
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.1.as_bytes()).map_err(|_| {
        format!(
            "tls_server_config.{}: holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
            key_pem.0
        )
    })?;
    Ok((certs, key))
}

/// The CA certificates that sign client certificates.
fn client_roots((field, pem): &(String, String)) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("tls_server_config.{field}: not PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("tls_server_config.{field}: bad CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "tls_server_config.{field}: holds no PEM certificate"
        ));
    }
    Ok(Arc::new(roots))
}

/// How client certificates are asked for and checked, by Go's
/// `client_auth_type` names.
fn client_verifier(
    auth_type: &str,
    roots: Option<Arc<RootCertStore>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    Ok(match (auth_type, roots) {
        ("NoClientCert", None) => WebPkiClientVerifier::no_client_auth(),
        ("RequestClientCert", None) => Arc::new(AnyClientCert::new(provider, false)),
        ("RequireAnyClientCert", None) => Arc::new(AnyClientCert::new(provider, true)),
        ("VerifyClientCertIfGiven", Some(roots)) => {
            WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(provider))
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?
        }
        ("RequireAndVerifyClientCert", Some(roots)) => {
            WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(provider))
                .build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?
        }
        ("VerifyClientCertIfGiven" | "RequireAndVerifyClientCert", None) => {
            return Err(format!(
                "tls_server_config: client_auth_type {auth_type} needs client_ca_file (or client_ca), the CA that signs client certificates"
            ));
        }
        ("NoClientCert" | "RequestClientCert" | "RequireAnyClientCert", Some(_)) => {
            return Err(format!(
                "tls_server_config: client_ca_file is set but client_auth_type {auth_type} does not verify client certificates; set client_auth_type: RequireAndVerifyClientCert"
            ));
        }
        (other, _) => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown value {other:?}; use NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ));
        }
    })
}

/// Where a PEM value comes from: inline text or a file, with the key naming it.
enum PemSource {
    Inline(&'static str, String),
    File(&'static str, PathBuf),
}

impl PemSource {
    /// The source given by an inline key and a file key (empty values count as
    /// absent); both at once is an error.
    fn of(
        inline_key: &'static str,
        inline: Option<String>,
        file_key: &'static str,
        file: Option<PathBuf>,
    ) -> Result<Option<PemSource>, String> {
        match (
            inline.filter(|s| !s.is_empty()),
            file.filter(|f| !f.as_os_str().is_empty()),
        ) {
            (Some(_), Some(_)) => Err(format!(
                "tls_server_config: set either {inline_key} or {file_key}, not both"
            )),
            (Some(text), None) => Ok(Some(PemSource::Inline(inline_key, text))),
            (None, Some(file)) => Ok(Some(PemSource::File(file_key, file))),
            (None, None) => Ok(None),
        }
    }

    /// What names the value in messages, and the PEM text (files are read
    /// relative to `dir`).
    fn read(self, dir: &Path) -> Result<(String, String), String> {
        match self {
            PemSource::Inline(key, text) => Ok((key.to_string(), text)),
            PemSource::File(key, file) => {
                let full = dir.join(file);
                let text = std::fs::read_to_string(&full).map_err(|e| {
                    format!(
                        "tls_server_config.{key}: cannot read {}: {e}",
                        full.display()
                    )
                })?;
                Ok((format!("{key} {}", full.display()), text))
            }
        }
    }
}

fn versions(
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

fn cipher_suites(
    provider: &CryptoProvider,
    names: &[String],
) -> Result<Vec<rustls::SupportedCipherSuite>, String> {
    // As in Go, the list only restricts TLS 1.2; TLS 1.3 suites are always offered.
    let mut out: Vec<rustls::SupportedCipherSuite> = provider
        .cipher_suites
        .iter()
        .filter(|s| s.version() == &rustls::version::TLS13)
        .copied()
        .collect();
    for name in names {
        // Go also accepts the older names of the ChaCha20 suites without _SHA256.
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
            Some(s) if s.version() == &rustls::version::TLS13 => {}
            Some(s) => out.push(*s),
            None => {
                let supported: Vec<String> = provider
                    .cipher_suites
                    .iter()
                    .filter(|s| s.version() != &rustls::version::TLS13)
                    .map(|s| format!("{:?}", s.suite()))
                    .collect();
                return Err(format!(
                    "tls_server_config.cipher_suites: {name:?} is not supported; supported are {}",
                    supported.join(", ")
                ));
            }
        }
    }
    Ok(out)
}

fn curves(
    provider: &CryptoProvider,
    names: &[String],
) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>, String> {
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

/// `RequestClientCert` and `RequireAnyClientCert`: ask for a client certificate
/// and check that the client holds its key, but trust any issuer (as Go does).
#[derive(Debug)]
struct AnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
    mandatory: bool,
}

impl AnyClientCert {
    fn new(provider: &CryptoProvider, mandatory: bool) -> Self {
        AnyClientCert {
            algorithms: provider.signature_verification_algorithms,
            mandatory,
        }
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
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
        let suites = cipher_suites(
            &provider,
            &["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".to_string()],
        )
        .unwrap();
        assert!(
            suites.iter().any(
                |s| format!("{:?}", s.suite()) == "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
            )
        );
        let err = cipher_suites(&provider, &["TLS_RSA_WITH_RC4_128_SHA".to_string()]).unwrap_err();
        assert!(
            err.contains("\"TLS_RSA_WITH_RC4_128_SHA\" is not supported"),
            "{err}"
        );
        assert_eq!(curves(&provider, &["X25519".to_string()]).unwrap().len(), 1);
        assert!(curves(&provider, &["CurveP521".to_string()]).is_err());
    }
}
