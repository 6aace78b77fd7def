//! One read of the web config file and of the files it names, so that what is
//! fingerprinted is what is parsed and checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{FileConfig, WebConfigError, WebState, parse_with};

/// The web config file and the certificate, key and CA files it names, read
/// once, with two fingerprints.
pub(super) struct Snapshot {
    path: PathBuf,
    text: Result<Vec<u8>, String>,
    /// Each named file by its path (relative ones joined to the file's
    /// directory), as the parser looks them up.
    named: BTreeMap<PathBuf, Result<Vec<u8>, String>>,
    /// Changes with every write, rename or re-link of any of the files, even
    /// one that puts the same content back.
    pub(super) stamp: [u8; 32],
    /// The contents alone.
    pub(super) content: [u8; 32],
}

impl Snapshot {
    /// Reads `path` and the files it names, each once.
    pub(super) fn read(path: &Path) -> Snapshot {
        let mut stamp = Sha256::new();
        stamp_metadata(&mut stamp, path);
        let text = std::fs::read(path).map_err(|e| e.to_string());
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut named = BTreeMap::new();
        for file in named_files(text.as_deref().unwrap_or_default()) {
            let full = dir.join(file);
            stamp_metadata(&mut stamp, &full);
            let content = std::fs::read(&full).map_err(|e| e.to_string());
            named.insert(full, content);
        }
        // Looked at again after reading: a write during the read changes the
        // stamp, so what was read half-way is never taken for settled.
        stamp_metadata(&mut stamp, path);
        for full in named.keys() {
            stamp_metadata(&mut stamp, full);
        }
        let mut content = Sha256::new();
        add(&mut content, text.as_deref().unwrap_or_default());
        for (full, file) in &named {
            add(&mut content, full.as_os_str().as_encoded_bytes());
            add(&mut content, file.as_deref().unwrap_or_default());
        }
        let content: [u8; 32] = content.finalize().into();
        stamp.update(content);
        Snapshot {
            path: path.to_path_buf(),
            text,
            named,
            stamp: stamp.finalize().into(),
            content,
        }
    }

    /// Whether the file holds nothing but white space.
    pub(super) fn is_blank(&self) -> bool {
        self.text
            .as_deref()
            .is_ok_and(|t| t.iter().all(u8::is_ascii_whitespace))
    }

    /// Parses and validates what was read.
    pub(super) fn parse(&self) -> Result<WebState, WebConfigError> {
        let err = |message: String| WebConfigError {
            path: self.path.clone(),
            message,
        };
        let bytes = self
            .text
            .as_ref()
            .map_err(|e| err(format!("cannot read it: {e}")))?;
        let text = std::str::from_utf8(bytes)
            .map_err(|_| err("cannot read it: it is not UTF-8 text".to_string()))?;
        let read = |full: &Path| -> Result<String, String> {
            match self.named.get(full) {
                Some(Ok(bytes)) => {
                    String::from_utf8(bytes.clone()).map_err(|_| "it is not UTF-8 text".to_string())
                }
                Some(Err(e)) => Err(e.clone()),
                None => Err("it was not named when the file was read".to_string()),
            }
        };
        parse_with(&self.path, text, &read)
    }
}

/// The files a web config names (`cert_file`, `key_file`, `client_ca_file`),
/// none when it does not parse.
fn named_files(text: &[u8]) -> Vec<PathBuf> {
    let Ok(Some(file)) = serde_yaml_ng::from_slice::<Option<FileConfig>>(text) else {
        return Vec::new();
    };
    let Some(tls) = file.tls_server_config else {
        return Vec::new();
    };
    [tls.cert_file, tls.key_file, tls.client_ca_file]
        .into_iter()
        .flatten()
        .filter(|f| !f.as_os_str().is_empty())
        .collect()
}

fn add(hash: &mut Sha256, bytes: &[u8]) {
    hash.update((bytes.len() as u64).to_le_bytes());
    hash.update(bytes);
}

/// Adds what changes when `path` is written, renamed over or re-linked: its
/// link's and its target's device, inode, size and change times.
fn stamp_metadata(hash: &mut Sha256, path: &Path) {
    for meta in [std::fs::symlink_metadata(path), std::fs::metadata(path)] {
        match meta {
            Ok(meta) => add(hash, &metadata_bytes(&meta)),
            Err(e) => add(hash, format!("{:?}", e.kind()).as_bytes()),
        }
    }
}

#[cfg(unix)]
fn metadata_bytes(meta: &std::fs::Metadata) -> Vec<u8> {
    use std::os::unix::fs::MetadataExt as _;
    [
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime() as u64,
        meta.mtime_nsec() as u64,
        meta.ctime() as u64,
        meta.ctime_nsec() as u64,
    ]
    .iter()
    .flat_map(|v| v.to_le_bytes())
    .collect()
}

#[cfg(not(unix))]
fn metadata_bytes(meta: &std::fs::Metadata) -> Vec<u8> {
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    [
        meta.len(),
        modified.as_secs(),
        u64::from(modified.subsec_nanos()),
    ]
    .iter()
    .flat_map(|v| v.to_le_bytes())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_changes_with_every_write_and_the_content_only_with_the_bytes() {
        let dir = std::env::temp_dir().join(format!(
            "pinpoint-email-exporter-snapshot-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("web.yml");
        std::fs::write(&file, "basic_auth_users: {}\n").unwrap();
        let first = Snapshot::read(&file);
        let again = Snapshot::read(&file);
        assert_eq!(first.stamp, again.stamp, "nothing written");
        // The same bytes written again, through a new inode (as editors and
        // Kubernetes do): the same content, another stamp.
        let other = dir.join("web.yml.new");
        std::fs::write(&other, "basic_auth_users: {}\n").unwrap();
        let keep = dir.join("web.yml.old");
        std::fs::hard_link(&file, &keep).unwrap();
        std::fs::rename(&other, &file).unwrap();
        let rewritten = Snapshot::read(&file);
        assert_eq!(first.content, rewritten.content);
        assert_ne!(first.stamp, rewritten.stamp);
        // A named file's content counts too.
        std::fs::write(
            &file,
            "tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n",
        )
        .unwrap();
        let without = Snapshot::read(&file);
        std::fs::write(dir.join("a.pem"), "x").unwrap();
        let with = Snapshot::read(&file);
        assert_ne!(without.content, with.content);
        let err = with.parse().unwrap_err().message;
        assert!(
            err.contains("tls_server_config.key_file: cannot read"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
