//! Markdown for people: raw markdown when piped, rendered for the terminal otherwise (headings,
//! lists, code spans, links), wrapped to its width, colored unless told not to.

use std::io::IsTerminal;

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

/// How text for people is written to one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMode {
    /// Piped: the markdown as it is, so it can be saved or pasted into an issue.
    Markdown,
    /// A terminal: rendered and wrapped, with color when `color` is set.
    Terminal { color: bool, width: usize },
}

impl TextMode {
    /// Decides from the stream and the environment (`NO_COLOR`, `TERM=dumb`).
    pub fn detect(stream: &impl IsTerminal, env: impl Fn(&str) -> Option<String>) -> TextMode {
        if !stream.is_terminal() {
            return TextMode::Markdown;
        }
        let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty())
            || env("TERM").is_some_and(|t| t == "dumb");
        let width = terminal_size::terminal_size()
            .map(|(w, _)| usize::from(w.0))
            .unwrap_or(80)
            .clamp(40, 100);
        TextMode::Terminal {
            color: !no_color,
            width,
        }
    }

    pub fn color(self) -> bool {
        matches!(self, TextMode::Terminal { color: true, .. })
    }
}

/// ANSI styles, written only when color is on.
pub mod ansi {
    pub const BOLD: &str = "\x1b[1m";
    pub const ITALIC: &str = "\x1b[3m";
    pub const UNDERLINE: &str = "\x1b[4m";
    pub const DIM: &str = "\x1b[2m";
    pub const RED: &str = "\x1b[31m";
    pub const GREEN: &str = "\x1b[32m";
    pub const YELLOW: &str = "\x1b[33m";
    pub const CYAN: &str = "\x1b[36m";
    pub const RESET: &str = "\x1b[0m";
}

/// Paints `text` with `style` when color is on.
pub fn paint(color: bool, style: &str, text: &str) -> String {
    if color {
        format!("{style}{text}{}", ansi::RESET)
    } else {
        text.to_owned()
    }
}

pub fn render(markdown: &str, mode: TextMode) -> String {
    match mode {
        TextMode::Markdown => markdown.to_owned(),
        TextMode::Terminal { color, width } => Renderer::new(color, width).run(markdown),
    }
}

/// Inline markdown (one solution, one note) as one line for `mode`.
pub fn inline(markdown: &str, mode: TextMode) -> String {
    match mode {
        TextMode::Markdown => markdown.to_owned(),
        TextMode::Terminal { color, .. } => Renderer::new(color, usize::MAX)
            .run(markdown)
            .trim_end()
            .to_owned(),
    }
}

/// Wraps each line of a report to `width`, keeping its indentation; a bulleted line hangs under
/// its text.
pub fn wrap_lines(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if textwrap::core::display_width(body) <= width {
            out.push_str(line);
            continue;
        }
        let content = body.trim_start();
        let indent = &body[..body.len() - content.len()];
        let hang = if content.starts_with("• ") || content.starts_with("- ") {
            "  "
        } else {
            ""
        };
        let rest = format!("{indent}{hang}");
        let options = textwrap::Options::new(width)
            .initial_indent(indent)
            .subsequent_indent(&rest)
            .break_words(false);
        let wrapped: Vec<_> = textwrap::wrap(content, options);
        out.push_str(&wrapped.join("\n"));
        out.push_str(newline);
    }
    out
}

struct Renderer {
    color: bool,
    width: usize,
    out: String,
    line: String,
    /// One entry per open list: the next number for ordered lists.
    lists: Vec<Option<u64>>,
    /// The bullet of the item whose first line is being written.
    pending_bullet: Option<String>,
    styles: Vec<&'static str>,
    heading: Option<HeadingLevel>,
    link: Option<String>,
}

impl Renderer {
    fn new(color: bool, width: usize) -> Renderer {
        Renderer {
            color,
            width,
            out: String::new(),
            line: String::new(),
            lists: Vec::new(),
            pending_bullet: None,
            styles: Vec::new(),
            heading: None,
            link: None,
        }
    }

    fn run(mut self, markdown: &str) -> String {
        for event in Parser::new(markdown) {
            self.event(event);
        }
        self.flush();
        let trimmed = self.out.trim_end().to_owned();
        trimmed + "\n"
    }

    fn push_style(&mut self, style: &'static str) {
        self.styles.push(style);
        if self.color {
            self.line.push_str(style);
        }
    }

