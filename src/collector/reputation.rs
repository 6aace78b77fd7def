//! The `reputation` collector: the account's bounce and complaint rates, the two
//! figures AWS's reputation review watches, as SES publishes them to CloudWatch
//! (namespace `AWS/SES`, `Reputation.BounceRate` and `Reputation.ComplaintRate`,
//! account level, per region, as ratios), and beside them the volume they are
//! rates of: the messages sent, delivered, bounced, complained about and
//! rejected in the last 24 hours (`Send`, `Delivery`, `Bounce`, `Complaint`,
//! `Reject`, their `Sum`s). One `GetMetricData` call per target and region
//! asks for all seven.

use std::time::{Duration, SystemTime};

use aws_config::{Region, SdkConfig};
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode};

use super::{Call, Interval, Kind, PerPoll, Poller, Spec};
use crate::aws::{BeyondCap, classify_sdk_error};
use crate::error::PollError;
use crate::metrics::{Gauge, Names, Output, Series, Store};
use crate::poller::Collector;
use crate::schedule::PollSettings;
use crate::target::Target;

/// How far back the latest datapoint is looked for: SES publishes the rates
/// only while the account sends, so a quiet account's last one may be hours old.
const LOOKBACK: Duration = Duration::from_secs(24 * 3600);

/// The period the datapoints are averaged over, in seconds.
const PERIOD_SECONDS: i32 = 300;

/// Pages of results read at most; one page (100,800 datapoints) holds far
/// more than a call's: 288 of each rate and one or two of each volume.
const MAX_PAGES: usize = 5;

/// The metric names, and the query ids the answer is matched by.
const BOUNCE: (&str, &str) = ("bounce", "Reputation.BounceRate");
const COMPLAINT: (&str, &str) = ("complaint", "Reputation.ComplaintRate");

/// The metrics each `GetMetricData` call requests: the two rates and the
/// volumes.
const METRICS_PER_CALL: usize = 2 + VOLUMES.len();

/// The counts, as (query id, metric name), in the order of
/// [`Reputation::volumes`]: each the `Sum` of one period as long as
/// [`LOOKBACK`], so one datapoint holds the last 24 hours.
const VOLUMES: [(&str, &str); 5] = [
    ("sends", "Send"),
    ("deliveries", "Delivery"),
    ("bounces", "Bounce"),
    ("complaints", "Complaint"),
    ("rejects", "Reject"),
];

/// The latest datapoint of a rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Datapoint {
    /// The rate, a ratio (0.05 is 5 %).
    pub value: f64,
    /// The datapoint's time, as Unix seconds.
    pub unix_seconds: f64,
}

/// What CloudWatch holds of one account's reputation in one region: the latest
/// datapoint of each rate within [`LOOKBACK`], if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reputation {
    /// `Reputation.BounceRate`.
    pub bounce_rate: Option<Datapoint>,
    /// `Reputation.ComplaintRate`.
    pub complaint_rate: Option<Datapoint>,
    /// The counts of the last 24 hours, in the order of `VOLUMES`: sent,
    /// delivered, bounced, complained about, rejected; 0 without a datapoint
    /// (SES publishes them only while the account sends).
    pub volumes: [f64; 5],
}

/// Builds the reputation collectors of a target: one per region.
#[derive(Debug)]
pub struct ReputationKind;

impl Kind for ReputationKind {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn pollers(
        &self,
        target: &Target,
        sdk_config: &SdkConfig,
        store: &Store,
        settings: PollSettings,
    ) -> Vec<Poller> {
        let client = aws_sdk_cloudwatch::Client::new(sdk_config);
        super::per_region(&SPEC, target, store, settings, |region| CloudWatchSource {
            client: client.clone(),
            region: Region::new(region.to_string()),
            timeout: settings.timeout,
        })
    }
}

/// [`Collector`] over CloudWatch `GetMetricData` in one region.
#[derive(Debug, Clone)]
struct CloudWatchSource {
    client: aws_sdk_cloudwatch::Client,
    region: Region,
    timeout: Duration,
}

impl Collector for CloudWatchSource {
    type Output = Reputation;

