//! The text for people is rendered from minijinja templates in `templates/`, with `t(key, ...)`
//! reading the interface strings of the chosen language. Undefined values fail loudly, so a
//! missing key is caught by the tests, not by a user.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use serde::Serialize;

use crate::vocabulary::check::DEFAULT_CONTAINER_CLIENT;
use crate::vocabulary::knowledge::Language;

const TEMPLATES: &[(&str, &str)] = &[
    ("explain.md", include_str!("../templates/explain.md.j2")),
    (
        "explain-list.md",
        include_str!("../templates/explain-list.md.j2"),
    ),
    ("kb-page.md", include_str!("../templates/kb-page.md.j2")),
    ("check.txt", include_str!("../templates/check.txt.j2")),
    ("summary.txt", include_str!("../templates/summary.txt.j2")),
];

#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct TemplateError(#[from] Error);

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new(language: &'static Language) -> Result<Templates, TemplateError> {
        // Only what the templates use: registering every built-in filter and test took most of
        // the set-up, and check-health does it before its first check starts.
        let mut env = Environment::empty();
        env.add_filter("join", minijinja::filters::join);
        env.add_filter("map", minijinja::filters::map);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()?,
        );
        // Compiled when first used: a run needs two or three of them, and check-health starts
        // its checks before the first one is rendered.
        env.set_loader(|name| {
            Ok(TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, source)| (*source).to_owned()))
        });
        env.add_function(
            "t",
            move |key: &str, kwargs: Kwargs| -> Result<String, Error> {
                if !language.has_ui(key) {
                    return Err(Error::new(
                        ErrorKind::UndefinedError,
                        format!("interface string {key:?}"),
                    ));
                }
                let mut args = Vec::new();
                for name in kwargs.args() {
                    let value: Value = kwargs.get(name)?;
                    args.push((name.to_owned(), value.to_string()));
                }
                kwargs.assert_all_used()?;
                let pairs: Vec<(&str, &str)> =
                    args.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                Ok(language.format_named(key, &pairs))
            },
        );
        env.add_filter("check_name", move |id: &str| {
            crate::vocabulary::Check::from_id(id).map_or_else(
                || id.to_owned(),
                |check| language.check_name(check, DEFAULT_CONTAINER_CLIENT),
            )
        });
        Ok(Templates { env })
    }

    /// Compiles `name` now if it is not yet, so that its first render does not have to.
    pub fn compile(&self, name: &str) -> Result<(), TemplateError> {
        self.env.get_template(name)?;
        Ok(())
    }

    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, TemplateError> {
        let template = self.env.get_template(name)?;
        Ok(template.render(Value::from(minijinja::value::Serde(context)))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_in_every_language() {
        for language in &crate::vocabulary::knowledge::LANGUAGES {
            let templates = Templates::new(language).unwrap();
            for (name, _) in TEMPLATES {
                templates
                    .env
                    .get_template(name)
                    .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            }
        }
    }
}
