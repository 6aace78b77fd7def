//! The web config file (`--web.config.file`): any text either builds a web state
//! or gives an error naming the problem; nothing panics, and bcrypt hashes given
//! in the file never appear in an error or in the state's debug output.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use pinpoint_email_exporter::parse_web_config as parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(Path::new("/nonexistent/web.yml"), text) {
        Ok(state) => {
            let shown = format!("{state:?} {}", state.summary());
            assert!(!shown.contains("$2"), "{shown}");
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.starts_with("web config file /nonexistent/web.yml: "));
            assert!(!message.contains("invalid type: string \""), "{message}");
        }
    }
});
