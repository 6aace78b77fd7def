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

use super::{Guard, ReadNamed, TlsFile};

/// The rustls configuration of a `tls_server_config`, or `None` for plain HTTP,
/// with warnings about what it leaves out (cipher suites Go knows and rustls
/// does not implement).
pub(super) fn tls_config(
    tls: TlsFile,
    dir: &Path,
    read: ReadNamed<'_>,
) -> Result<(Option<Arc<rustls::ServerConfig>>, Vec<String>), String> {
    let mut warnings = Vec::new();
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
            return Ok((None, warnings));
        }
        (Some(_), None) => {
            return Err("tls_server_config: key_file (or key) is missing; set both the certificate and its key".into());
        }
        (None, Some(_)) => {
            return Err("tls_server_config: cert_file (or cert) is missing; set both the certificate and its key".into());
        }
        (Some(c), Some(k)) => (c.read(dir, read)?, k.read(dir, read)?),
    };
    let (certs, key) = server_identity(&cert_pem, &key_pem)?;
    let client_cas = client_ca
        .map(|c| c.read(dir, read))
        .transpose()?
        .map(|pem| client_cas(&pem))
        .transpose()?;

    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(names) = &tls.cipher_suites {
        let (suites, unimplemented) = cipher_suites(&provider, names)?;
        if !unimplemented.is_empty() {
            warnings.push(format!(
                "tls_server_config.cipher_suites: {} not implemented here (CBC and other legacy suites); left out, the others are used",
                unimplemented.join(", ")
            ));
        }
        provider.cipher_suites = suites;
    }
    if let Some(names) = &tls.curve_preferences {
        provider.kx_groups = curves(&provider, names)?;
    }
    let provider = Arc::new(provider);
    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())?;
    let auth_type = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let verifier = client_verifier(auth_type, client_cas, tls.client_allowed_sans, &provider)?;
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
    Ok((Some(Arc::new(config)), warnings))
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

/// The CA certificates of `client_ca_file` (or `client_ca`).
fn client_cas((field, pem): &(String, String)) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls_server_config.{field}: not PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "tls_server_config.{field}: holds no PEM certificate"
        ));
    }
    Ok(certs)
}

