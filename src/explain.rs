//! `explain CODE` and `explain --list`: one source (the knowledge tables) for the text for
//! people and the document for scripts, as `ruff rule` does.

use serde::Serialize;

use crate::vocabulary::Check;
use crate::vocabulary::knowledge::{self, Code, Language, Link};

/// Everything about one code in one language. The keys are language-neutral; the text is not.
#[derive(Debug, Serialize)]
pub struct Explanation {
    pub code: &'static str,
    pub anchor: String,
    pub severity: &'static str,
    pub status: &'static str,
    pub retired_in: Option<&'static str>,
    pub retired: Option<&'static str>,
    pub title: &'static str,
    pub meaning: &'static str,
    /// The checks that can report the code, and those that do not run when it is found: both
    /// from the check graph, as the runner uses it.
    pub checks: Vec<Check>,
    pub skips: Vec<Check>,
    pub solutions: &'static [&'static str],
    pub links: &'static [Link],
    pub url: String,
}

impl Explanation {
    pub fn new(code: Code, language: &Language) -> Explanation {
        let facts = code.facts();
        let text = language.text(code);
        Explanation {
            code: facts.code,
            anchor: code.anchor(),
            severity: facts.severity.key(),
            status: facts.status.key(),
            retired_in: facts.retired_in,
            retired: text.retired,
            title: text.title,
            meaning: text.meaning,
            checks: code.reported_by(),
            skips: code.skips(),
            solutions: text.solutions,
            links: text.links,
            url: code.reference_url(),
        }
    }
}

/// One line of `explain --list`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub code: &'static str,
    pub severity: &'static str,
    pub status: &'static str,
    pub title: &'static str,
}

pub fn summaries(language: &Language) -> Vec<Summary> {
    Code::ALL
        .iter()
        .map(|&code| {
            let facts = code.facts();
            Summary {
                code: facts.code,
                severity: facts.severity.key(),
                status: facts.status.key(),
                title: language.text(code).title,
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct SummaryList {
    pub codes: Vec<Summary>,
    /// The explain command as the user types it, for the hint under the list.
    pub explain: &'static str,
}

/// Finds the code to explain; see [`knowledge::find_code`] for what is accepted.
pub fn lookup(input: &str) -> Result<Code, knowledge::UnknownCode> {
    knowledge::find_code(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_found_in_every_spelling_people_paste() {
        for &code in &Code::ALL {
            let name = code.as_str();
            for spelling in [
                name.to_owned(),
                name.to_ascii_lowercase(),
                format!("https://aka.ms/acr/errors#{}", code.anchor()),
                format!(
                    "https://learn.microsoft.com/azure/container-registry/container-registry-health-error-reference#{}",
                    code.anchor()
                ),
                format!("  {name}  "),
            ] {
                assert_eq!(lookup(&spelling), Ok(code), "{spelling}");
            }
        }
        assert_eq!(lookup("connectivity_ssl"), Ok(Code::CONNECTIVITY_SSL_ERROR));
    }

    #[test]
    fn a_typo_gets_a_suggestion_and_nonsense_gets_none() {
        let err = lookup("CONNECTIVITY_SSL_EROR").unwrap_err();
        assert_eq!(err.suggestion, Some(Code::CONNECTIVITY_SSL_ERROR));
        let err = lookup("CONNECTIVITY_DNS_EROR").unwrap_err();
        assert_eq!(err.suggestion, Some(Code::CONNECTIVITY_DNS_ERROR));
        assert_eq!(lookup("xyz").unwrap_err().suggestion, None);
    }
}
