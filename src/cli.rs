//! The command line: az's shape (`acr check-health`, the global `-o/--query/--verbose/...`),
//! with help texts read from the knowledge base in the user's language.

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::knowledge::Language;
use crate::output::Format;

#[derive(Debug, Parser)]
#[command(name = "acr-health", version, disable_help_subcommand = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// az's global arguments, accepted on every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<Format>,
    #[arg(long, global = true)]
    pub query: Option<String>,
    #[arg(long, global = true)]
    pub only_show_errors: bool,
    #[arg(long, global = true)]
    pub verbose: bool,
    #[arg(long, global = true)]
    pub debug: bool,
    #[arg(long, global = true, value_name = "LANG")]
    pub lang: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Acr {
        #[command(subcommand)]
        command: AcrCommand,
    },
    CheckHealth(CheckHealthArgs),
    Explain(ExplainArgs),
    Codes,
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AcrCommand {
    CheckHealth(CheckHealthArgs),
}

/// az's `acr check-health` arguments, plus `--timeout`.
#[derive(Debug, Clone, Args)]
pub struct CheckHealthArgs {
    #[arg(short = 'n', long, value_name = "NAME")]
    pub name: Option<String>,
    #[arg(long)]
    pub ignore_errors: bool,
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[arg(long, value_name = "VNET")]
    pub vnet: Option<String>,
    #[arg(long, value_name = "REPOSITORY")]
    pub repository: Option<String>,
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    #[arg(long)]
    pub round_trip: bool,
    #[arg(long, value_name = "REPOSITORY", default_value = "acr-health/probe")]
    pub round_trip_repository: String,
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    #[arg(long, value_name = "SUBSCRIPTION")]
    pub subscription: Option<String>,
    #[arg(long, value_name = "HOST[:PORT]", conflicts_with = "name")]
    pub login_server: Option<String>,
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    #[arg(long, value_name = "CLOUD")]
    pub cloud: Option<String>,
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    pub username: Option<String>,
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[arg(value_name = "CODE")]
    pub code: Option<String>,
    #[arg(long, conflicts_with = "code")]
    pub list: bool,
}

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    Export,
}

/// The clap command with every help text in `language`. Help keys are `help.<command path>.<arg>`
/// with a fallback to `help.<arg>`, so a global flag is described once.
pub fn command(language: &Language) -> clap::Command {
    let command = Cli::command()
        .about(language.ui("help.about").to_owned())
        .after_help(language.ui("help.exit_codes").to_owned());
    localize(command, language, "")
}

fn localize(mut command: clap::Command, language: &Language, path: &str) -> clap::Command {
    let ids: Vec<String> = command
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        let key = [format!("help.{path}{id}"), format!("help.{id}")]
            .into_iter()
            .find(|k| language.has_ui(k));
        if let Some(key) = key {
            let help = language.ui(&key).to_owned();
            command = command.mut_arg(&id, |arg| arg.help(help));
        }
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        let key = format!("help.{path}{name}");
        let sub_path = format!("{path}{name}.");
        command = command.mut_subcommand(&name, |sub| {
            let sub = if language.has_ui(&key) {
                sub.about(language.ui(&key).to_owned())
            } else {
                sub
            };
            localize(sub, language, &sub_path)
        });
    }
    command
}

/// `--lang` is needed before clap parses, to choose the language of the help.
pub fn early_lang(args: &[std::ffi::OsString]) -> Option<String> {
    let mut iter = args.iter().filter_map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        if arg == "--lang" {
            return iter.next().map(str::to_owned);
        }
        if let Some(value) = arg.strip_prefix("--lang=") {
            return Some(value.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::LANGUAGES;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_argument_and_command_has_help_in_every_language() {
        fn walk(command: &clap::Command, tag: &str, path: &str) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                assert!(arg.get_help().is_some(), "{tag}: {path}{id} has no help");
            }
            for sub in command.get_subcommands() {
                assert!(
                    sub.get_about().is_some(),
                    "{tag}: {path}{} has no about",
                    sub.get_name()
                );
                walk(sub, tag, &format!("{path}{}.", sub.get_name()));
            }
        }
        for language in &LANGUAGES {
            walk(&command(language), language.tag, "");
        }
    }

    #[test]
    fn the_language_is_found_before_parsing() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            early_lang(&args(&["x", "explain", "--lang", "nl"])).as_deref(),
            Some("nl")
        );
        assert_eq!(
            early_lang(&args(&["x", "--lang=nl", "explain"])).as_deref(),
            Some("nl")
        );
        assert_eq!(
            early_lang(&args(&["x", "explain", "--", "--lang", "nl"])),
            None
        );
    }
}