/// The trust anchors of client certificates: the configured CAs, or, as Go does
/// without them, the system's roots.
fn client_roots(cas: Option<&[CertificateDer<'static>]>) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    match cas {
        Some(cas) => {
            for cert in cas {
                roots.add(cert.clone()).map_err(|e| {
                    format!("tls_server_config.client_ca_file: bad CA certificate: {e}")
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    if roots.is_empty() {
        return Err(
            "tls_server_config: no client_ca_file is set and the system has no CA certificates to verify client certificates with; set client_ca_file".into(),
        );
    }
    Ok(Arc::new(roots))
}

/// Whether a `client_auth_type` makes every client present a certificate.
fn requires_certificate(auth_type: &str) -> bool {
    matches!(
        auth_type,
        "RequireAnyClientCert" | "RequireClientCert" | "RequireAndVerifyClientCert"
    )
}

/// Whether a `client_auth_type` verifies a client certificate against trusted
/// CAs.
fn verifies_certificate(auth_type: &str) -> bool {
    matches!(
        auth_type,
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert"
    )
}

/// What a `tls_server_config` protects, given that it does serve TLS (the
/// caller clears it when the section means plain HTTP); basic auth is the
/// caller's to fill in.
pub(super) fn guard(tls: &TlsFile) -> Guard {
    let auth_type = match tls.client_auth_type.as_deref() {
        None | Some("") => "NoClientCert",
        Some(other) => other,
    };
    let own_cas = tls.client_ca.as_deref().is_some_and(|s| !s.is_empty())
        || tls
            .client_ca_file
            .as_deref()
            .is_some_and(|f| !f.as_os_str().is_empty());
    Guard {
        tls: true,
        tls13_only: tls.min_version.as_deref() == Some("TLS13"),
        basic_auth: false,
        client_auth_type: auth_type.to_string(),
        certificate_required: requires_certificate(auth_type),
        certificate_verified: verifies_certificate(auth_type),
        own_client_cas: own_cas,
        allowed_sans: tls
            .client_allowed_sans
            .as_ref()
            .map(|names| names.iter().cloned().collect()),
    }
}

/// How client certificates are asked for and checked, by Go's
/// `client_auth_type` names, as the exporter-toolkit maps them: a client CA is
/// refused only with `NoClientCert`; the two verifying types trust it, or the
/// system's roots without it; the two others only send its subjects as the
/// acceptable issuers. `client_allowed_sans` then requires one of the names.
fn client_verifier(
    auth_type: &str,
    cas: Option<Vec<CertificateDer<'static>>>,
    allowed_sans: Option<Vec<String>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let webpki = |roots: Arc<RootCertStore>, optional: bool| {
        let builder = WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(provider));
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        // The system's roots are not named to clients (hundreds of names in
        // every handshake); Go names only configured CAs.
        let builder = if cas.is_none() {
            builder.clear_root_hint_subjects()
        } else {
            builder
        };
        builder
            .build()
            .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))
    };
    // A client without a certificate would pass a name check that never runs:
    // fail closed, as the exporter-toolkit does.
    if allowed_sans.is_some() && !requires_certificate(auth_type) {
        return Err(format!(
            "tls_server_config: client_allowed_sans needs a client certificate on every connection, but client_auth_type is {}; set client_auth_type: RequireAndVerifyClientCert (or RequireAnyClientCert)",
            if auth_type.is_empty() {
                "NoClientCert"
            } else {
                auth_type
            }
        ));
    }
    let inner: Arc<dyn ClientCertVerifier> = match auth_type {
        "" | "NoClientCert" => {
            if cas.is_some() {
                return Err(
                    "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert; set a client_auth_type (RequireAndVerifyClientCert to verify client certificates), as the exporter-toolkit requires".into(),
                );
            }
            return Ok(WebPkiClientVerifier::no_client_auth());
        }
        "RequestClientCert" => Arc::new(AnyClientCert::new(provider, false, cas.as_deref())),
        // RequireClientCert: the toolkit's older name.
        "RequireAnyClientCert" | "RequireClientCert" => {
            Arc::new(AnyClientCert::new(provider, true, cas.as_deref()))
        }
        "VerifyClientCertIfGiven" => webpki(client_roots(cas.as_deref())?, true)?,
        "RequireAndVerifyClientCert" => webpki(client_roots(cas.as_deref())?, false)?,
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown value {other:?}; use NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ));
        }
    };
    Ok(Arc::new(ClientCheck {
        inner,
        cas: cas.unwrap_or_default(),
        allowed_sans,
    }))
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

    /// What names the value in messages, and the PEM text (files are read by
    /// `read`, relative to `dir`).
    fn read(self, dir: &Path, read: ReadNamed<'_>) -> Result<(String, String), String> {
        match self {
            PemSource::Inline(key, text) => Ok((key.to_string(), text)),
            PemSource::File(key, file) => {
                let full = dir.join(file);
                let text = read(&full).map_err(|e| {
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

/// Go's names of the TLS 1.3 suites, which Go (and so the exporter-toolkit)
/// accepts in `cipher_suites` and ignores: TLS 1.3 suites are not configurable.
const GO_TLS13_SUITES: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// The TLS 1.2 suites of Go's `tls.CipherSuites()` (the names the
/// exporter-toolkit accepts) that rustls does not implement (CBC, and RSA key
/// exchange): accepted with a warning. Go's insecure suites (RC4, 3DES,
/// CBC-SHA256) are refused, as the toolkit refuses them.
const GO_UNIMPLEMENTED_SUITES: [&str; 8] = [
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
fn cipher_suites(
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
fn curves(
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

/// `RequestClientCert` and `RequireAnyClientCert`: ask for a client certificate
/// and check that the client holds its key, but trust any issuer (as Go does);
/// configured CAs are only named to the client as the acceptable issuers.
#[derive(Debug)]
struct AnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
    mandatory: bool,
    hints: Vec<DistinguishedName>,
}

impl AnyClientCert {
    fn new(
        provider: &CryptoProvider,
        mandatory: bool,
        cas: Option<&[CertificateDer<'static>]>,
    ) -> Self {
        let hints = cas
            .unwrap_or_default()
            .iter()
            .filter_map(|ca| {
                x509_parser::parse_x509_certificate(ca)
                    .ok()
                    .map(|(_, c)| DistinguishedName::from(c.subject().as_raw().to_vec()))
            })
            .collect();
        AnyClientCert {
            algorithms: provider.signature_verification_algorithms,
            mandatory,
            hints,
        }
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
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

/// What Go's verification adds to a client certificate verifier: a certificate
/// that is itself one of the configured CAs (a self-signed certificate with
/// `CA:TRUE`, as `openssl req -x509` makes by default, listed as its own
/// `client_ca_file`) is accepted, and with `client_allowed_sans` the verified
/// certificate must carry one of the names (DNS, email, IP or URI SAN, compared
/// as text, as the exporter-toolkit compares them).
#[derive(Debug)]
struct ClientCheck {
    inner: Arc<dyn ClientCertVerifier>,
    cas: Vec<CertificateDer<'static>>,
    allowed_sans: Option<Vec<String>>,
}

impl ClientCertVerifier for ClientCheck {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = match self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(ref other)))
                if self.is_configured_ca(end_entity)
                    && other.to_string().contains("CaUsedAsEndEntity") =>
            {
                ClientCertVerified::assertion()
            }
            other => other?,
        };
        if let Some(allowed) = &self.allowed_sans {
            let names = subject_alt_names(end_entity);
            if !names.iter().any(|n| allowed.contains(n)) {
                return Err(rustls::Error::General(format!(
                    "client certificate carries none of client_allowed_sans (it has {})",
                    names.join(", ")
                )));
            }
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

impl ClientCheck {
    /// Whether `cert` is, byte for byte, one of the configured CAs, and within
    /// its validity period.
    fn is_configured_ca(&self, cert: &CertificateDer<'_>) -> bool {
        if !self.cas.iter().any(|ca| ca.as_ref() == cert.as_ref()) {
            return false;
        }
        x509_parser::parse_x509_certificate(cert).is_ok_and(|(_, c)| c.validity().is_valid())
    }
}

/// The subject alternative names of a certificate as the exporter-toolkit
/// compares them: DNS names, email addresses, IP addresses and URIs, as text.
fn subject_alt_names(cert: &CertificateDer<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert) else {
        return Vec::new();
    };
    let Ok(Some(san)) = parsed.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(n) | GeneralName::RFC822Name(n) | GeneralName::URI(n) => {
                Some(n.to_string())
            }
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => <[u8; 4]>::try_from(*bytes)
                    .ok()
                    .map(|b| std::net::IpAddr::from(b).to_string()),
                16 => <[u8; 16]>::try_from(*bytes)
                    .ok()
                    .map(|b| std::net::IpAddr::from(b).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
