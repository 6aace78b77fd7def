//! What polling costs: AWS calls an hour for each operation and CloudWatch
//! metrics requested a month, for the targets of a configuration, from each
//! collector's declared calls ([`crate::collector::Call`]) and the schedules.
//!
//! A region polls every collector at its own interval while it sends, and
//! the collectors that follow activity at `--collector.idle-interval` while
//! it does not; at a share `f` of sending regions each operation is called
//! `f * sending + (1 - f) * idle` times.

use std::collections::BTreeMap;

use crate::collector::{KINDS, PerPoll};
use crate::schedule::Schedules;
use crate::target::{Credentials, Target};

/// Hours in the month the figures use: 30 days, as CloudWatch's examples.
const HOURS_PER_MONTH: f64 = 720.0;

/// Calls an hour of one operation (or metrics an hour), if every region
/// sends and if none does.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rate {
    /// Every region sends: each collector at its own interval.
    pub sending: f64,
    /// No region sends: the collectors that follow activity at the idle
    /// interval.
    pub idle: f64,
}

impl Rate {
    /// The rate when a share `f` of the regions send.
    pub fn at(self, f: f64) -> f64 {
        f * self.sending + (1.0 - f) * self.idle
    }

    fn add(&mut self, sending: f64, idle: f64) {
        self.sending += sending;
        self.idle += idle;
    }
}

/// What the targets' polling costs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimate {
    /// (target, region) pairs.
    pub regions: usize,
    /// Calls an hour by IAM action (`ses:GetAccount`, ...).
    pub calls: BTreeMap<&'static str, Rate>,
    /// CloudWatch metrics requested an hour.
    pub metrics: Rate,
}

/// The cost of polling `targets` on `schedules`.
pub fn estimate<'a>(
    targets: impl IntoIterator<Item = &'a Target>,
    schedules: &Schedules,
) -> Estimate {
    let mut out = Estimate::default();
    for target in targets {
        out.regions += target.regions.len();
        let regions = target.regions.len() as f64;
        for kind in KINDS {
            let spec = kind.spec();
            let Some(settings) = schedules.of(spec.name) else {
                continue;
            };
            if !target.collectors.enabled(spec.name) {
                continue;
            }
            let per_hour = |every: std::time::Duration| 3600.0 / every.as_secs_f64();
            let sending = per_hour(settings.interval);
            // Never more often than its own interval.
            let idle = match (spec.idle, settings.idle_interval) {
                (Some(_), Some(idle)) => per_hour(idle.max(settings.interval)),
                _ => sending,
            };
            for call in spec.calls {
                let n = match call.per_poll {
                    PerPoll::One => 1.0,
                    PerPoll::Paced(setting) => {
                        crate::collector::paced(settings.interval, spec.setting(target, setting))
                            as f64
                    }
                };
                let rate = out.calls.entry(call.action).or_default();
                rate.add(regions * sending * n, regions * idle * n);
                let metrics = (regions * call.metrics as f64) * n;
                out.metrics.add(sending * metrics, idle * metrics);
            }
        }
        // One session per role target, renewed about once an hour (the
        // SDK's default session length).
        if matches!(target.credentials, Credentials::AssumeRole { .. }) {
            out.calls.entry("sts:AssumeRole").or_default().add(1.0, 1.0);
        }
    }
    out
}

/// The estimate as `--config.check` prints it: calls an hour per operation
/// and CloudWatch's metrics and dollars a month (at `price` per 1,000
/// metrics), if every region sends, if none does, and at `share` if given.
pub fn describe(e: &Estimate, share: Option<f64>, price: f64) -> String {
    let mut columns: Vec<(String, f64)> = vec![
        ("every region sends".into(), 1.0),
        ("none sends".into(), 0.0),
    ];
    if let Some(f) = share {
        columns.push((format!("{} % send", round(f * 100.0)), f));
    }
    let mut out = format!(
        "cost estimate for {} target region(s) (a region sends with production access, mail sent in 24 hours or a reputation datapoint of the last 24 hours):\n",
        e.regions
    );
    let head: Vec<String> = columns
        .iter()
        .map(|(name, _)| format!("{name:>20}"))
        .collect();
    out.push_str(&format!("  {:<34}{}\n", "calls an hour", head.join("")));
    let row = |label: &str, rate: Rate, scale: f64| {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, f)| format!("{:>20}", thousands(rate.at(*f) * scale)))
            .collect();
        format!("  {label:<34}{}\n", cells.join(""))
    };
    for (action, rate) in &e.calls {
        out.push_str(&row(action, *rate, 1.0));
    }
    if e.metrics.sending == 0.0 {
        return out;
    }
    out.push_str(&row(
        "CloudWatch metrics a month",
        e.metrics,
        HOURS_PER_MONTH,
    ));
    let dollars: Vec<String> = columns
        .iter()
        .map(|(_, f)| {
            let month = e.metrics.at(*f) * HOURS_PER_MONTH / 1000.0 * price;
            format!("{:>20}", format!("${month:.2}"))
        })
        .collect();
    out.push_str(&format!(
        "  {:<34}{}\n",
        format!("CloudWatch at ${price} per 1,000"),
        dollars.join("")
    ));
    out
}

