//! The console's files, embedded at compile time. Each is listed with its content type; a test
//! checks the list against the `assets/` folder, so a new file cannot be forgotten.

use sha2::{Digest, Sha256};

pub(crate) struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

impl Asset {
    /// A strong validator of the content (the same file answers 304 across restarts).
    pub fn etag(&self) -> String {
        etag(self.body)
    }
}

pub(crate) fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..20])
}

/// An [`Asset`] of `assets/<path>`.
macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset { path: $path, content_type: $content_type, body: include_bytes!(concat!("../assets/", $path)) }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

pub(crate) static ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("js/api.js", JS),
    asset!("js/app.js", JS),
    asset!("js/auth.js", JS),
    asset!("js/channels.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/i18n.js", JS),
    asset!("js/messages.js", JS),
    asset!("js/router.js", JS),
    asset!("js/widgets.js", JS),
    asset!("js/screens/card.js", JS),
    asset!("js/screens/directory.js", JS),
    asset!("js/screens/duplicates.js", JS),
    asset!("js/screens/history.js", JS),
    asset!("js/screens/identities.js", JS),
    asset!("js/screens/merge.js", JS),
    asset!("js/screens/session.js", JS),
    asset!("js/screens/sessions.js", JS),
    asset!("js/screens/settings.js", JS),
    asset!("js/screens/signin.js", JS),
];

pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn files(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                files(&path, found);
            } else {
                let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
                found.push(path.strip_prefix(&root).expect("under assets").to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_of_the_assets_folder_is_embedded_and_nothing_else() {
        let mut on_disk = Vec::new();
        files(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"), &mut on_disk);
        on_disk.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|asset| asset.path.to_owned()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }

    /// The front end shows customers' text: it must never parse a string as HTML.
    #[test]
    fn no_script_builds_html_from_strings() {
        for asset in ASSETS.iter().filter(|asset| asset.path.ends_with(".js")) {
            let source = std::str::from_utf8(asset.body).expect("utf-8");
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc"] {
                assert!(!source.contains(sink), "{} uses {sink}", asset.path);
            }
        }
    }
}