    fn pop_style(&mut self) {
        self.styles.pop();
        if self.color {
            self.line.push_str(ansi::RESET);
            let restore: String = self.styles.concat();
            self.line.push_str(&restore);
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                self.flush();
                self.heading = Some(level);
                self.push_style(ansi::BOLD);
                if level == HeadingLevel::H1 {
                    self.push_style(ansi::UNDERLINE);
                }
            }
            Event::End(TagEnd::Heading(level)) => {
                if level == HeadingLevel::H1 {
                    self.pop_style();
                }
                self.pop_style();
                self.heading = None;
                self.flush();
            }
            Event::Start(Tag::Paragraph) => self.flush(),
            Event::End(TagEnd::Paragraph) => self.flush(),
            Event::Start(Tag::List(start)) => {
                self.flush();
                self.lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                self.flush();
                self.lists.pop();
                if self.lists.is_empty() {
                    self.out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                self.flush();
                let bullet = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let b = format!("{n}. ");
                        *n += 1;
                        b
                    }
                    _ => "• ".to_owned(),
                };
                self.pending_bullet = Some(bullet);
            }
            Event::End(TagEnd::Item) => self.flush(),
            Event::Start(Tag::Emphasis) => self.push_style(ansi::ITALIC),
            Event::End(TagEnd::Emphasis) => self.pop_style(),
            Event::Start(Tag::Strong) => self.push_style(ansi::BOLD),
            Event::End(TagEnd::Strong) => self.pop_style(),
            Event::Start(Tag::Link { dest_url, .. }) => self.link = Some(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                // An autolink (`<https://…>`) already shows its address.
                if let Some(url) = self
                    .link
                    .take()
                    .filter(|u| !self.line.ends_with(u.as_str()))
                {
                    self.line.push(' ');
                    let shown = format!("<{url}>");
                    self.line.push_str(&paint(self.color, ansi::DIM, &shown));
                }
            }
            Event::Text(text) => self.line.push_str(&text),
            Event::Code(code) => {
                if self.color {
                    self.line.push_str(&paint(true, ansi::CYAN, &code));
                    self.line.push_str(&self.styles.concat());
                } else {
                    self.line.push('`');
                    self.line.push_str(&code);
                    self.line.push('`');
                }
            }
            Event::SoftBreak => self.line.push(' '),
            Event::HardBreak => {
                self.line.push('\n');
            }
            Event::Start(Tag::CodeBlock(_)) => self.flush(),
            Event::End(TagEnd::CodeBlock) => {
                let block = std::mem::take(&mut self.line);
                let indent = "    ".repeat(self.lists.len().max(1));
                for line in block.lines() {
                    self.out.push_str(&indent);
                    self.out.push_str(&paint(self.color, ansi::CYAN, line));
                    self.out.push('\n');
                }
                self.out.push('\n');
            }
            Event::Rule => {
                self.flush();
                self.out.push_str(&"─".repeat(self.width.min(40)));
                self.out.push_str("\n\n");
            }
            _ => {}
        }
    }

    /// Writes the current block, wrapped, with the list indentation.
    fn flush(&mut self) {
        let text = std::mem::take(&mut self.line);
        if text.trim().is_empty() {
            return;
        }
        let depth = self.lists.len();
        let indent = "  ".repeat(depth.saturating_sub(1));
        let (first, rest) = match self.pending_bullet.take() {
            Some(bullet) => {
                let hang = " ".repeat(bullet.chars().count());
                (format!("{indent}{bullet}"), format!("{indent}{hang}"))
            }
            None if depth > 0 => {
                let hang = format!("{indent}  ");
                (hang.clone(), hang)
            }
            None => (String::new(), String::new()),
        };
        let options = textwrap::Options::new(self.width)
            .initial_indent(&first)
            .subsequent_indent(&rest)
            .break_words(false);
        for line in textwrap::wrap(text.trim(), options) {
            self.out.push_str(line.trim_end());
            self.out.push('\n');
        }
        // Items of a tight list stay together; everything else gets a blank line after it.
        if depth == 0 || self.heading.is_some() {
            self.out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Title\n\nA paragraph with `code` and a [link](https://example.test/x) that is long enough to wrap at forty columns.\n\n## Solutions\n\n- First `cmd --flag`\n- Second\n\nAfter.\n";

    #[test]
    fn piped_text_is_the_markdown_itself() {
        assert_eq!(render(SAMPLE, TextMode::Markdown), SAMPLE);
    }

    #[test]
    fn terminal_text_without_color_is_wrapped_and_has_no_escape_codes() {
        let out = render(
            SAMPLE,
            TextMode::Terminal {
                color: false,
                width: 40,
            },
        );
        assert!(!out.contains('\x1b'));
        assert!(out.lines().all(|l| l.chars().count() <= 40), "{out}");
        assert!(out.contains("• First `cmd --flag`"));
        assert!(out.contains("<https://example.test/x>"), "{out}");
        assert!(!out.contains("# Title"));
    }

    #[test]
    fn report_lines_wrap_under_their_indent_and_bullets_hang() {
        let text = "short\n  • a bullet with quite a few words in it to wrap\n";
        assert_eq!(
            wrap_lines(text, 24),
            "short\n  • a bullet with quite\n    a few words in it to\n    wrap\n"
        );
    }

    #[test]
    fn inline_markdown_keeps_backticks_without_color() {
        let mode = TextMode::Terminal {
            color: false,
            width: 10,
        };
        assert_eq!(
            inline("Run `docker info` now, see [docs](https://d.test)", mode),
            "Run `docker info` now, see docs <https://d.test>"
        );
    }

    #[test]
    fn terminal_text_with_color_styles_code_and_headings() {
        let out = render(
            SAMPLE,
            TextMode::Terminal {
                color: true,
                width: 60,
            },
        );
        assert!(out.contains(&format!("{}code{}", ansi::CYAN, ansi::RESET)));
        assert!(out.contains(ansi::BOLD));
    }
}
