//! Client certificates: how each `client_auth_type` asks for and verifies
//! them, the client CAs, and `client_allowed_sans`.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

/// The CA certificates of `client_ca_file` (or `client_ca`).
pub(super) fn client_cas(
    (field, pem): &(String, String),
) -> Result<Vec<CertificateDer<'static>>, String> {
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
pub(super) fn client_roots(
    cas: Option<&[CertificateDer<'static>]>,
) -> Result<Arc<RootCertStore>, String> {
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
pub(super) fn requires_certificate(auth_type: &str) -> bool {
    matches!(
        auth_type,
        "RequireAnyClientCert" | "RequireClientCert" | "RequireAndVerifyClientCert"
    )
}

/// Whether a `client_auth_type` verifies a client certificate against trusted
/// CAs.
pub(super) fn verifies_certificate(auth_type: &str) -> bool {
    matches!(
        auth_type,
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert"
    )
}

/// How client certificates are asked for and checked, by Go's
/// `client_auth_type` names, as the exporter-toolkit maps them: a client CA is
/// refused only with `NoClientCert`; the two verifying types trust it, or the
/// system's roots without it; the two others only send its subjects as the
/// acceptable issuers. `client_allowed_sans` then requires one of the names.
pub(super) fn client_verifier(
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
pub(super) fn subject_alt_names(cert: &CertificateDer<'_>) -> Vec<String> {
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
