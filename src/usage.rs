//! Wrong arguments, told as az tells them (one `error:` line naming the argument, a hint under
//! it, exit code 2) and in the user's language: clap's own messages are English only.

use std::ffi::OsString;

use clap::CommandFactory;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::cli::Cli;
use crate::vocabulary::knowledge::Language;
use crate::vocabulary::ui;

/// Whether clap's "error" is a text the user asked for (help, version) rather than a mistake.
pub fn is_requested_text(error: &clap::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// The message and the fix for a command line clap refused; `args` are the arguments given,
/// to name the command whose help lists the right ones.
pub fn explain(error: &clap::Error, args: &[OsString], language: &Language) -> (String, String) {
    let context = |kind| error.get(kind).map(text);
    // clap names an argument with its value (`--timeout <SECONDS>`); az names the flag alone.
    let flags = |kind| {
        let flags: Vec<String> = match error.get(kind) {
            Some(ContextValue::Strings(list)) => list.iter().map(|a| flag_of(a)).collect(),
            Some(ContextValue::StyledStrs(list)) => {
                list.iter().map(|a| flag_of(&a.to_string())).collect()
            }
            Some(other) => vec![flag_of(&text(other))],
            None => Vec::new(),
        };
        flags.join(", ")
    };
    let argument = flags(ContextKind::InvalidArg);
    let value = context(ContextKind::InvalidValue).unwrap_or_default();
    let message = match error.kind() {
        ErrorKind::UnknownArgument => {
            language.format(ui::ERROR_USAGE_UNKNOWN_ARGUMENT, &[("argument", &argument)])
        }
        ErrorKind::InvalidSubcommand => language.format(
            ui::ERROR_USAGE_UNKNOWN_COMMAND,
            &[(
                "command",
                &context(ContextKind::InvalidSubcommand).unwrap_or_default(),
            )],
        ),
        ErrorKind::InvalidValue if value.is_empty() => {
            language.format(ui::ERROR_USAGE_MISSING_VALUE, &[("argument", &argument)])
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => language.format(
            ui::ERROR_USAGE_INVALID_VALUE,
            &[("argument", &argument), ("value", &value)],
        ),
        ErrorKind::TooManyValues => language.format(
            ui::ERROR_USAGE_NO_VALUE,
            &[("argument", &argument), ("value", &value)],
        ),
        ErrorKind::ArgumentConflict => language.format(
            ui::ERROR_USAGE_CONFLICT,
            &[
                ("argument", &argument),
                ("other", &flags(ContextKind::PriorArg)),
            ],
        ),
        ErrorKind::MissingRequiredArgument => language.format(
            ui::ERROR_USAGE_MISSING_REQUIRED,
            &[("arguments", &argument)],
        ),
        ErrorKind::MissingSubcommand => language.format(
            ui::ERROR_USAGE_MISSING_COMMAND,
            &[
                ("command", &command_path(args)),
                (
                    "commands",
                    &context(ContextKind::ValidSubcommand).unwrap_or_default(),
                ),
            ],
        ),
        ErrorKind::InvalidUtf8 => language.ui(ui::ERROR_USAGE_NOT_UTF8).to_owned(),
        _ => language.ui(ui::ERROR_USAGE_OTHER).to_owned(),
    };
    let suggestion = [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand]
        .into_iter()
        .map(flags)
        .find(|s| !s.is_empty());
    let choices = context(ContextKind::ValidValue).filter(|v| !v.is_empty());
    let value_rule = format!("error.usage.value.{}", argument.trim_start_matches('-'));
    let fix = if let Some(suggestion) = suggestion {
        language.format(ui::ERROR_DID_YOU_MEAN, &[("suggestion", &suggestion)])
    } else if let Some(values) = choices {
        language.format(ui::ERROR_USAGE_CHOICES, &[("values", &values)])
    } else if error.kind() == ErrorKind::ValueValidation && language.has_ui(&value_rule) {
        language.ui_named(&value_rule).to_owned()
    } else {
        language.format(ui::ERROR_USAGE_HELP, &[("command", &command_path(args))])
    };
    (message, fix)
}

fn text(value: &ContextValue) -> String {
    match value {
        ContextValue::String(s) => s.clone(),
        ContextValue::Strings(list) => list.join(", "),
        ContextValue::StyledStr(s) => s.to_string(),
        ContextValue::StyledStrs(list) => list
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        ContextValue::Number(n) => n.to_string(),
        // Context kinds read here are strings; anything else says nothing a user needs.
        _ => String::new(),
    }
}

fn flag_of(argument: &str) -> String {
    argument
        .split_whitespace()
        .next()
        .unwrap_or(argument)
        .to_owned()
}

/// `acr-health acr check-health`: the subcommands named in `args`, in order.
fn command_path(args: &[OsString]) -> String {
    let mut command = Cli::command();
    let mut path = vec![command.get_name().to_owned()];
    for arg in args.iter().skip(1).filter_map(|a| a.to_str()) {
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_owned());
        command = sub;
    }
    path.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::knowledge::LANGUAGES;
    use clap::Parser;

    fn refused(args: &[&str]) -> (Vec<OsString>, clap::Error) {
        let args: Vec<OsString> = std::iter::once("acr-health")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        match Cli::try_parse_from(&args) {
            Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
            Err(error) => (args, error),
        }
    }

    fn english(args: &[&str]) -> (String, String) {
        let (args, error) = refused(args);
        explain(&error, &args, &LANGUAGES[0])
    }

    #[test]
    fn an_unknown_argument_is_named_with_the_command_to_ask_for_help() {
        let (message, fix) = english(&["acr", "check-health", "--bogus"]);
        assert_eq!(message, "Unrecognized argument: --bogus.");
        assert_eq!(
            fix,
            "Run `acr-health acr check-health --help` to see its arguments."
        );
    }

    #[test]
    fn a_near_miss_gets_the_right_spelling() {
        let (message, fix) = english(&["check-health", "--ignore-error"]);
        assert_eq!(message, "Unrecognized argument: --ignore-error.");
        assert_eq!(fix, "Did you mean --ignore-errors?");
        let (message, fix) = english(&["--lang", "nl", "acr", "check-helth"]);
        assert_eq!(message, "\"check-helth\" is not an acr-health command.");
        assert_eq!(fix, "Did you mean check-health?");
    }

    #[test]
    fn values_are_explained_with_what_is_allowed() {
        let (message, fix) = english(&["check-health", "--timeout", "0"]);
        assert_eq!(message, "\"0\" is not a valid value for --timeout.");
        assert_eq!(
            fix,
            "--timeout takes a whole number of seconds from 1 to 3600."
        );
        let (message, fix) = english(&["codes", "-o", "xml"]);
        assert_eq!(message, "\"xml\" is not a valid value for --output.");
        assert!(fix.starts_with("Choose one of: json, "), "{fix}");
        let (message, _) = english(&["check-health", "-n"]);
        assert_eq!(message, "--name expects a value.");
        let (message, _) = english(&[
            "check-health",
            "--login-server",
            "x:5000",
            "--username",
            "u",
        ]);
        assert_eq!(
            message,
            "The following arguments are required: --password-stdin."
        );
        let (message, _) = english(&["check-health", "--yes=1"]);
        assert_eq!(message, "--yes takes no value, but was given \"1\".");
        let (message, fix) = english(&["acr", "--verbose"]);
        assert_eq!(
            message,
            "`acr-health acr` needs a command: check-health, show-endpoints."
        );
        assert_eq!(fix, "Run `acr-health acr --help` to see its arguments.");
    }

    #[test]
    fn every_missing_argument_is_named() {
        let error = clap::Command::new("t")
            .arg(clap::Arg::new("a").long("alpha").required(true))
            .arg(
                clap::Arg::new("b")
                    .long("beta")
                    .value_name("B")
                    .required(true),
            )
            .try_get_matches_from(["t"])
            .unwrap_err();
        let (message, _) = explain(&error, &[], &LANGUAGES[0]);
        assert_eq!(
            message,
            "The following arguments are required: --alpha, --beta."
        );
    }

    #[test]
    fn conflicting_arguments_name_both() {
        let (message, _) = english(&[
            "check-health",
            "-n",
            "myregistry",
            "--login-server",
            "localhost:5000",
        ]);
        assert_eq!(
            message,
            "--name cannot be used together with --login-server."
        );
    }

    #[test]
    fn help_and_version_are_not_mistakes() {
        for args in [&["--help"][..], &["--version"], &["acr"]] {
            let (_, error) = refused(args);
            assert!(is_requested_text(&error), "{args:?}: {:?}", error.kind());
        }
        let (_, error) = refused(&["--bogus"]);
        assert!(!is_requested_text(&error));
    }

    #[test]
    fn every_language_says_it_without_english() {
        let (args, error) = refused(&["acr", "check-health", "--bogus"]);
        for language in &LANGUAGES[1..] {
            let (message, fix) = explain(&error, &args, language);
            let (english_message, english_fix) = explain(&error, &args, &LANGUAGES[0]);
            assert_ne!(message, english_message, "{}", language.tag);
            assert_ne!(fix, english_fix, "{}", language.tag);
        }
    }
}
