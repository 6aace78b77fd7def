//! `tls_server_config`: the rustls server configuration, from Go's names of
//! versions, suites, curves and client authentication types.

mod suites;
mod verify;

use suites::{cipher_suites, curves, versions};
use verify::{client_cas, client_verifier, requires_certificate, verifies_certificate};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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

#[cfg(test)]
mod tests;
