//! The environment the settings read, with secrets from files: `APP__<PATH>_FILE=/path` sets
//! `APP__<PATH>` to the file's content, as Kubernetes and Docker mount secrets (one trailing
//! newline is trimmed, since `echo secret > file` and most editors add one). The same holds for
//! the conventional `DATABASE_URL_FILE` and `KAFKA_BROKERS_FILE`.
//!
//! Values are kept as the exact strings given: nothing here (nor in the loader) converts `00123`
//! to a number; numeric settings are parsed from their string when deserialized.
//!
//! Because of this convention no setting's own name ends in `_file` (paths are named `…_cert`,
//! `…_path`): `APP__X__CA_FILE` would otherwise be read as "`APP__X__CA` from a file".
//!
//! Errors name the variables and paths, never a value.

use std::collections::HashMap;
use std::ffi::OsString;

use anyhow::{bail, Context};

/// The settings-relevant part of an environment, `_FILE` indirections resolved.
#[derive(Default)]
pub(super) struct Resolved {
    /// Every `APP__…` variable by its name.
    pub app: HashMap<String, String>,
    /// `DATABASE_URL`.
    pub database_url: Option<String>,
    /// `KAFKA_BROKERS`.
    pub kafka_brokers: Option<String>,
}

pub(super) const PREFIX: &str = "APP__";
const FILE_SUFFIX: &str = "_FILE";
const DATABASE_URL: &str = "DATABASE_URL";
const KAFKA_BROKERS: &str = "KAFKA_BROKERS";

/// Whether a variable named `name` is one the settings read.
fn relevant(name: &str) -> bool {
    name.starts_with(PREFIX) || name == DATABASE_URL || name == KAFKA_BROKERS
}

/// Collects the variables the settings read from `vars` and applies the `_FILE` convention.
pub(super) fn resolve(vars: impl IntoIterator<Item = (OsString, OsString)>) -> anyhow::Result<Resolved> {
    let mut plain = HashMap::new();
    let mut files = Vec::new();
    for (name, value) in vars {
        // A variable whose name is not Unicode cannot be one of ours.
        let Ok(name) = name.into_string() else { continue };
        if let Some(target) = name.strip_suffix(FILE_SUFFIX).filter(|target| relevant(target)) {
            files.push((target.to_owned(), name, value));
        } else if relevant(&name) {
            let value = value.into_string().map_err(|_| anyhow::anyhow!("environment variable {name} is not valid UTF-8"))?;
            plain.insert(name, value);
        }
    }
    for (target, name, path) in files {
        if plain.contains_key(&target) {
            bail!("both {target} and {name} are set; set only one of them");
        }
        let content = std::fs::read(&path).with_context(|| format!("{name}: reading {}", path.to_string_lossy()))?;
        let content =
            String::from_utf8(content).map_err(|_| anyhow::anyhow!("{name}: {} is not valid UTF-8", path.to_string_lossy()))?;
        plain.insert(target, trim_one_newline(content));
    }
    let database_url = plain.remove(DATABASE_URL);
    let kafka_brokers = plain.remove(KAFKA_BROKERS);
    Ok(Resolved { app: plain, database_url, kafka_brokers })
}

/// Removes one trailing line break (`\n` or `\r\n`); everything else is kept as written.
fn trim_one_newline(mut content: String) -> String {
    if content.ends_with('\n') {
        content.pop();
        if content.ends_with('\r') {
            content.pop();
        }
    }
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))).collect()
    }

    #[test]
    fn one_trailing_newline_is_trimmed_and_nothing_else() {
        assert_eq!(trim_one_newline("s3cret\n".into()), "s3cret");
        assert_eq!(trim_one_newline("s3cret\r\n".into()), "s3cret");
        assert_eq!(trim_one_newline("s3cret\n\n".into()), "s3cret\n");
        assert_eq!(trim_one_newline(" s3cret ".into()), " s3cret ");
    }

    #[test]
    fn variables_the_settings_do_not_read_are_ignored_even_with_a_file_suffix() {
        let resolved = resolve(env(&[("HOME", "/root"), ("SSL_CERT_FILE", "/nonexistent")])).expect("resolved");
        assert!(resolved.app.is_empty());
    }

    #[test]
    fn a_missing_file_is_an_error_naming_the_variable() {
        let Err(error) = resolve(env(&[("APP__AUTH__HS256_SECRET_FILE", "/nonexistent/secret")])) else {
            panic!("a missing file must fail")
        };
        let message = format!("{error:#}");
        assert!(message.contains("APP__AUTH__HS256_SECRET_FILE") && message.contains("/nonexistent/secret"), "{message}");
    }
}
