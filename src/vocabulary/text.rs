//! A text for people, named by its interface-string key and filled in when it is reported, in
//! the user's language.

use super::knowledge::Ui;

/// An interface string with the values of its placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub key: Ui,
    pub args: Vec<(&'static str, Arg)>,
}

/// A value for a placeholder: a fact, or another interface string (localized too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Plain(String),
    /// Another text with its own placeholders.
    Text(Box<Text>),
}

impl Text {
    pub fn ui(key: Ui) -> Text {
        Text {
            key,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Text {
        self.args.push((name, Arg::Plain(value.to_string())));
        self
    }

    pub fn arg_text(mut self, name: &'static str, text: Text) -> Text {
        self.args.push((name, Arg::Text(Box::new(text))));
        self
    }

    /// The plain value of a placeholder.
    #[cfg(test)]
    pub fn plain(&self, name: &str) -> Option<&str> {
        self.args.iter().find_map(|(n, v)| match v {
            Arg::Plain(value) if *n == name => Some(value.as_str()),
            _ => None,
        })
    }
}
