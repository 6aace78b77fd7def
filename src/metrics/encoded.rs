//! A cached exposition and its variants (OpenMetrics, gzip).

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{Format, openmetrics};

/// A cached exposition.
pub(super) struct Encoded {
    pub(super) generation: u64,
    pub(super) at: Instant,
    /// The text format, uncompressed.
    pub(super) body: Bytes,
    /// The other formats and compressions, made from `body` when first asked
    /// for: text gzipped, OpenMetrics, OpenMetrics gzipped.
    pub(super) variants: [Option<Bytes>; 3],
    /// How long encoding `body` took.
    pub(super) cost: Duration,
}

impl Encoded {
    pub(super) fn variant(&mut self, format: Format, gzip: bool) -> Bytes {
        let slot = match (format, gzip) {
            (Format::Text, false) => return self.body.clone(),
            (Format::Text, true) => 0,
            (Format::OpenMetrics, false) => 1,
            (Format::OpenMetrics, true) => 2,
        };
        if let Some(bytes) = &self.variants[slot] {
            return bytes.clone();
        }
        let plain = match format {
            Format::Text => self.body.clone(),
            Format::OpenMetrics => match &self.variants[1] {
                Some(om) => om.clone(),
                None => {
                    // The body is built from UTF-8 strings only.
                    let text = String::from_utf8_lossy(&self.body);
                    let om = Bytes::from(openmetrics::from_text(&text));
                    self.variants[1] = Some(om.clone());
                    om
                }
            },
        };
        if gzip {
            let zipped = Bytes::from(gzip_bytes(&plain));
            self.variants[slot] = Some(zipped.clone());
            zipped
        } else {
            plain
        }
    }
}

/// `data` gzip-compressed at the default level, as client_golang compresses.
fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}