/// `x` rounded to a whole number, with thousands separated by commas (one
/// decimal under 10).
fn thousands(x: f64) -> String {
    if x < 9.95 && x.fract() != 0.0 {
        return format!("{:.1}", x.max(0.0));
    }
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// `x` with at most two decimals, trailing zeros dropped.
fn round(x: f64) -> String {
    let text = format!("{x:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::PollSettings;
    use std::time::Duration;

    fn target(regions: usize, collectors: &[&str]) -> Target {
        let yaml = format!(
            "targets:\n  - name: t\n    regions: [{}]\n    collectors: {{{}}}\n",
            (0..regions)
                .map(|i| format!("us-east-{}", i + 1))
                .collect::<Vec<_>>()
                .join(", "),
            collectors
                .iter()
                .map(|c| format!("{c}: true"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        crate::config::parse_targets(std::path::Path::new("t.yml"), &yaml, &Default::default())
            .unwrap()
            .targets
            .remove(0)
    }

    fn schedules(idle: Option<Duration>) -> Schedules {
        let at = |secs| PollSettings {
            interval: Duration::from_secs(secs),
            idle_interval: idle,
            ..PollSettings::default()
        };
        Schedules::new(
            at(60),
            vec![
                ("account", at(60)),
                ("reputation", at(300)),
                ("dedicated-ips", at(600)),
                ("identities", at(600)),
            ],
        )
    }

    #[test]
    fn the_reputation_of_a_sending_region_costs_60480_metrics_a_month() {
        let e = estimate([&target(1, &["reputation"])], &schedules(None));
        assert_eq!(e.metrics.sending * HOURS_PER_MONTH, 60_480.0);
        assert_eq!(e.calls["ses:GetAccount"].sending, 60.0);
        assert_eq!(e.calls["cloudwatch:GetMetricData"].sending, 12.0);
        assert!(describe(&e, None, 0.01).contains("$0.60"));
    }

    #[test]
    fn idle_regions_cost_what_the_idle_interval_says() {
        let six_hours = Some(Duration::from_secs(6 * 3600));
        let all = ["reputation", "dedicated_ips", "identities"];
        let e = estimate([&target(20, &all)], &schedules(six_hours));
        assert_eq!(e.regions, 20);
        // GetAccount keeps its minute; the others follow activity.
        assert_eq!(e.calls["ses:GetAccount"].idle, 20.0 * 60.0);
        assert_eq!(e.calls["cloudwatch:GetMetricData"].sending, 20.0 * 12.0);
        assert!((e.calls["cloudwatch:GetMetricData"].idle - 20.0 / 6.0).abs() < 1e-9);
        // At most --collector.identities.max (100) GetEmailIdentity a poll,
        // and no more than fit a second apart in half of 10 minutes.
        assert_eq!(e.calls["ses:GetEmailIdentity"].sending, 20.0 * 6.0 * 100.0);
        // 5 % sending: a tenth of the CloudWatch metrics or less.
        let at5 = e.metrics.at(0.05) / e.metrics.sending;
        assert!(at5 < 0.1, "{at5}");
        let text = describe(&e, Some(0.05), 0.01);
        assert!(text.contains("5 % send"), "{text}");
        assert!(text.contains("cloudwatch:GetMetricData"), "{text}");
    }

    #[test]
    fn numbers_read_with_separators() {
        assert_eq!(thousands(1_209_600.4), "1,209,600");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(20.0 / 6.0), "3.3");
        assert_eq!(thousands(0.0), "0");
        assert_eq!(round(5.0), "5");
        assert_eq!(round(2.5), "2.5");
    }
}
