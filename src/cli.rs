//! The command line: az's shape (`acr check-health`, the global `-o/--query/--verbose/...`),
//! with help texts read from the knowledge base in the user's language.

use clap::{Arg, ArgAction, Args, CommandFactory, Parser, Subcommand};

use crate::output::Format;
use crate::vocabulary::knowledge::Language;
use crate::vocabulary::ui;

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
    Completions {
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    Man,
    // What the Azure CLI extension declares, as JSON, for its launcher (app::az_extension).
    #[command(hide = true)]
    AzCommands,
}

#[derive(Debug, Subcommand)]
pub enum AcrCommand {
    CheckHealth(CheckHealthArgs),
    ShowEndpoints(ShowEndpointsArgs),
}

/// az's `acr show-endpoints` arguments, plus `--cloud` and `--timeout`.
#[derive(Debug, Clone, Args)]
pub struct ShowEndpointsArgs {
    #[arg(short = 'n', long, value_name = "NAME")]
    pub name: String,
    #[arg(short = 'g', long, value_name = "GROUP")]
    pub resource_group: Option<String>,
    #[arg(long, value_name = "SUBSCRIPTION")]
    pub subscription: Option<String>,
    #[arg(long, value_name = "CLOUD")]
    pub cloud: Option<String>,
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
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
    #[arg(long)]
    pub daemon_pull: bool,
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
        .about(language.ui(ui::HELP_ABOUT).to_owned())
        .after_help(language.ui(ui::HELP_EXIT_CODES).to_owned())
        .disable_version_flag(true)
        .arg(own_flag("version", 'V', ArgAction::Version));
    let name = command.get_name().to_owned();
    localize(command, language, "", &name)
}

/// `path` is the command's place in the help keys (`acr.check-health.`), `usage_path` how it is
/// typed (`acr-health acr check-health`).
fn localize(
    command: clap::Command,
    language: &Language,
    path: &str,
    usage_path: &str,
) -> clap::Command {
    // clap's headings, its usage line and its help and version flags are English: each is
    // replaced by the language's words (the flags' help is `help.help` and `help.version`).
    // Styled as clap styles its own heading (clap drops the style when it writes to no terminal).
    let style = *command.get_styles().get_usage();
    let mut command = command
        .help_template(format!(
            "{{before-help}}{{about-with-newline}}\n{style}{}{style:#} {{usage}}\n\n{{all-args}}{{after-help}}",
            language.ui(ui::HELP_HEADING_USAGE)
        ))
        .subcommand_help_heading(language.ui(ui::HELP_HEADING_COMMANDS).to_owned())
        .disable_help_flag(true)
        .arg(own_flag("help", 'h', ArgAction::Help));
    let ids: Vec<String> = command
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        let key = [format!("help.{path}{id}"), format!("help.{id}")]
            .into_iter()
            .find(|k| language.has_ui(k));
        let help = key.map(|key| language.ui_named(&key).to_owned());
        command = command.mut_arg(&id, |arg| localize_arg(arg, help, language));
    }
    let mut usage = vec![
        usage_path.to_owned(),
        format!("[{}]", language.ui(ui::HELP_PLACEHOLDER_OPTIONS)),
    ];
    for positional in command.get_positionals() {
        let names = positional.get_value_names().unwrap_or_default();
        let name = names.first().map(ToString::to_string).unwrap_or_default();
        usage.push(if positional.is_required_set() {
            format!("<{name}>")
        } else {
            format!("[{name}]")
        });
    }
    if command.has_subcommands() {
        usage.push(format!("<{}>", language.ui(ui::HELP_PLACEHOLDER_COMMAND)));
    }
    command = command.override_usage(usage.join(" "));
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        let key = format!("help.{path}{name}");
        let sub_path = format!("{path}{name}.");
        let sub_usage = format!("{usage_path} {name}");
        command = command.mut_subcommand(&name, |sub| {
            let sub = if language.has_ui(&key) {
                sub.about(language.ui_named(&key).to_owned())
            } else {
                sub
            };
            localize(sub, language, &sub_path, &sub_usage)
        });
    }
    command
}

/// `--help` or `--version` in place of clap's, listed last as clap lists its own.
fn own_flag(name: &'static str, short: char, action: ArgAction) -> Arg {
    Arg::new(name)
        .short(short)
        .long(name)
        .action(action)
        .display_order(usize::MAX)
}