    async fn collect(&self) -> Result<Reputation, PollError> {
        let now = SystemTime::now();
        let query = |(id, name): (&str, &str), period: i32, stat: &str| {
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/SES")
                                .metric_name(name)
                                .build(),
                        )
                        .period(period)
                        .stat(stat)
                        .build(),
                )
                .return_data(true)
                .build()
        };
        let mut queries = vec![
            query(BOUNCE, PERIOD_SECONDS, "Average"),
            query(COMPLAINT, PERIOD_SECONDS, "Average"),
        ];
        let window = i32::try_from(LOOKBACK.as_secs()).unwrap_or(i32::MAX);
        queries.extend(VOLUMES.map(|v| query(v, window, "Sum")));
        debug_assert_eq!(queries.len(), METRICS_PER_CALL);
        let queries = &queries;
        let page = |token| async move {
            let in_region =
                aws_sdk_cloudwatch::config::Builder::default().region(self.region.clone());
            let page = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(DateTime::from(now - LOOKBACK))
                .end_time(DateTime::from(now))
                .scan_by(ScanBy::TimestampDescending)
                .set_next_token(token)
                .customize()
                .config_override(in_region)
                .send()
                .await
                .map_err(|e| classify_sdk_error(&e, self.timeout))?;
            let next = page.next_token().map(str::to_string);
            Ok((vec![page], next))
        };
        let pages =
            crate::aws::every_page("GetMetricData", (MAX_PAGES, BeyondCap::Keep), page, |e| e)
                .await?;
        reputation_from_pages(&pages)
    }
}

/// The latest datapoint of each rate, and the sum of each volume's
/// datapoints, in the pages of one call.
fn reputation_from_pages(pages: &[GetMetricDataOutput]) -> Result<Reputation, PollError> {
    let mut reputation = Reputation::default();
    for result in pages.iter().flat_map(|p| p.metric_data_results()) {
        let id = result.id().unwrap_or_default();
        match result.status_code() {
            Some(StatusCode::InternalError) => {
                return Err(PollError::Server(format!(
                    "GetMetricData: CloudWatch could not read {id} (StatusCode InternalError)"
                )));
            }
            Some(StatusCode::Forbidden) => {
                return Err(PollError::Auth(format!(
                    "GetMetricData: reading {id} is forbidden (StatusCode Forbidden)"
                )));
            }
            _ => {}
        }
        let (timestamps, values) = (result.timestamps(), result.values());
        if timestamps.len() != values.len() {
            return Err(PollError::InvalidResponse(format!(
                "GetMetricData: {id} has {} timestamps but {} values",
                timestamps.len(),
                values.len()
            )));
        }
        if let Some(i) = VOLUMES.iter().position(|(v, _)| *v == id) {
            for value in values {
                if !value.is_finite() || *value < 0.0 {
                    return Err(PollError::InvalidResponse(format!(
                        "GetMetricData: {id} has the value {value}, which is not a count"
                    )));
                }
                reputation.volumes[i] += value;
            }
            continue;
        }
        let slot = match id {
            id if id == BOUNCE.0 => &mut reputation.bounce_rate,
            id if id == COMPLAINT.0 => &mut reputation.complaint_rate,
            _ => continue,
        };
        for (at, value) in timestamps.iter().zip(values) {
            if !value.is_finite() || !(0.0..=1.0).contains(value) {
                return Err(PollError::InvalidResponse(format!(
                    "GetMetricData: {id} has the value {value}, which is not a ratio from 0 to 1"
                )));
            }
            let unix_seconds = at.as_secs_f64();
            if slot.is_none_or(|d| unix_seconds > d.unix_seconds) {
                *slot = Some(Datapoint {
                    value: *value,
                    unix_seconds,
                });
            }
        }
    }
    Ok(reputation)
}

/// Its `..._idle` gauge: it follows its region's activity.
const IDLE: Gauge = Gauge {
    name: "pinpoint_email_reputation_idle",
    help: "1 while the region is idle (its account shows no production access, nothing sent in 24 hours and no recent reputation datapoint), so the reputation of this target and region is polled at --collector.idle-interval; 0 while polled at --collector.reputation.interval.",
};

/// The collector's name, in its [`Spec`] and its series' [`Names`].
const SPEC_NAME: &str = "reputation";

/// The reputation collector: CloudWatch's `GetMetricData`, off by default.
pub const SPEC: Spec = Spec {
    name: SPEC_NAME,
    file_key: "reputation",
    about: "the bounce and complaint rates SES publishes to CloudWatch, and the 24-hour volumes behind them",
    default_on: false,
    interval: Some(Interval {
        default: Duration::from_secs(300),
        help: "Time between two GetMetricData calls of the reputation collector for one target and region (SES publishes the rates hourly at most)",
    }),
    settings: &[],
    calls: &[Call {
        action: "cloudwatch:GetMetricData",
        per_poll: PerPoll::One,
        metrics: METRICS_PER_CALL,
    }],
    idle: Some(IDLE),
};

