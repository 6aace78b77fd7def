//! The identity calls of both APIs, into one shape.

use std::time::Duration;

use aws_config::Region;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};

use super::{Details, Listed, MailFrom};
use crate::aws::{BeyondCap, classify_sdk_error};
use crate::error::PollError;

/// Identities asked for per page: the most the APIs give.
const PAGE_SIZE: i32 = 1000;

/// Pages read at most per listing: 100,000 identities, ten times the most
/// SES allows a region; an answer with more is an error rather than a
/// silently partial count.
const MAX_PAGES: usize = 100;

/// The client of the API a target's identities are read through.
#[derive(Debug)]
pub(super) enum Client {
    PinpointEmail(aws_sdk_pinpointemail::Client),
    Sesv2(aws_sdk_sesv2::Client),
}

/// Whether `err` is AWS's answer that the identity does not exist.
fn not_found<E: ProvideErrorMetadata>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.code() == Some("NotFoundException"))
}

impl Client {
    /// Every identity of `region` (`ListEmailIdentities`, every page).
    pub(super) async fn list(
        &self,
        region: &Region,
        timeout: Duration,
    ) -> Result<Vec<Listed>, PollError> {
        let page = |token: Option<String>| async move {
            match self {
                Client::PinpointEmail(client) => {
                    let in_region =
                        aws_sdk_pinpointemail::config::Builder::default().region(region.clone());
                    let out = client
                        .list_email_identities()
                        .page_size(PAGE_SIZE)
                        .set_next_token(token)
                        .customize()
                        .config_override(in_region)
                        .send()
                        .await
                        .map_err(|e| classify_sdk_error(&e, timeout))?;
                    let listed = out.email_identities().iter().map(|i| {
                        let kind = i.identity_type().map(|t| t.as_str());
                        listed(i.identity_name(), kind, i.sending_enabled(), None)
                    });
                    Ok((listed.collect(), out.next_token().map(str::to_string)))
                }
                Client::Sesv2(client) => {
                    let in_region =
                        aws_sdk_sesv2::config::Builder::default().region(region.clone());
                    let out = client
                        .list_email_identities()
                        .page_size(PAGE_SIZE)
                        .set_next_token(token)
                        .customize()
                        .config_override(in_region)
                        .send()
                        .await
                        .map_err(|e| classify_sdk_error(&e, timeout))?;
                    let listed = out.email_identities().iter().map(|i| {
                        let kind = i.identity_type().map(|t| t.as_str());
                        let status = i.verification_status().map(|s| s.as_str());
                        listed(i.identity_name(), kind, i.sending_enabled(), status)
                    });
                    Ok((listed.collect(), out.next_token().map(str::to_string)))
                }
            }
        };
        let listed: Vec<Listed> = crate::aws::every_page(
            "ListEmailIdentities",
            (MAX_PAGES, BeyondCap::Fail),
            page,
            |e| e,
        )
        .await?;
        if let Some(nameless) = listed.iter().find(|l| l.name.is_empty()) {
            return Err(PollError::InvalidResponse(format!(
                "ListEmailIdentities: an identity of type {:?} has no name",
                nameless.identity_type
            )));
        }
        Ok(listed)
    }

    /// What `GetEmailIdentity` says of `name` in `region`; `None` when the
    /// identity no longer exists.
    pub(super) async fn get(
        &self,
        region: &Region,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<Details>, PollError> {
        match self {
            Client::PinpointEmail(client) => {
                let in_region =
                    aws_sdk_pinpointemail::config::Builder::default().region(region.clone());
                let out = match client
                    .get_email_identity()
                    .email_identity(name)
                    .customize()
                    .config_override(in_region)
                    .send()
                    .await
                {
                    Ok(out) => out,
                    Err(e) if not_found(&e) => return Ok(None),
                    Err(e) => return Err(classify_sdk_error(&e, timeout)),
                };
                let dkim = out.dkim_attributes().map(|d| Dkim {
                    status: d.status().map(|s| s.as_str()),
                    signing_enabled: d.signing_enabled(),
                    origin: None,
                });
                let mail_from = out.mail_from_attributes().map(|m| {
                    (
                        m.mail_from_domain(),
                        m.mail_from_domain_status().as_str(),
                        m.behavior_on_mx_failure().as_str(),
                    )
                });
                Ok(Some(details(
                    out.verified_for_sending_status(),
                    None,
                    dkim,
                    mail_from,
                )))
            }
            Client::Sesv2(client) => {
                let in_region = aws_sdk_sesv2::config::Builder::default().region(region.clone());
                let out = match client
                    .get_email_identity()
                    .email_identity(name)
                    .customize()
                    .config_override(in_region)
                    .send()
                    .await
                {
                    Ok(out) => out,
                    Err(e) if not_found(&e) => return Ok(None),
                    Err(e) => return Err(classify_sdk_error(&e, timeout)),
                };
                let dkim = out.dkim_attributes().map(|d| Dkim {
                    status: d.status().map(|s| s.as_str()),
                    signing_enabled: d.signing_enabled(),
                    origin: d.signing_attributes_origin().map(|o| o.as_str()),
                });
                let mail_from = out.mail_from_attributes().map(|m| {
                    (
                        m.mail_from_domain(),
                        m.mail_from_domain_status().as_str(),
                        m.behavior_on_mx_failure().as_str(),
                    )
                });
                Ok(Some(details(
                    out.verified_for_sending_status(),
                    out.verification_status().map(|s| s.as_str()),
                    dkim,
                    mail_from,
                )))
            }
        }
    }
}

/// One identity of a listing of either API.
fn listed(
    name: Option<&str>,
    identity_type: Option<&str>,
    sending_enabled: bool,
    verification_status: Option<&str>,
) -> Listed {
    Listed {
        name: name.unwrap_or_default().to_string(),
        identity_type: identity_type.unwrap_or_default().to_string(),
        sending_enabled,
        verification_status: verification_status.map(str::to_string),
    }
}

/// `DkimAttributes` of either API.
struct Dkim<'a> {
    status: Option<&'a str>,
    signing_enabled: bool,
    origin: Option<&'a str>,
}

/// What `GetEmailIdentity` of either API says; `mail_from` is the domain,
/// its status and the behavior on MX failure (AWS may answer the attributes
/// with an empty domain when none is set up).
fn details(
    verified_for_sending: bool,
    verification_status: Option<&str>,
    dkim: Option<Dkim<'_>>,
    mail_from: Option<(&str, &str, &str)>,
) -> Details {
    Details {
        verified_for_sending,
        verification_status: verification_status.map(str::to_string),
        dkim_status: dkim
            .as_ref()
            .and_then(|d| d.status)
            .unwrap_or("NOT_STARTED")
            .to_string(),
        dkim_signing_enabled: dkim.as_ref().is_some_and(|d| d.signing_enabled),
        dkim_origin: dkim.and_then(|d| d.origin).map(str::to_string),
        mail_from: mail_from.filter(|(domain, _, _)| !domain.is_empty()).map(
            |(domain, status, behavior)| MailFrom {
                domain: domain.to_string(),
                status: status.to_string(),
                behavior_on_mx_failure: behavior.to_string(),
            },
        ),
    }
}
