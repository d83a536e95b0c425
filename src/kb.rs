//! `kb export`: the error reference page regenerated from the tables, in the published docs
//! layout, so it can be published or diffed against Microsoft's page.

use serde::Serialize;

use crate::explain::Explanation;
use crate::templates::{TemplateError, Templates};
use crate::vocabulary::knowledge::{Code, Language};
use crate::vocabulary::{Ui, ui};

#[derive(Serialize)]
struct Page {
    lang: &'static str,
    marker_solutions: String,
    marker_links: String,
    marker_retired: String,
    codes: Vec<Explanation>,
}

/// The first of a marker's alternatives is the one we write.
fn marker(language: &Language, key: Ui) -> String {
    language
        .ui(key)
        .split('|')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

pub fn export(language: &'static Language) -> Result<String, TemplateError> {
    let page = Page {
        lang: language.tag,
        marker_solutions: marker(language, ui::KB_MARKER_SOLUTIONS),
        marker_links: marker(language, ui::KB_MARKER_LINKS),
        marker_retired: marker(language, ui::KB_MARKER_RETIRED),
        codes: Code::ALL
            .iter()
            .map(|&c| Explanation::new(c, language))
            .collect(),
    };
    Templates::new(language)?.render("kb-page.md", &page)
}
