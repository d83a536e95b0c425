//! Which language to speak: `--lang`, then `ACR_HEALTH_LANG`, then the locale the way gettext
//! reads it (`LC_ALL` > `LC_MESSAGES` > `LANG`, with `LANGUAGE` as a priority list unless the
//! locale is C/POSIX).

use crate::vocabulary::knowledge::{self, Language};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LocaleError {
    /// An explicit choice (flag or `ACR_HEALTH_LANG`) names a language we do not have.
    #[error("unsupported language {requested:?}")]
    Unsupported { requested: String },
}

/// Picks the language. `env` reads an environment variable (injected for tests).
pub fn resolve(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<&'static Language, LocaleError> {
    let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(explicit) = flag
        .map(str::to_owned)
        .or_else(|| non_empty("ACR_HEALTH_LANG"))
    {
        return language_of(&explicit).ok_or(LocaleError::Unsupported {
            requested: explicit,
        });
    }
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|name| non_empty(name));
    let Some(locale) = locale else {
        return Ok(knowledge::reference_language());
    };
    if is_c_locale(&locale) {
        return Ok(knowledge::reference_language());
    }
    // A locale the user did not choose for us is no reason to fail: fall back to English, as
    // gettext does.
    let priority = non_empty("LANGUAGE").unwrap_or_default();
    Ok(priority
        .split(':')
        .chain(std::iter::once(locale.as_str()))
        .find_map(language_of)
        .unwrap_or_else(knowledge::reference_language))
}

fn is_c_locale(locale: &str) -> bool {
    let base = locale.split(['.', '@']).next().unwrap_or_default();
    base == "C" || base == "POSIX"
}

/// `nl_BE.UTF-8@euro` → `nl`; `NL` → `nl`.
fn language_of(locale: &str) -> Option<&'static Language> {
    let language = locale
        .split(['.', '@', '_', '-'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if language.is_empty() {
        return None;
    }
    knowledge::language(&language)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(flag: Option<&str>, vars: &[(&str, &str)]) -> Result<&'static str, LocaleError> {
        resolve(flag, |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
        .map(|l| l.tag)
    }

    #[test]
    fn the_locale_is_resolved_the_way_gettext_does_it() {
        type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);
        let table: &[Case] = &[
            (None, &[], "en"),
            (None, &[("LANG", "nl_NL.UTF-8")], "nl"),
            (None, &[("LANG", "nl_BE.UTF-8")], "nl"),
            (None, &[("LANG", "nl")], "nl"),
            (None, &[("LANG", "C")], "en"),
            (None, &[("LANG", "C.UTF-8")], "en"),
            (None, &[("LANG", "POSIX")], "en"),
            (None, &[("LANG", "de_DE.UTF-8")], "en"),
            (
                None,
                &[("LC_MESSAGES", "nl_NL.UTF-8"), ("LANG", "en_US.UTF-8")],
                "nl",
            ),
            (
                None,
                &[("LC_ALL", "en_US.UTF-8"), ("LC_MESSAGES", "nl_NL.UTF-8")],
                "en",
            ),
            (None, &[("LC_ALL", ""), ("LANG", "nl_NL.UTF-8")], "nl"),
            (None, &[("LC_ALL", "C"), ("LANGUAGE", "nl")], "en"),
            (
                None,
                &[("LANG", "en_US.UTF-8"), ("LANGUAGE", "de:nl")],
                "nl",
            ),
            (None, &[("LANG", "nl_NL@euro")], "nl"),
            (
                None,
                &[("ACR_HEALTH_LANG", "nl"), ("LANG", "en_US.UTF-8")],
                "nl",
            ),
            (
                Some("en"),
                &[("ACR_HEALTH_LANG", "nl"), ("LANG", "nl_NL.UTF-8")],
                "en",
            ),
            (Some("NL"), &[], "nl"),
            (Some("nl-BE"), &[], "nl"),
        ];
        for (flag, vars, expected) in table {
            assert_eq!(
                pick(*flag, vars).as_deref(),
                Ok(*expected),
                "flag {flag:?}, env {vars:?}"
            );
        }
    }

    #[test]
    fn an_explicit_unsupported_language_is_an_error() {
        assert_eq!(
            pick(Some("fr"), &[]),
            Err(LocaleError::Unsupported {
                requested: "fr".into()
            })
        );
        assert_eq!(
            pick(None, &[("ACR_HEALTH_LANG", "de")]),
            Err(LocaleError::Unsupported {
                requested: "de".into()
            })
        );
    }
}