// The gauges of its answers, each declared once.
const REPUTATION_BOUNCE_RATIO: Gauge = Gauge {
    name: "pinpoint_email_reputation_bounce_ratio",
    help: "The account's bounce rate (CloudWatch AWS/SES Reputation.BounceRate, a ratio: 0.05 is 5 %), its latest datapoint of the last 24 hours; absent when there is none. AWS reviews an account at 5 % and may pause its sending at 10 %.",
};

const REPUTATION_BOUNCE_RATIO_TIMESTAMP_SECONDS: Gauge = Gauge {
    name: "pinpoint_email_reputation_bounce_ratio_timestamp_seconds",
    help: "Unix time of the datapoint of pinpoint_email_reputation_bounce_ratio.",
};

const REPUTATION_COMPLAINT_RATIO: Gauge = Gauge {
    name: "pinpoint_email_reputation_complaint_ratio",
    help: "The account's complaint rate (CloudWatch AWS/SES Reputation.ComplaintRate, a ratio: 0.001 is 0.1 %), its latest datapoint of the last 24 hours; absent when there is none. AWS reviews an account at 0.1 % and may pause its sending at 0.5 %.",
};

const REPUTATION_COMPLAINT_RATIO_TIMESTAMP_SECONDS: Gauge = Gauge {
    name: "pinpoint_email_reputation_complaint_ratio_timestamp_seconds",
    help: "Unix time of the datapoint of pinpoint_email_reputation_complaint_ratio.",
};

/// The counts of the last 24 hours, in the order of `VOLUMES`.
const VOLUME_GAUGES: [Gauge; 5] = [
    Gauge {
        name: "pinpoint_email_reputation_sent_emails",
        help: "Messages the account sent in the last 24 hours (CloudWatch AWS/SES Send, the Sum of one 24-hour period); 0 without a datapoint. The volume behind the rates.",
    },
    Gauge {
        name: "pinpoint_email_reputation_delivered_emails",
        help: "Messages delivered in the last 24 hours (CloudWatch AWS/SES Delivery, the Sum of one 24-hour period); 0 without a datapoint.",
    },
    Gauge {
        name: "pinpoint_email_reputation_bounced_emails",
        help: "Messages that bounced in the last 24 hours (CloudWatch AWS/SES Bounce, the Sum of one 24-hour period); 0 without a datapoint.",
    },
    Gauge {
        name: "pinpoint_email_reputation_complained_emails",
        help: "Messages recipients complained about in the last 24 hours (CloudWatch AWS/SES Complaint, the Sum of one 24-hour period); 0 without a datapoint.",
    },
    Gauge {
        name: "pinpoint_email_reputation_rejected_emails",
        help: "Messages SES rejected before sending in the last 24 hours (CloudWatch AWS/SES Reject, the Sum of one 24-hour period); 0 without a datapoint.",
    },
];

/// The reputation series: their own health, error and duration series, so a
/// failing CloudWatch never touches `pinpoint_email_up` or the account values.
const NAMES: Names = Names {
    collector: SPEC_NAME,
    up: Gauge {
        name: "pinpoint_email_reputation_up",
        help: "1 if the last CloudWatch GetMetricData call for the reputation rates succeeded, 0 if it failed.",
    },
    last_success: Gauge {
        name: "pinpoint_email_reputation_last_success_timestamp_seconds",
        help: "Unix time of the last successful GetMetricData call for the reputation rates.",
    },
    calls: (
        "pinpoint_email_reputation_polls_total",
        "GetMetricData calls for the reputation rates made by the background pollers, successful or not.",
    ),
    errors: (
        "pinpoint_email_reputation_poll_errors_total",
        "GetMetricData calls for the reputation rates that failed, by reason (throttled, timeout, network, auth, bad_request, server, invalid_response, other).",
    ),
    durations: (
        "pinpoint_email_reputation_poll_duration_seconds",
        "Duration of GetMetricData calls for the reputation rates, successful or not, of every target of the region (of each target with --metrics.poll-duration-per-target).",
    ),
    idle: SPEC.idle,
    values: &[
        REPUTATION_BOUNCE_RATIO,
        REPUTATION_BOUNCE_RATIO_TIMESTAMP_SECONDS,
        REPUTATION_COMPLAINT_RATIO,
        REPUTATION_COMPLAINT_RATIO_TIMESTAMP_SECONDS,
        VOLUME_GAUGES[0],
        VOLUME_GAUGES[1],
        VOLUME_GAUGES[2],
        VOLUME_GAUGES[3],
        VOLUME_GAUGES[4],
    ],
    help_note: " Polled in the background (--collector.reputation.interval): the answer of the last successful call, at most {stale_after} old (twice --collector.idle-interval while the region is idle).",
    from_config: &[],
};

