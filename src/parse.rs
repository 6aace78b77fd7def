//! Small parsing helpers shared by the flags, the targets file and the web
//! config file. This module imports nothing of the exporter.

use std::time::Duration;

/// Parses a duration such as `30s`, `5m`, `1h30m` or `250ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    // A bare number has no unit; humantime would suggest milliseconds, which every
    // interval flag refuses, so name seconds (or minutes) instead.
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "{s:?} has no unit: write {s}s for seconds or {s}m for minutes"
        ));
    }
    humantime::parse_duration(s).map_err(|e| {
        format!("{s:?} is not a duration: {e} (expected a duration such as 30s, 5m or 1h30m)")
    })
}

/// Checks that `region` looks like an AWS region code such as `us-east-1`,
/// `us-gov-west-1` or `ap-southeast-5`.
pub fn validate_region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1]
            .bytes()
            .all(|b: u8| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{region:?} is not an AWS region code such as us-east-1 or eu-west-1"
        ))
    }
}

/// A YAML parser message with the quoted values it echoes (`invalid type: string
/// "..."`) left out: a value in the wrong place may be a secret (an external id, a
/// password hash), and the message goes to the logs. Line and column still say
/// where the problem is.
pub fn redact_yaml_error(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("string \"") {
        out.push_str(&rest[..at]);
        out.push_str("a string");
        let after = &rest[at + "string \"".len()..];
        // Skip to the closing quote, honouring backslash escapes.
        let mut end = after.len();
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = i + 1;
                    break;
                }
                _ => escaped = false,
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_errors_do_not_echo_values() {
        assert_eq!(
            redact_yaml_error(
                "a: invalid type: string \"s3cr\\\"et\", expected a map at line 1 column 4"
            ),
            "a: invalid type: a string, expected a map at line 1 column 4"
        );
        assert_eq!(redact_yaml_error("no values here"), "no values here");
        assert_eq!(redact_yaml_error("string \"unterminated"), "a string");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").is_err());
        // A bare number suggests units the interval flags accept, never `5ms`.
        assert_eq!(
            parse_duration("5"),
            Err("\"5\" has no unit: write 5s for seconds or 5m for minutes".into())
        );
        assert!(parse_duration("5s").is_ok() && parse_duration("5m").is_ok());
    }

    #[test]
    fn region_codes() {
        for ok in [
            "us-east-1",
            "eu-west-2",
            "us-gov-west-1",
            "ap-southeast-5",
            "cn-north-1",
        ] {
            assert_eq!(validate_region(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "useast1",
            "us-east-1a",
            "US-EAST-1",
            "u-east-1",
        ] {
            assert!(validate_region(bad).is_err(), "{bad}");
        }
    }
}
