//! The targets file (`--config.file`): any text either parses into valid targets
//! or gives a configuration error; nothing panics, and errors never echo values.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use pinpoint_email_exporter::Api;
use pinpoint_email_exporter::validate_region;
use pinpoint_email_exporter::{TargetDefaults, parse_targets};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_targets(
        Path::new("fuzz.yml"),
        text,
        &TargetDefaults {
            regions: vec!["us-east-1".to_string()],
            api: Api::PinpointEmail,
            ..TargetDefaults::default()
        },
    ) {
        Ok(file) => {
            // Fixed targets and the templates of the discoveries alike.
            let targets: Vec<_> = file
                .targets
                .iter()
                .chain(file.discoveries.iter().map(|d| &d.template))
                .collect();
            assert!(!targets.is_empty());
            for (i, t) in targets.iter().enumerate() {
                assert!(!t.name.is_empty());
                assert!(!t.regions.is_empty(), "flag regions fill in the rest");
                for r in &t.regions {
                    assert!(validate_region(r).is_ok(), "{r:?}");
                }
                assert!(
                    targets[..i].iter().all(|o| o.name != t.name),
                    "duplicate name {:?}",
                    t.name
                );
            }
            for d in &file.discoveries {
                assert!(d.name_template.contains("{account_id}"));
                assert!(!d.role_name.is_empty());
            }
        }
        Err(err) => {
            let message = err.to_string();
            assert!(!message.is_empty());
            // The YAML parser's echo of a value is always redacted.
            assert!(!message.contains("invalid type: string \""), "{message}");
        }
    }
});