impl Output for Reputation {
    const NAMES: &'static Names = &NAMES;

    /// The newest rate datapoint, if any.
    fn activity(&self) -> Option<crate::metrics::Evidence> {
        [self.bounce_rate, self.complaint_rate]
            .into_iter()
            .flatten()
            .map(|d| d.unix_seconds)
            .reduce(f64::max)
            .map(|unix_seconds| crate::metrics::Evidence::Datapoint { unix_seconds })
    }

    fn write(&self, series: &mut Series<'_>) {
        for (datapoint, name, timestamp) in [
            (
                self.bounce_rate,
                REPUTATION_BOUNCE_RATIO,
                REPUTATION_BOUNCE_RATIO_TIMESTAMP_SECONDS,
            ),
            (
                self.complaint_rate,
                REPUTATION_COMPLAINT_RATIO,
                REPUTATION_COMPLAINT_RATIO_TIMESTAMP_SECONDS,
            ),
        ] {
            if let Some(d) = datapoint {
                series.gauge(name, d.value);
                series.gauge(timestamp, d.unix_seconds);
            }
        }
        for (gauge, value) in VOLUME_GAUGES.iter().zip(self.volumes) {
            series.gauge(*gauge, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::types::MetricDataResult;

    fn result(id: &str, points: &[(i64, f64)]) -> MetricDataResult {
        MetricDataResult::builder()
            .id(id)
            .set_timestamps(Some(
                points
                    .iter()
                    .map(|(t, _)| DateTime::from_secs(*t))
                    .collect(),
            ))
            .set_values(Some(points.iter().map(|(_, v)| *v).collect()))
            .status_code(StatusCode::Complete)
            .build()
    }

    fn page(results: Vec<MetricDataResult>) -> GetMetricDataOutput {
        GetMetricDataOutput::builder()
            .set_metric_data_results(Some(results))
            .build()
    }

    #[test]
    fn the_latest_datapoint_of_each_rate_across_pages() {
        let pages = [
            page(vec![
                result("bounce", &[(1_000, 0.01), (3_000, 0.03)]),
                result("complaint", &[]),
            ]),
            page(vec![result("bounce", &[(2_000, 0.02)])]),
        ];
        let r = reputation_from_pages(&pages).unwrap();
        assert_eq!(
            r.bounce_rate,
            Some(Datapoint {
                value: 0.03,
                unix_seconds: 3_000.0
            })
        );
        assert_eq!(r.complaint_rate, None, "no datapoint: no value, no error");
    }

    #[test]
    fn volumes_are_the_sums_of_their_datapoints_and_0_without_one() {
        let pages = [
            page(vec![
                result("sends", &[(1_000, 900.0)]),
                result("bounces", &[(1_000, 27.0)]),
                result("rejects", &[]),
            ]),
            page(vec![result("sends", &[(0, 100.0)])]),
        ];
        let r = reputation_from_pages(&pages).unwrap();
        assert_eq!(r.volumes, [1_000.0, 0.0, 27.0, 0.0, 0.0]);
        for bad in [f64::NAN, -1.0, f64::INFINITY] {
            let err = reputation_from_pages(&[page(vec![result("deliveries", &[(1, bad)])])]);
            assert_eq!(err.unwrap_err().reason(), "invalid_response", "{bad}");
        }
    }

    #[test]
    fn impossible_values_and_failed_queries_are_errors() {
        for bad in [f64::NAN, -0.1, 1.5, f64::INFINITY] {
            let err = reputation_from_pages(&[page(vec![result("bounce", &[(1, bad)])])]);
            assert_eq!(err.unwrap_err().reason(), "invalid_response", "{bad}");
        }
        let failed = MetricDataResult::builder()
            .id("complaint")
            .status_code(StatusCode::InternalError)
            .build();
        assert_eq!(
            reputation_from_pages(&[page(vec![failed])])
                .unwrap_err()
                .reason(),
            "server"
        );
    }
}
