//! The `dedicated-ips` collector: the warm-up of each dedicated IP address of
//! the account (`GetDedicatedIps`, every page), through the API the target
//! uses: Pinpoint Email `GET /v1/email/dedicated-ips` or SES v2
//! `GET /v2/email/dedicated-ips`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_config::{Region, SdkConfig};

use super::{Call, Interval, Kind, PerPoll, Poller, Setting, Spec};
use crate::aws::{BeyondCap, classify_sdk_error, operation_gone};
use crate::error::PollError;
use crate::metrics::{Gauge, Names, Output, Series};
use crate::poller::Collector;
use crate::schedule::PollSettings;
use crate::target::{Api, Target};

/// Warm-up statuses always exported, 0 when not current (`NOT_APPLICABLE` is
/// SES v2's, for managed pools).
const KNOWN_WARMUP_STATUSES: [&str; 3] = ["IN_PROGRESS", "DONE", "NOT_APPLICABLE"];

/// Addresses asked for per page: the most the APIs give.
const PAGE_SIZE: i32 = 100;

/// Pages read at most per call: 10,000 addresses, far beyond any account; an
/// answer with more is an error rather than a silently partial count.
const MAX_PAGES: usize = 100;

/// One dedicated IP address and its warm-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedicatedIp {
    /// `Ip`.
    pub ip: String,
    /// `PoolName`; empty when the address is in no pool.
    pub pool: String,
    /// `WarmupPercentage`, 0 to 100; `None` for managed pools (AWS's -1).
    pub warmup_percentage: Option<u8>,
    /// `WarmupStatus` as AWS spells it.
    pub warmup_status: String,
}

/// The dedicated IPs of one account in one region: at most the configured
/// number, in (pool, address) order, and how many more there were.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DedicatedIps {
    /// The addresses exported.
    pub ips: Vec<DedicatedIp>,
    /// Addresses left out by `--collector.dedicated-ips.max-ips`.
    pub dropped: usize,
}

impl DedicatedIps {
    /// The addresses of every page, sorted, cut to `max_ips`. Percentages out
    /// of 0 to 100 other than AWS's -1 are an invalid answer.
    fn from_pages(
        pages: Vec<(String, Option<String>, i32, String)>,
        max_ips: usize,
    ) -> Result<Self, PollError> {
        let mut ips = Vec::with_capacity(pages.len());
        for (ip, pool, percentage, status) in pages {
            let warmup_percentage = match percentage {
                -1 => None,
                p => Some(u8::try_from(p).ok().filter(|p| *p <= 100).ok_or_else(|| {
                    PollError::InvalidResponse(format!(
                        "GetDedicatedIps: {ip} has the warm-up percentage {p}, not 0 to 100"
                    ))
                })?),
            };
            ips.push(DedicatedIp {
                ip,
                pool: pool.unwrap_or_default(),
                warmup_percentage,
                warmup_status: status,
            });
        }
        ips.sort_by(|a, b| (&a.pool, &a.ip).cmp(&(&b.pool, &b.ip)));
        ips.dedup_by(|a, b| a.ip == b.ip && a.pool == b.pool);
        let dropped = ips.len().saturating_sub(max_ips);
        ips.truncate(max_ips);
        Ok(DedicatedIps { ips, dropped })
    }
}

/// Builds the dedicated-IP collectors of a target: one per region.
#[derive(Debug)]
pub struct DedicatedIpsKind;

impl Kind for DedicatedIpsKind {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn pollers(
        &self,
        target: &Target,
        sdk_config: &SdkConfig,
        store: &crate::metrics::Store,
        settings: PollSettings,
    ) -> Vec<Poller> {
        let pinpoint = aws_sdk_pinpointemail::Client::new(sdk_config);
        let sesv2 = aws_sdk_sesv2::Client::new(sdk_config);
        super::per_region(&SPEC, target, store, settings, |region| {
            DedicatedIpsSource {
                pinpoint: pinpoint.clone(),
                sesv2: sesv2.clone(),
                region: Region::new(region.to_string()),
                timeout: settings.timeout,
                max_ips: SPEC.setting(target, &MAX_IPS),
                use_sesv2: AtomicBool::new(target.api == Api::Sesv2),
                fall_back: target.api == Api::Auto,
            }
        })
    }
}

/// [`Collector`] over `GetDedicatedIps` in one region: Pinpoint Email, or SES
/// v2; with `api: auto`, Pinpoint Email until it answers that the operation is
/// gone, then SES v2 for good.
#[derive(Debug)]
struct DedicatedIpsSource {
    pinpoint: aws_sdk_pinpointemail::Client,
    sesv2: aws_sdk_sesv2::Client,
    region: Region,
    timeout: Duration,
    max_ips: usize,
    use_sesv2: AtomicBool,
    fall_back: bool,
}

