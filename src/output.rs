//! Structured output for scripts: az's `-o/--output` formats and `--query` (JMESPath, keeping
//! key order as az does).

use clap::ValueEnum;
use serde_json::Value;

use crate::render::{ansi, paint};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Jsonc,
    Yaml,
    Yamlc,
    Table,
    Tsv,
    None,
}

/// Each holds the library's own words; the message around them is the caller's, in the user's
/// language (`error.invalid_query`, `error.output`).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    Serialize(String),
}

/// A compiled `--query`, checked before any work is done so a typo fails fast.
pub struct Query(jpx_core::Expression<'static>);

impl Query {
    pub fn compile(expression: &str) -> Result<Query, OutputError> {
        jpx_core::compile(expression)
            .map(Query)
            .map_err(|e| OutputError::InvalidQuery(e.to_string()))
    }

    pub fn apply(&self, value: &Value) -> Result<Value, OutputError> {
        self.0
            .search(value)
            .map_err(|e| OutputError::InvalidQuery(e.to_string()))
    }
}

/// Formats a document. `None` writes nothing; the others end with a newline.
pub fn format(value: &Value, format: Format) -> Result<String, OutputError> {
    let text = match format {
        Format::None => return Ok(String::new()),
        Format::Json => to_json(value)?,
        Format::Jsonc => colorize_json(&to_json(value)?),
        Format::Yaml => to_yaml(value)?,
        Format::Yamlc => colorize_yaml(&to_yaml(value)?),
        Format::Table => to_table(value),
        Format::Tsv => to_tsv(value),
    };
    Ok(if text.ends_with('\n') {
        text
    } else {
        text + "\n"
    })
}

fn to_json(value: &Value) -> Result<String, OutputError> {
    serde_json::to_string_pretty(value).map_err(|e| OutputError::Serialize(e.to_string()))
}

fn to_yaml(value: &Value) -> Result<String, OutputError> {
    serde_saphyr::to_string(value).map_err(|e| OutputError::Serialize(e.to_string()))
}

/// Colors keys, strings and other scalars, as az's jsonc does.
fn colorize_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut chars = json.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c == '"' {
            let mut end = start + 1;
            let mut escaped = false;
            for (i, c) in chars.by_ref() {
                end = i + c.len_utf8();
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    break;
                }
            }
            let literal = &json[start..end];
            let is_key = json[end..].trim_start().starts_with(':');
            out.push_str(&paint(
                true,
                if is_key { ansi::CYAN } else { ansi::GREEN },
                literal,
            ));
        } else if c.is_ascii_digit() || c == '-' || c.is_ascii_alphabetic() {
            let mut end = start + c.len_utf8();
            while let Some((i, c)) = chars.peek() {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+') {
                    end = i + c.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            out.push_str(&paint(true, ansi::YELLOW, &json[start..end]));
        } else {
            out.push(c);
        }
    }
    out
}

fn colorize_yaml(yaml: &str) -> String {
    yaml.lines()
        .map(|line| {
            let body = line.trim_start_matches([' ', '-']);
            let lead = &line[..line.len() - body.len()];
            match body.split_once(':') {
                Some((key, rest)) if !key.contains(' ') || !key.starts_with('"') => format!(
                    "{lead}{}:{}",
                    paint(true, ansi::CYAN, key),
                    paint(true, ansi::GREEN, rest)
                ),
                _ => format!("{lead}{}", paint(true, ansi::GREEN, body)),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The rows of a document for table and tsv: a list of objects or of lists is one row each; a
/// single object is one row; anything else is one row of one cell.
fn rows(value: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut columns: Vec<String> = Vec::new();
    for item in &items {
        if let Value::Object(map) = item {
            for (key, v) in map {
                // az leaves nested objects and lists out of tables.
                if !v.is_object() && !v.is_array() && !columns.contains(key) {
                    columns.push(key.clone());
                }
            }
        }
    }
    let rows = items
        .iter()
        .map(|item| match item {
            Value::Object(map) => columns.iter().map(|c| cell(map.get(c))).collect(),
            Value::Array(cells) => cells.iter().map(|c| cell(Some(c))).collect(),
            other => vec![cell(Some(other))],
        })
        .collect();
    (columns, rows)
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// az's table: capitalized headers, a dashed rule, columns padded to their widest cell.
fn to_table(value: &Value) -> String {
    let (columns, rows) = rows(value);
    let headers: Vec<String> = if columns.is_empty() {
        vec!["Result".to_owned()]
    } else {
        columns.iter().map(|c| header(c)).collect()
    };
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain(std::iter::once(headers[i].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![
        line(&headers),
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    ];
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n") + "\n"
}

/// `duration_ms` → `DurationMs`, as az's table headers do.
fn header(key: &str) -> String {
    key.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|f| f.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn to_tsv(value: &Value) -> String {
    let (_, rows) = rows(value);
    rows.iter()
        .map(|r| r.join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!([
            {"code": "B_ERROR", "severity": "error", "status": "active", "links": ["x"]},
            {"code": "A_ERROR", "severity": "warning", "status": "retired", "links": []}
        ])
    }

    #[test]
    fn a_query_keeps_the_key_order_of_its_multiselect() {
        let q = Query::compile("[].{zname: code, alpha: severity}").unwrap();
        let out = format(&q.apply(&sample()).unwrap(), Format::Json).unwrap();
        assert!(
            out.find("zname").unwrap() < out.find("alpha").unwrap(),
            "{out}"
        );
    }

    #[test]
    fn a_filter_selects_by_value() {
        let q = Query::compile("[?severity=='error'].code").unwrap();
        assert_eq!(q.apply(&sample()).unwrap(), json!(["B_ERROR"]));
    }

    #[test]
    fn an_invalid_query_is_an_error_not_a_panic() {
        assert!(matches!(
            Query::compile("[?"),
            Err(OutputError::InvalidQuery(_))
        ));
    }

    #[test]
    fn table_has_headers_a_rule_and_leaves_lists_out() {
        let out = format(&sample(), Format::Table).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Code     Severity  Status");
        assert!(lines[1].starts_with("-------"));
        assert_eq!(lines[2], "B_ERROR  error     active");
        assert!(!out.contains("Links"));
    }

    #[test]
    fn tsv_is_tab_separated_without_header() {
        let out = format(&sample(), Format::Tsv).unwrap();
        assert_eq!(out, "B_ERROR\terror\tactive\nA_ERROR\twarning\tretired\n");
    }

    #[test]
    fn yaml_keeps_key_order_and_parses_back() {
        let out = format(&sample(), Format::Yaml).unwrap();
        assert!(out.find("code").unwrap() < out.find("severity").unwrap());
        let back: Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn colored_json_is_the_same_json_under_the_color() {
        let out = format(&sample(), Format::Jsonc).unwrap();
        let plain: String = strip_ansi(&out);
        assert_eq!(serde_json::from_str::<Value>(&plain).unwrap(), sample());
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut in_escape = false;
        for c in s.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    #[test]
    fn none_writes_nothing() {
        assert_eq!(format(&sample(), Format::None).unwrap(), "");
    }
}
