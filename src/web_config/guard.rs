//! What a running exporter's web config protects, and whether a new version
//! would loosen it: a reload may only keep or tighten each protection.

use std::collections::BTreeSet;

/// The protections of a web config that a reload may not loosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guard {
    /// Served over TLS.
    pub tls: bool,
    /// TLS 1.3 only (`min_version: TLS13`).
    pub tls13_only: bool,
    /// Requests need basic auth credentials (at least one user).
    pub basic_auth: bool,
    /// `client_auth_type` as written (`NoClientCert` when absent).
    pub client_auth_type: String,
    /// Every connection presents a client certificate.
    pub certificate_required: bool,
    /// A client certificate is verified against trusted CAs.
    pub certificate_verified: bool,
    /// The trusted CAs are the configured ones (`client_ca_file` or
    /// `client_ca`), not the system's.
    pub own_client_cas: bool,
    /// `client_allowed_sans`: a certificate must carry one of these names.
    pub allowed_sans: Option<BTreeSet<String>>,
}

impl Guard {
    /// How `new` would loosen what `self` protects, a sentence for each
    /// protection; empty when it keeps or tightens every one.
    pub fn loosened_by(&self, new: &Guard) -> Vec<String> {
        let mut loosened = Vec::new();
        let auth_types = || {
            format!(
                "client_auth_type {} -> {}",
                self.client_auth_type, new.client_auth_type
            )
        };
        if self.tls && !new.tls {
            loosened.push("drops TLS (the port would serve plain HTTP)".to_string());
        }
        if self.tls && new.tls && self.tls13_only && !new.tls13_only {
            loosened.push("lowers min_version from TLS13".to_string());
        }
        if self.basic_auth && !new.basic_auth {
            loosened.push("removes every basic auth user (every client would get in)".to_string());
        }
        if self.certificate_required && !new.certificate_required {
            loosened.push(format!(
                "stops requiring a client certificate ({})",
                auth_types()
            ));
        }
        if self.certificate_verified && !new.certificate_verified {
            loosened.push(format!(
                "stops verifying client certificates ({}: any self-signed certificate would get in)",
                auth_types()
            ));
        }
        if self.certificate_verified
            && new.certificate_verified
            && self.own_client_cas
            && !new.own_client_cas
        {
            loosened.push(
                "drops client_ca_file (client certificates would be verified against the system's CAs)"
                    .to_string(),
            );
        }
        match (&self.allowed_sans, &new.allowed_sans) {
            (Some(_), None) => loosened.push(
                "drops client_allowed_sans (any name of a trusted certificate would get in)"
                    .to_string(),
            ),
            (Some(old), Some(new)) => {
                let added: Vec<&str> = new.difference(old).map(String::as_str).collect();
                if !added.is_empty() {
                    loosened.push(format!("adds {} to client_allowed_sans", added.join(", ")));
                }
            }
            (None, _) => {}
        }
        loosened
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mtls() -> Guard {
        Guard {
            tls: true,
            tls13_only: false,
            basic_auth: true,
            client_auth_type: "RequireAndVerifyClientCert".into(),
            certificate_required: true,
            certificate_verified: true,
            own_client_cas: true,
            allowed_sans: Some(["scraper.example".to_string()].into()),
        }
    }

    #[test]
    fn each_loosening_is_named_and_tightening_passes() {
        let old = mtls();
        assert!(old.loosened_by(&old).is_empty());
        let fewer_names = Guard {
            allowed_sans: Some(BTreeSet::new()),
            tls13_only: true,
            ..mtls()
        };
        assert!(old.loosened_by(&fewer_names).is_empty(), "tighter");
        let cases: [(&str, Guard); 8] = [
            ("drops TLS", Guard::default()),
            (
                "lowers min_version",
                Guard {
                    tls13_only: false,
                    ..fewer_names.clone()
                },
            ),
            (
                "removes every basic auth user",
                Guard {
                    basic_auth: false,
                    ..mtls()
                },
            ),
            (
                "stops requiring a client certificate (client_auth_type RequireAndVerifyClientCert -> VerifyClientCertIfGiven)",
                Guard {
                    client_auth_type: "VerifyClientCertIfGiven".into(),
                    certificate_required: false,
                    ..mtls()
                },
            ),
            (
                "stops verifying client certificates (client_auth_type RequireAndVerifyClientCert -> RequireAnyClientCert",
                Guard {
                    client_auth_type: "RequireAnyClientCert".into(),
                    certificate_verified: false,
                    ..mtls()
                },
            ),
            (
                "drops client_ca_file",
                Guard {
                    own_client_cas: false,
                    ..mtls()
                },
            ),
            (
                "drops client_allowed_sans",
                Guard {
                    allowed_sans: None,
                    ..mtls()
                },
            ),
            (
                "adds intruder.example to client_allowed_sans",
                Guard {
                    allowed_sans: Some(
                        [
                            "scraper.example".to_string(),
                            "intruder.example".to_string(),
                        ]
                        .into(),
                    ),
                    ..mtls()
                },
            ),
        ];
        for (want, new) in cases {
            let from = if want == "lowers min_version" {
                &fewer_names
            } else {
                &old
            };
            let said = from.loosened_by(&new);
            assert!(said.iter().any(|s| s.contains(want)), "{want}: {said:?}");
        }
        // Losing everything names each of the five protections `mtls` has
        // that a default (plain HTTP) config lacks.
        assert_eq!(old.loosened_by(&Guard::default()).len(), 5);
    }
}