type Page = Vec<(String, Option<String>, i32, String)>;

impl DedicatedIpsSource {
    async fn pinpoint(&self) -> Result<Page, (PollError, bool)> {
        let page = |token| async move {
            let in_region =
                aws_sdk_pinpointemail::config::Builder::default().region(self.region.clone());
            let out = self
                .pinpoint
                .get_dedicated_ips()
                .page_size(PAGE_SIZE)
                .set_next_token(token)
                .customize()
                .config_override(in_region)
                .send()
                .await
                .map_err(|e| (classify_sdk_error(&e, self.timeout), operation_gone(&e)))?;
            let ips = out.dedicated_ips().iter().map(|d| {
                (
                    d.ip().to_string(),
                    d.pool_name().map(str::to_string),
                    d.warmup_percentage(),
                    d.warmup_status().as_str().to_string(),
                )
            });
            Ok((ips.collect(), out.next_token().map(str::to_string)))
        };
        every_page(page, |e| (e, false)).await
    }

    async fn sesv2(&self) -> Result<Page, PollError> {
        let page = |token| async move {
            let in_region = aws_sdk_sesv2::config::Builder::default().region(self.region.clone());
            let out = self
                .sesv2
                .get_dedicated_ips()
                .page_size(PAGE_SIZE)
                .set_next_token(token)
                .customize()
                .config_override(in_region)
                .send()
                .await
                .map_err(|e| classify_sdk_error(&e, self.timeout))?;
            let ips = out.dedicated_ips().iter().map(|d| {
                (
                    d.ip().to_string(),
                    d.pool_name().map(str::to_string),
                    d.warmup_percentage(),
                    d.warmup_status().as_str().to_string(),
                )
            });
            Ok((ips.collect(), out.next_token().map(str::to_string)))
        };
        every_page(page, |e| e).await
    }
}

/// Every page of one `GetDedicatedIps` call through either API
/// ([`crate::aws::every_page`]); `invalid` makes an answer that pages wrongly
/// the API's error type.
async fn every_page<E, F, Fut>(page: F, invalid: fn(PollError) -> E) -> Result<Page, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Page, Option<String>), E>>,
{
    crate::aws::every_page(
        "GetDedicatedIps",
        (MAX_PAGES, BeyondCap::Fail),
        page,
        invalid,
    )
    .await
}

impl Collector for DedicatedIpsSource {
    type Output = DedicatedIps;

    async fn collect(&self) -> Result<DedicatedIps, PollError> {
        let pages = if self.use_sesv2.load(Ordering::Relaxed) {
            self.sesv2().await?
        } else {
            match self.pinpoint().await {
                Ok(pages) => pages,
                Err((_, true)) if self.fall_back => {
                    self.use_sesv2.store(true, Ordering::Relaxed);
                    self.sesv2().await?
                }
                Err((err, _)) => return Err(err),
            }
        };
        DedicatedIps::from_pages(pages, self.max_ips)
    }
}

/// `--collector.dedicated-ips.max-ips`.
const MAX_IPS: Setting = Setting {
    key: "max-ips",
    help: "The most dedicated IP addresses exported per target and region; the rest are counted in pinpoint_email_dedicated_ips_dropped",
    default: 256,
    min: 1,
};

/// Its `..._idle` gauge: it follows its region's activity.
const IDLE: Gauge = Gauge {
    name: "pinpoint_email_dedicated_ips_idle",
    help: "1 while the region is idle (its account shows no production access, nothing sent in 24 hours and no recent reputation datapoint), so the dedicated IPs of this target and region are polled at --collector.idle-interval; 0 while polled at --collector.dedicated-ips.interval.",
};

/// The collector's name, in its [`Spec`] and its series' [`Names`].
const SPEC_NAME: &str = "dedicated-ips";

/// The dedicated-IPs collector: `GetDedicatedIps`, off by default.
pub const SPEC: Spec = Spec {
    name: SPEC_NAME,
    file_key: "dedicated_ips",
    about: "the warm-up of each dedicated IP address",
    default_on: false,
    interval: Some(Interval {
        default: Duration::from_secs(600),
        help: "Time between two GetDedicatedIps calls (every page) of one target and region",
    }),
    settings: &[MAX_IPS],
    calls: &[Call {
        action: "ses:GetDedicatedIps",
        per_poll: PerPoll::One,
        metrics: 0,
    }],
    idle: Some(IDLE),
};

// The gauges of its answers, each declared once.
const DEDICATED_IP_WARMUP_RATIO: Gauge = Gauge {
    name: "pinpoint_email_dedicated_ip_warmup_ratio",
    help: "Warm-up progress of the dedicated IP address, a ratio from 0 to 1 (AWS's WarmupPercentage / 100), labels ip and pool; absent for managed pools, which AWS warms up itself.",
};

