//! Writing the Prometheus text format (0.0.4): samples, escaping, families.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::section::Gauge;
use crate::target::Key;

/// One metric family in the text format: `# HELP`, `# TYPE` and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The metric name.
    pub name: String,
    /// The family's exposition text, each line ending in a newline.
    pub text: String,
}

impl Family {
    /// A family of `kind` (`gauge`, `counter`, `histogram`) from its sample lines.
    pub fn new(name: &str, help: &str, kind: &str, samples: &str) -> Family {
        Family {
            name: name.to_string(),
            text: format!(
                "# HELP {name} {}\n# TYPE {name} {kind}\n{samples}",
                escape(help, false)
            ),
        }
    }
}

/// Escapes a label value (`quote`) or HELP text as the text format requires:
/// backslash, newline and, in label values, the double quote.
fn escape(value: &str, quote: bool) -> std::borrow::Cow<'_, str> {
    let needs_escaping = value.contains(['\\', '\n']) || (quote && value.contains('"'));
    if !needs_escaping {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.into()
}

/// Appends one sample line: `name{labels} value`, labels in the order given.
pub fn write_sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    let mut separator = '{';
    for (label, value) in labels {
        out.push(separator);
        out.push_str(label);
        out.push_str("=\"");
        out.push_str(&escape(value, true));
        out.push('"');
        separator = ',';
    }
    if !labels.is_empty() {
        out.push('}');
    }
    // `Display` of f64, as the `prometheus` crate's encoder writes values, but
    // for the non-finite ones, which the text format spells its own way.
    if value.is_nan() {
        out.push_str(" NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { " +Inf" } else { " -Inf" });
    } else {
        let _ = write!(out, " {value}");
    }
    out.push('\n');
}

/// 1 for true, 0 for false.
pub fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// The samples of one (target, region), gathered by metric name: a collector's
/// answer writes into it without knowing how families are assembled.
pub struct Series<'a> {
    by_name: &'a mut BTreeMap<&'static str, String>,
    key: &'a Key,
}

impl<'a> Series<'a> {
    /// Samples of `key`, added to `by_name`.
    pub fn new(by_name: &'a mut BTreeMap<&'static str, String>, key: &'a Key) -> Self {
        Series { by_name, key }
    }

    /// A sample of `gauge` labelled with the account (the target's name) and region only.
    pub fn gauge(&mut self, gauge: Gauge, value: f64) {
        self.push(gauge.name, None, value);
    }

    /// A sample of `gauge` with one more label, `label="value"`.
    pub fn labelled(&mut self, gauge: Gauge, label: (&'static str, &str), value: f64) {
        self.push(gauge.name, Some(label), value);
    }

    /// A sample of `gauge` with more labels (any order).
    pub fn with_labels(&mut self, gauge: Gauge, extra: &[(&'static str, &str)], value: f64) {
        let name = gauge.name;
        let mut labels = vec![
            ("account", self.key.target.as_str()),
            ("aws_region", self.key.region.as_str()),
        ];
        labels.extend_from_slice(extra);
        labels.sort_by(|a, b| a.0.cmp(b.0));
        write_sample(self.by_name.entry(name).or_default(), name, &labels, value);
    }

    /// A state set: one sample per value of `label`, 1 for the current ones and 0
    /// for the others; the `known` values are always present, any other value in
    /// `current` gets its own sample.
    pub fn state_set<'v>(
        &mut self,
        gauge: Gauge,
        label: &'static str,
        known: &[&'v str],
        is_on: impl Fn(&str) -> bool,
        current: impl Iterator<Item = &'v str>,
    ) {
        let mut values: Vec<&str> = known.to_vec();
        for value in current {
            if !values.contains(&value) {
                values.push(value);
            }
        }
        for value in values {
            self.labelled(gauge, (label, value), bool_value(is_on(value)));
        }
    }

    /// Labels sorted by name, as the `prometheus` crate writes them.
    fn push(&mut self, name: &'static str, extra: Option<(&'static str, &str)>, value: f64) {
        let mut labels = [
            ("account", self.key.target.as_str()),
            ("aws_region", self.key.region.as_str()),
            ("", ""),
        ];
        let n = match extra {
            Some(pair) => {
                labels[2] = pair;
                labels.sort_by(|a, b| a.0.cmp(b.0));
                3
            }
            None => 2,
        };
        write_sample(
            self.by_name.entry(name).or_default(),
            name,
            &labels[..n],
            value,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped_as_the_text_format_requires() {
        assert_eq!(escape("plain", true), "plain");
        assert_eq!(escape("a\"b\\c\nd", true), "a\\\"b\\\\c\\nd");
        assert_eq!(escape("a\"b\\c\nd", false), "a\"b\\\\c\\nd");
        let mut out = String::new();
        write_sample(&mut out, "m", &[("status", "x\"y")], 0.5);
        write_sample(&mut out, "m", &[], 1e21);
        write_sample(&mut out, "m", &[], f64::INFINITY);
        write_sample(&mut out, "m", &[], f64::NEG_INFINITY);
        write_sample(&mut out, "m", &[], f64::NAN);
        assert_eq!(
            out,
            "m{status=\"x\\\"y\"} 0.5\nm 1000000000000000000000\nm +Inf\nm -Inf\nm NaN\n"
        );
    }

    #[test]
    fn series_sort_labels_by_name_and_group_by_metric() {
        let key = Key::new("t", "eu-west-1");
        let mut by_name = BTreeMap::new();
        let mut s = Series::new(&mut by_name, &key);
        let gauge = |name| Gauge { name, help: "" };
        s.gauge(gauge("m_up"), 1.0);
        s.labelled(gauge("m_info"), ("api", "sesv2"), 1.0);
        s.state_set(
            gauge("m_state"),
            "status",
            &["A", "B"],
            |v| v == "C",
            ["C"].into_iter(),
        );
        assert_eq!(
            by_name["m_up"],
            "m_up{account=\"t\",aws_region=\"eu-west-1\"} 1\n"
        );
        assert_eq!(
            by_name["m_info"],
            "m_info{account=\"t\",api=\"sesv2\",aws_region=\"eu-west-1\"} 1\n"
        );
        assert_eq!(
            by_name["m_state"],
            "m_state{account=\"t\",aws_region=\"eu-west-1\",status=\"A\"} 0\n\
             m_state{account=\"t\",aws_region=\"eu-west-1\",status=\"B\"} 0\n\
             m_state{account=\"t\",aws_region=\"eu-west-1\",status=\"C\"} 1\n"
        );
    }
}
