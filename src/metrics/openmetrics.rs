//! The exposition formats `/metrics` speaks, and OpenMetrics 1.0 made from the
//! text format.
//!
//! The store encodes the Prometheus text format (0.0.4) once per change; the
//! OpenMetrics exposition is derived from those bytes line by line, so both
//! formats always carry the same samples:
//!
//! - a counter's family is named without `_total` (its samples keep it);
//! - `# UNIT` follows `# TYPE` when the family name ends in a base unit
//!   (`_seconds`, `_bytes`, `_ratio`);
//! - `"` in HELP is escaped, as OpenMetrics escapes descriptors like label values;
//! - histogram `le` values stay as the text format writes them (`1`, not
//!   client_golang's `1.0`; OpenMetrics allows both): Prometheus 2 stores `le`
//!   as written, so the bucket series stay the same whichever format it
//!   negotiates;
//! - the exposition ends with `# EOF`.
//!
//! The state-like gauges (`pinpoint_email_enforcement_status` and the others)
//! stay gauges: an OpenMetrics state set must name its label after the family,
//! so the series would carry `pinpoint_email_enforcement_status="SHUTDOWN"`
//! instead of `status="SHUTDOWN"` depending on the format Prometheus
//! negotiated, and queries, rules and dashboards would break.

/// A format of the exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4.
    Text,
    /// OpenMetrics text, version 1.0.0.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of an exposition in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format an `Accept` header asks for: the acceptable media range with
    /// the highest quality (the first of equals) decides; OpenMetrics when that is
    /// `application/openmetrics-text` of version 1.0.0 (or none given), else the
    /// text format, which is also the answer to anything unknown.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut best: Option<(f32, Format)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let mut q = 1.0_f32;
            let mut version = None;
            for param in parts {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => q = value.parse().unwrap_or(0.0),
                    "version" => version = Some(value.to_string()),
                    _ => {}
                }
            }
            let format = match media.as_str() {
                "application/openmetrics-text"
                    if version.as_deref().is_none_or(|v| v == "1.0.0") =>
                {
                    Format::OpenMetrics
                }
                "text/plain" if version.as_deref().is_none_or(|v| v == "0.0.4") => Format::Text,
                "*/*" | "text/*" => Format::Text,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, format));
            }
        }
        best.map_or(Format::Text, |(_, f)| f)
    }
}

/// Whether an `Accept-Encoding` header accepts gzip (`gzip` or `*` with a
/// quality above 0).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(header) = accept_encoding else {
        return false;
    };
    let mut gzip = None;
    let mut any = None;
    for coding in header.split(',') {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(q),
            "*" => any = Some(q),
            _ => {}
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// Units OpenMetrics names in `# UNIT` when a family name ends in them.
const UNITS: [&str; 3] = ["seconds", "bytes", "ratio"];

/// The OpenMetrics 1.0 exposition of a text format (0.0.4) exposition whose
/// families each start with `# HELP` then `# TYPE`, as the store writes them.
pub fn from_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16 + 8);
    // A family's HELP line waits for its TYPE line, which decides the name.
    let mut help: Option<&str> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (family, kind) = match kind {
                "counter" => match name.strip_suffix("_total") {
                    Some(stem) => (stem, "counter"),
                    None => (name, "unknown"),
                },
                "untyped" => (name, "unknown"),
                other => (name, other),
            };
            if let Some(help) = help.take() {
                let text = help.split_once(' ').map_or("", |(_, t)| t);
                out.push_str("# HELP ");
                out.push_str(family);
                out.push(' ');
                out.push_str(&text.replace('"', "\\\""));
                out.push('\n');
            }
            out.push_str("# TYPE ");
            out.push_str(family);
            out.push(' ');
            out.push_str(kind);
            out.push('\n');
            if let Some(unit) = UNITS
                .iter()
                .find(|u| family.strip_suffix(**u).is_some_and(|s| s.ends_with('_')))
            {
                out.push_str("# UNIT ");
                out.push_str(family);
                out.push(' ');
                out.push_str(unit);
                out.push('\n');
            }
        } else if line.starts_with('#') || line.is_empty() {
            // Other comments have no place in OpenMetrics.
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_format_as_client_golang_does() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        for (accept, want) in [
            (None, Format::Text),
            (Some(prometheus), Format::OpenMetrics),
            (Some("application/openmetrics-text"), Format::OpenMetrics),
            (Some("text/plain"), Format::Text),
            (Some("*/*"), Format::Text),
            (Some("application/json"), Format::Text),
            (
                Some(
                    "text/plain;version=0.0.4;q=0.9, application/openmetrics-text;version=1.0.0;q=0.5",
                ),
                Format::Text,
            ),
            (
                Some("application/openmetrics-text;version=0.0.1"),
                Format::Text,
            ),
            (Some("application/openmetrics-text;q=0"), Format::Text),
        ] {
            assert_eq!(Format::negotiate(accept), want, "{accept:?}");
        }
    }

    #[test]
    fn gzip_when_accepted_with_a_quality_above_zero() {
        for (header, want) in [
            (None, false),
            (Some("gzip"), true),
            (Some("deflate, gzip;q=1.0, *;q=0.5"), true),
            (Some("gzip;q=0"), false),
            (Some("*"), true),
            (Some("identity"), false),
            (Some("br;q=1, *;q=0"), false),
        ] {
            assert_eq!(accepts_gzip(header), want, "{header:?}");
        }
    }

    #[test]
    fn counters_units_and_help_follow_openmetrics() {
        let text = "# HELP a_seconds Time \"taken\".\n# TYPE a_seconds histogram\n\
                    a_seconds_bucket{x=\"1\",le=\"0.5\"} 1\na_seconds_bucket{x=\"1\",le=\"1\"} 2\n\
                    a_seconds_bucket{x=\"1\",le=\"+Inf\"} 2\na_seconds_sum{x=\"1\"} 1\na_seconds_count{x=\"1\"} 2\n\
                    # HELP b_total Calls.\n# TYPE b_total counter\nb_total{r=\"x\"} 3\n\
                    # HELP c_used_ratio Used.\n# TYPE c_used_ratio gauge\nc_used_ratio +Inf\n";
        assert_eq!(
            from_text(text),
            "# HELP a_seconds Time \\\"taken\\\".\n# TYPE a_seconds histogram\n# UNIT a_seconds seconds\n\
             a_seconds_bucket{x=\"1\",le=\"0.5\"} 1\na_seconds_bucket{x=\"1\",le=\"1\"} 2\n\
             a_seconds_bucket{x=\"1\",le=\"+Inf\"} 2\na_seconds_sum{x=\"1\"} 1\na_seconds_count{x=\"1\"} 2\n\
             # HELP b Calls.\n# TYPE b counter\nb_total{r=\"x\"} 3\n\
             # HELP c_used_ratio Used.\n# TYPE c_used_ratio gauge\n# UNIT c_used_ratio ratio\nc_used_ratio +Inf\n\
             # EOF\n"
        );
    }
}
