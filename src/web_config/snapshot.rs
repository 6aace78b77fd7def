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
        let text = read_file(path);
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut named = BTreeMap::new();
        for file in named_files(text.as_deref().unwrap_or_default()) {
            let full = dir.join(file);
            stamp_metadata(&mut stamp, &full);
            let content = read_file(&full);
            named.insert(full, content);
        }
        // Looked at again after reading: a write during the read changes the
        // stamp, so what was read half-way is never taken for settled.
        stamp_metadata(&mut stamp, path);
        for full in named.keys() {
            stamp_metadata(&mut stamp, full);
        }
        // A file that cannot be read counts by its error, not as empty: a
        // change between the two is a change.
        let read = |hash: &mut Sha256, file: &Result<Vec<u8>, String>| match file {
            Ok(bytes) => add(hash, bytes),
            Err(e) => add(hash, format!("error: {e}").as_bytes()),
        };
        let mut content = Sha256::new();
        read(&mut content, &text);
        for (full, file) in &named {
            add(&mut content, full.as_os_str().as_encoded_bytes());
            read(&mut content, file);
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

/// The most bytes read of the config file or a file it names: far more than
/// any certificate chain.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The content of `path`, a regular file of at most [`MAX_FILE_BYTES`], or
/// why not: a FIFO or a device is never opened (a read could block or never
/// end).
fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_string());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "larger than {} MiB",
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "larger than {} MiB",
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    Ok(bytes)
}

fn add(hash: &mut Sha256, bytes: &[u8]) {
    hash.update((bytes.len() as u64).to_le_bytes());
    hash.update(bytes);
}

/// Adds what changes when `path` is written, renamed over or re-linked: its
/// target's device, inode, size and change times, and those of every
/// symbolic link on the way to it (Kubernetes swaps a directory link,
/// `..data`, to update a mounted ConfigMap).
fn stamp_metadata(hash: &mut Sha256, path: &Path) {
    match std::fs::metadata(path) {
        Ok(meta) => add(hash, &metadata_bytes(&meta)),
        Err(e) => add(hash, format!("{:?}", e.kind()).as_bytes()),
    }
    let mut next = Some(path.to_path_buf());
    // Links of links, a few deep; a loop ends here too.
    for _ in 0..8 {
        let Some(at) = next.take() else {
            break;
        };
        for ancestor in at.ancestors() {
            if let Ok(meta) = std::fs::symlink_metadata(ancestor)
                && meta.file_type().is_symlink()
            {
                add(hash, ancestor.as_os_str().as_encoded_bytes());
                add(hash, &metadata_bytes(&meta));
                if ancestor == at {
                    if let Ok(target) = std::fs::read_link(&at) {
                        next = Some(at.parent().unwrap_or(Path::new(".")).join(target));
                    }
                } else if next.is_none()
                    && let Ok(target) = std::fs::read_link(ancestor)
                {
                    let rest = at.strip_prefix(ancestor).unwrap_or(Path::new(""));
                    let parent = ancestor.parent().unwrap_or(Path::new("."));
                    next = Some(parent.join(target).join(rest));
                }
            }
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

    /// A mounted Kubernetes ConfigMap: `web.yml -> ..data/web.yml`, and
    /// `..data` a link to one of two directories, swapped to update it. Swapped
    /// away and back between two looks, the file reads the same, but the stamp
    /// tells.
    #[cfg(unix)]
    #[test]
    fn a_swapped_directory_link_changes_the_stamp() {
        use std::os::unix::fs::symlink;
        let dir = std::env::temp_dir().join(format!(
            "pinpoint-email-exporter-snapshot-links-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (version, text) in [("..v1", "basic_auth_users: {}\n"), ("..v2", "{}\n")] {
            std::fs::create_dir_all(dir.join(version)).unwrap();
            std::fs::write(dir.join(version).join("web.yml"), text).unwrap();
        }
        let swap = |to: &str| {
            let new = dir.join("..data_tmp");
            let _ = std::fs::remove_file(&new);
            symlink(to, &new).unwrap();
            std::fs::rename(&new, dir.join("..data")).unwrap();
        };
        swap("..v1");
        symlink("..data/web.yml", dir.join("web.yml")).unwrap();
        let file = dir.join("web.yml");
        let first = Snapshot::read(&file);
        assert_eq!(first.text.as_deref().unwrap(), b"basic_auth_users: {}\n");
        assert_eq!(first.stamp, Snapshot::read(&file).stamp, "nothing swapped");
        swap("..v2");
        assert_eq!(Snapshot::read(&file).text.as_deref().unwrap(), b"{}\n");
        swap("..v1");
        let back = Snapshot::read(&file);
        assert_eq!(back.content, first.content);
        assert_ne!(back.stamp, first.stamp);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_is_not_a_regular_file_is_not_read() {
        let err = read_file(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(err, "not a regular file");
        assert!(read_file(Path::new("/nonexistent/web.yml")).is_err());
    }
}