/// The arguments every command takes, shown apart as az shows its global arguments.
const GLOBAL_ARGUMENTS: [&str; 7] = [
    "output",
    "query",
    "only_show_errors",
    "verbose",
    "debug",
    "lang",
    "help",
];

/// An argument's help, heading, allowed values and default in `language` (clap would add the
/// last two in English).
fn localize_arg(arg: Arg, help: Option<String>, language: &Language) -> Arg {
    let heading = if arg.is_positional() {
        ui::HELP_HEADING_ARGUMENTS
    } else if GLOBAL_ARGUMENTS.contains(&arg.get_id().as_str()) {
        ui::HELP_HEADING_GLOBAL
    } else {
        ui::HELP_HEADING_OPTIONS
    };
    let heading = language.ui(heading).to_owned();
    let value_name = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map(ToString::to_string)
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
    let value_key = format!("help.value.{value_name}");
    let arg = if language.has_ui(&value_key) {
        arg.value_name(language.ui_named(&value_key).to_owned())
    } else {
        arg
    };
    let help = help
        .or_else(|| arg.get_help().map(ToString::to_string))
        .unwrap_or_default();
    if !arg.get_action().takes_values() {
        return arg.help(help).help_heading(heading);
    }
    let mut notes = Vec::new();
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    if !values.is_empty() && !arg.is_hide_possible_values_set() {
        notes.push(language.format(ui::HELP_VALUES, &[("values", &values.join(", "))]));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && !arg.is_hide_default_value_set() {
        notes.push(language.format(ui::HELP_DEFAULT, &[("value", &defaults.join(", "))]));
    }
    let help = std::iter::once(help)
        .chain(notes)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    arg.help(help)
        .help_heading(heading)
        .hide_possible_values(true)
        .hide_default_value(true)
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
    use crate::vocabulary::knowledge::LANGUAGES;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_argument_and_command_has_help_in_every_language() {
        fn walk(command: &clap::Command, tag: &str, path: &str) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
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
    fn help_has_no_english_of_clap_in_another_language() {
        fn paths(command: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
            out.push(prefix.to_vec());
            for sub in command.get_subcommands() {
                let mut path = prefix.to_vec();
                path.push(sub.get_name().to_owned());
                paths(sub, &path, out);
            }
        }
        let mut all = Vec::new();
        paths(&Cli::command(), &[], &mut all);
        assert!(all.len() >= 6, "{all:?}");
        let english = [
            "Usage:",
            "Options:",
            "Commands:",
            "Arguments:",
            "Print help",
            "Print version",
            "possible values",
            "default:",
            "[OPTIONS]",
            "<COMMAND>",
            "<SECONDS>",
        ];
        for language in &LANGUAGES[1..] {
            for path in &all {
                let args = std::iter::once("acr-health")
                    .chain(path.iter().map(String::as_str))
                    .chain(["--help"]);
                let help = match command(language).try_get_matches_from(args) {
                    Ok(_) => panic!("{path:?} --help parsed"),
                    Err(e) => e.render().to_string(),
                };
                assert!(help.contains(language.ui(ui::HELP_HEADING_USAGE)), "{help}");
                for word in english {
                    assert!(
                        !help.contains(word),
                        "{}: {path:?}: {word:?} in\n{help}",
                        language.tag
                    );
                }
            }
        }
    }

    #[test]
    fn global_arguments_are_shown_apart_after_the_commands_own() {
        for language in &LANGUAGES {
            let help = match command(language).try_get_matches_from([
                "acr-health",
                "acr",
                "check-health",
                "--help",
            ]) {
                Ok(_) => panic!("--help parsed"),
                Err(e) => e.render().to_string(),
            };
            let options = language.ui(ui::HELP_HEADING_OPTIONS);
            let global = language.ui(ui::HELP_HEADING_GLOBAL);
            let at = |needle: &str| {
                help.find(needle)
                    .unwrap_or_else(|| panic!("{needle:?} not in\n{help}"))
            };
            let (own, globals) = (at(&format!("{options}:")), at(&format!("{global}:")));
            assert!(own < globals, "{help}");
            for flag in [
                "--output",
                "--query",
                "--only-show-errors",
                "--verbose",
                "--debug",
                "--lang",
                "--help",
            ] {
                assert!(at(flag) > globals, "{flag} not under {global}:\n{help}");
            }
            for flag in ["--name", "--ignore-errors", "--login-server", "--timeout"] {
                assert!(at(flag) < globals, "{flag} under {global}:\n{help}");
            }
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
