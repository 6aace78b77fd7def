//! What the exporter keeps across restarts in `--state.directory`: the last
//! successful listing of each discovery, so that a restart polls the
//! discovered accounts at once, even while Organizations cannot be reached.
//!
//! One JSON file per discovery, written whole to a temporary file and renamed
//! over the old one, so a crash mid-write leaves the previous listing. A
//! listing is used only by a discovery that selects the same accounts (the
//! same parents, tags and caller); a missing, unreadable or foreign file is
//! no listing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::target::{Discovery, Member};

/// The file's layout version: a file of another is no listing.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Listing {
    version: u32,
    discovery: String,
    /// What the discovery selects, as [`selection`] writes it.
    selection: String,
    members: Vec<Member>,
}

/// What `discovery` selects, as text: a listing made for another selection
/// is not this discovery's.
fn selection(discovery: &Discovery) -> String {
    format!(
        "parents={:?} tags={:?} caller={:?}",
        discovery.parents, discovery.tags, discovery.credentials
    )
}

/// The file of `discovery` in `dir`: its name with anything but letters,
/// digits, `-` and `_` as `_`.
fn path(dir: &Path, discovery: &Discovery) -> PathBuf {
    let name: String = discovery
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("discovery-{name}.json"))
}

/// Writes `members` as the last listing of `discovery` into `dir`.
pub fn save_listing(dir: &Path, discovery: &Discovery, members: &[Member]) -> std::io::Result<()> {
    let listing = Listing {
        version: VERSION,
        discovery: discovery.name.clone(),
        selection: selection(discovery),
        members: members.to_vec(),
    };
    let text = serde_json::to_vec(&listing).map_err(std::io::Error::other)?;
    let target = path(dir, discovery);
    let temporary = target.with_extension("json.tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, &target)
}

/// The last listing of `discovery` saved in `dir`, if there is one it can use;
/// why not otherwise (`Ok(None)`: there is none).
pub fn load_listing(dir: &Path, discovery: &Discovery) -> Result<Option<Vec<Member>>, String> {
    let file = path(dir, discovery);
    let text = match std::fs::read(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("{}: {err}", file.display())),
    };
    let listing: Listing = serde_json::from_slice(&text)
        .map_err(|err| format!("{}: not a saved listing: {err}", file.display()))?;
    if listing.version != VERSION
        || listing.discovery != discovery.name
        || listing.selection != selection(discovery)
    {
        return Err(format!(
            "{}: saved for another selection of accounts; the next listing replaces it",
            file.display()
        ));
    }
    Ok(Some(listing.members))
}

/// Checks that `dir` is a directory the exporter can write, by writing and
/// removing a file in it.
pub fn check_writable(dir: &Path) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!(
            "{} is not a directory: create it (owned by the exporter's user) or point --state.directory at one",
            dir.display()
        ));
    }
    let probe = dir.join(".pinpoint-email-exporter-write-check");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|err| {
            format!(
                "{} cannot be written by the exporter ({err}): give its user write access",
                dir.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{Api, CollectorSettings, Collectors, Credentials, Target};

    fn discovery(parents: &[&str]) -> Discovery {
        Discovery {
            name: "org/main".into(),
            template: Target {
                name: "org".into(),
                regions: vec!["us-east-1".into()],
                credentials: Credentials::DefaultChain,
                api: Api::Auto,
                expect_sandbox: false,
                collectors: Collectors::Only(vec!["account"]),
                settings: CollectorSettings::default(),
            },
            role_name: "reader".into(),
            external_id: None,
            session_name: "s".into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            tags: Default::default(),
            refresh: std::time::Duration::from_secs(3600),
            credentials: Credentials::DefaultChain,
            name_template: "{account_id}".into(),
        }
    }

    fn members() -> Vec<Member> {
        vec![Member {
            id: "210000000002".into(),
            name: "team \"2\"".into(),
            partition: "aws".into(),
        }]
    }

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pinpoint-email-exporter-state-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_saved_listing_loads_for_the_same_selection_only() {
        let dir = dir("roundtrip");
        let d = discovery(&["ou-eng"]);
        assert_eq!(load_listing(&dir, &d), Ok(None));
        save_listing(&dir, &d, &members()).unwrap();
        assert!(dir.join("discovery-org_main.json").is_file());
        assert!(!dir.join("discovery-org_main.json.tmp").exists());
        assert_eq!(load_listing(&dir, &d), Ok(Some(members())));
        // Another selection of accounts does not take it.
        let err = load_listing(&dir, &discovery(&["ou-sales"])).unwrap_err();
        assert!(err.contains("another selection"), "{err}");
        // A newer listing replaces it whole.
        save_listing(&dir, &d, &[]).unwrap();
        assert_eq!(load_listing(&dir, &d), Ok(Some(vec![])));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_file_is_no_listing_and_says_why() {
        let dir = dir("damaged");
        let d = discovery(&[]);
        save_listing(&dir, &d, &members()).unwrap();
        let file = dir.join("discovery-org_main.json");
        let text = std::fs::read(&file).unwrap();
        std::fs::write(&file, &text[..text.len() / 2]).unwrap();
        let err = load_listing(&dir, &d).unwrap_err();
        assert!(err.contains("not a saved listing"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_directory_must_exist_and_be_writable() {
        let dir = dir("writable");
        assert_eq!(check_writable(&dir), Ok(()));
        let missing = dir.join("missing");
        let err = check_writable(&missing).unwrap_err();
        assert!(err.contains("is not a directory"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