const DEDICATED_IP_WARMUP_STATUS: Gauge = Gauge {
    name: "pinpoint_email_dedicated_ip_warmup_status",
    help: "Warm-up status of the dedicated IP address (WarmupStatus): 1 for the current status, 0 for the others (IN_PROGRESS, DONE, NOT_APPLICABLE, and any other AWS sends), labels ip and pool.",
};

const DEDICATED_IPS: Gauge = Gauge {
    name: "pinpoint_email_dedicated_ips",
    help: "Dedicated IP addresses of the account in the region, exported or not.",
};

const DEDICATED_IPS_DROPPED: Gauge = Gauge {
    name: "pinpoint_email_dedicated_ips_dropped",
    help: "Dedicated IP addresses of the last answer left out by --collector.dedicated-ips.max-ips.",
};

/// The dedicated-IP series, with their own health, error and duration series.
const NAMES: Names = Names {
    collector: SPEC_NAME,
    up: Gauge {
        name: "pinpoint_email_dedicated_ips_up",
        help: "1 if the last GetDedicatedIps call succeeded, 0 if it failed.",
    },
    last_success: Gauge {
        name: "pinpoint_email_dedicated_ips_last_success_timestamp_seconds",
        help: "Unix time of the last successful GetDedicatedIps call.",
    },
    calls: (
        "pinpoint_email_dedicated_ips_polls_total",
        "GetDedicatedIps calls (every page of one counts once) made by the background pollers, successful or not.",
    ),
    errors: (
        "pinpoint_email_dedicated_ips_poll_errors_total",
        "GetDedicatedIps calls that failed, by reason (throttled, timeout, network, auth, bad_request, server, invalid_response, other).",
    ),
    durations: (
        "pinpoint_email_dedicated_ips_poll_duration_seconds",
        "Duration of GetDedicatedIps calls (every page), successful or not, of every target of the region (of each target with --metrics.poll-duration-per-target).",
    ),
    idle: SPEC.idle,
    values: &[
        DEDICATED_IP_WARMUP_RATIO,
        DEDICATED_IP_WARMUP_STATUS,
        DEDICATED_IPS,
        DEDICATED_IPS_DROPPED,
    ],
    help_note: " Polled in the background (--collector.dedicated-ips.interval): the answer of the last successful call, at most {stale_after} old (twice --collector.idle-interval while the region is idle).",
    from_config: &[],
};

impl Output for DedicatedIps {
    const NAMES: &'static Names = &NAMES;

    fn write(&self, series: &mut Series<'_>) {
        series.gauge(DEDICATED_IPS, (self.ips.len() + self.dropped) as f64);
        series.gauge(DEDICATED_IPS_DROPPED, self.dropped as f64);
        for ip in &self.ips {
            let labels = [("ip", ip.ip.as_str()), ("pool", ip.pool.as_str())];
            if let Some(p) = ip.warmup_percentage {
                series.with_labels(DEDICATED_IP_WARMUP_RATIO, &labels, f64::from(p) / 100.0);
            }
            let mut statuses: Vec<&str> = KNOWN_WARMUP_STATUSES.to_vec();
            if !statuses.contains(&ip.warmup_status.as_str()) {
                statuses.push(&ip.warmup_status);
            }
            for status in statuses {
                series.with_labels(
                    DEDICATED_IP_WARMUP_STATUS,
                    &[labels[0], labels[1], ("status", status)],
                    f64::from(u8::from(status == ip.warmup_status)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(
        ip: &str,
        pool: Option<&str>,
        p: i32,
        status: &str,
    ) -> (String, Option<String>, i32, String) {
        (ip.into(), pool.map(str::to_string), p, status.into())
    }

    #[test]
    fn sorted_cut_to_the_cap_with_managed_pools_without_a_percentage() {
        let ips = DedicatedIps::from_pages(
            vec![
                page("198.51.100.9", Some("b"), 100, "DONE"),
                page("198.51.100.2", Some("a"), 40, "IN_PROGRESS"),
                page("198.51.100.5", None, -1, "NOT_APPLICABLE"),
            ],
            2,
        )
        .unwrap();
        assert_eq!(ips.dropped, 1);
        assert_eq!(ips.ips[0].ip, "198.51.100.5");
        assert_eq!(ips.ips[0].warmup_percentage, None);
        assert_eq!(ips.ips[1].pool, "a");
        assert_eq!(ips.ips[1].warmup_percentage, Some(40));
    }

    #[test]
    fn impossible_percentages_are_invalid() {
        for p in [101, -2, i32::MAX] {
            let err = DedicatedIps::from_pages(vec![page("198.51.100.1", None, p, "DONE")], 10);
            assert_eq!(err.unwrap_err().reason(), "invalid_response", "{p}");
        }
    }
}
