//! A code's markdown file and a published docs page, parsed into a code's text.

use super::*;

/// Relative links in published docs pages are relative to this page.
const DOCS_BASE: &str = "https://learn.microsoft.com/azure/container-registry/";
const DOCS_ROOT: &str = "https://learn.microsoft.com";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeFrontMatter {
    title: String,
    #[serde(default)]
    retired: Option<String>,
}

/// Parses one published docs page on its own (for tests and for checking a page before it is
/// dropped into `knowledge/<lang>/`).
pub fn parse_page(
    path: &Path,
    source: &str,
    markers: &Markers,
) -> Result<Vec<(String, CodeText)>, Vec<Problem>> {
    let mut problems = Vec::new();
    let found = parse_docs_page(path, source, markers, &mut problems);
    if problems.is_empty() {
        Ok(found
            .into_iter()
            .map(|(code, _, text)| (code, text))
            .collect())
    } else {
        Err(problems)
    }
}

/// One file per code: front matter with the title (and the retirement reason), then the
/// section body in the same layout as a docs page section.
pub(super) fn parse_code_file(
    path: &Path,
    code: &str,
    source: &str,
    markers: &Markers,
    problems: &mut Vec<Problem>,
) -> Option<(CodeText, usize)> {
    let events: Vec<(Event, std::ops::Range<usize>)> = Parser::new_ext(source, parser_options())
        .into_offset_iter()
        .collect();
    let (yaml, yaml_line, body_start) = match events.as_slice() {
        [
            (Event::Start(Tag::MetadataBlock(MetadataBlockKind::YamlStyle)), _),
            (Event::Text(yaml), range),
            (Event::End(TagEnd::MetadataBlock(_)), _),
            ..,
        ] => (yaml.to_string(), line_at(source, range.start), 3),
        _ => {
            problems.push(problem(
                path,
                1,
                format!("{code} has no front matter"),
                "start the file with a --- block that holds at least `title:`",
            ));
            return None;
        }
    };
    let front: CodeFrontMatter = match serde_saphyr::from_str(&yaml) {
        Ok(front) => front,
        Err(e) => {
            let line = yaml_line + e.location().map_or(0, |l| l.line() as usize - 1);
            problems.push(problem(
                path,
                line,
                format!("the front matter is not valid: {e}"),
                "the front matter has `title:` and, for retired codes, `retired:`",
            ));
            return None;
        }
    };
    let section = parse_section(path, source, &events[body_start..], markers, problems);
    let retired = front
        .retired
        .map(|r| r.trim().to_owned())
        .or(section.retired);
    Some((
        CodeText {
            title: front.title.trim().to_owned(),
            retired,
            meaning: section.meaning,
            solutions: section.solutions,
            links: section.links,
        },
        1,
    ))
}

/// A published docs page: front matter, `## <a name="code"></a>CODE` sections, an italic
/// marker before the solutions (or none), reference-style links at the end.
pub(super) fn parse_docs_page(
    path: &Path,
    source: &str,
    markers: &Markers,
    problems: &mut Vec<Problem>,
) -> Vec<(String, usize, CodeText)> {
    let events: Vec<(Event, std::ops::Range<usize>)> = Parser::new_ext(source, parser_options())
        .into_offset_iter()
        .collect();
    // Split into sections at level-2 headings whose text is a code name.
    let mut sections: Vec<(String, usize, usize, usize)> = Vec::new(); // code, line, start, end
    let mut i = 0;
    while i < events.len() {
        if let (Event::Start(Tag::Heading { level, .. }), range) = &events[i] {
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j].0, Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j].0 {
                    text.push_str(t);
                }
                j += 1;
            }
            if let Some(last) = sections.last_mut().filter(|s| s.3 == usize::MAX) {
                last.3 = i;
            }
            let name = text.trim().to_owned();
            if *level == HeadingLevel::H2 && is_code_name(&name) {
                sections.push((name, line_at(source, range.start), j + 1, usize::MAX));
            }
            i = j + 1;
            continue;
        }
        i += 1;
    }
    if sections.is_empty() {
        problems.push(problem(
            path,
            1,
            "no code sections found in this page",
            "name per-code files <CODE>.md, or give the page `## <a name=\"code\"></a>CODE` headings",
        ));
    }
    sections
        .into_iter()
        .map(|(code, line, start, end)| {
            let end = end.min(events.len());
            let mut section = parse_section(path, source, &events[start..end], markers, problems);
            let title = section
                .title
                .take()
                .unwrap_or_else(|| first_sentence(&section.meaning));
            let text = CodeText {
                title,
                retired: section.retired,
                meaning: section.meaning,
                solutions: section.solutions,
                links: section.links,
            };
            (code, line, text)
        })
        .collect()
}

#[derive(Debug, Default)]
struct Section {
    title: Option<String>,
    meaning: String,
    solutions: Vec<String>,
    links: Vec<Link>,
    retired: Option<String>,
}

/// Splits a section body into its parts. The body is a run of top-level blocks: an optional
/// bold-only title paragraph, meaning paragraphs, then parts that each open with an italic
/// marker (`*Potential solutions:*`), whose content is a list or the rest of the paragraph.
fn parse_section(
    path: &Path,
    source: &str,
    events: &[(Event, std::ops::Range<usize>)],
    markers: &Markers,
    problems: &mut Vec<Problem>,
) -> Section {
    let mut section = Section::default();
    let mut meaning = Vec::new();
    let mut inline_links = Vec::new();
    let mut part = Part::Meaning;
    for block in top_level_blocks(events) {
        let (first, range) = &block[0];
        let line = line_at(source, range.start);
        collect_links(&block, &mut inline_links);
        match first {
            Event::Start(Tag::Paragraph) => {
                let inner = &block[1..block.len() - 1];
                if let Some((marker, rest)) = split_marker(inner) {
                    match markers.classify(&marker) {
                        Some(found) => part = found,
                        None => {
                            problems.push(problem(
                                path,
                                line,
                                format!("unknown marker *{marker}*"),
                                "use one of the kb.marker.* texts of this language's ui.yaml",
                            ));
                            continue;
                        }
                    }
                    if !rest.is_empty() {
                        add_inline(&mut section, &mut meaning, part, rest, path, line, problems);
                    }
                    continue;
                }
                let title_allowed =
                    part == Part::Meaning && meaning.is_empty() && section.title.is_none();
                if let Some(title) = bold_only(inner).filter(|_| title_allowed) {
                    section.title = Some(title);
                    continue;
                }
                add_inline(
                    &mut section,
                    &mut meaning,
                    part,
                    inner,
                    path,
                    line,
                    problems,
                );
            }
            Event::Start(Tag::List(_)) => match part {
                Part::Solutions => section
                    .solutions
                    .extend(list_items(&block).iter().map(|i| to_markdown(i))),
                Part::Links => {
                    for item in list_items(&block) {
                        let mut found = Vec::new();
                        collect_links(&item, &mut found);
                        if found.is_empty() {
                            problems.push(problem(
                                path,
                                line,
                                "an item under the links marker holds no link",
                                "write each item as [label](https://…)",
                            ));
                        }
                        section.links.extend(found);
                    }
                }
                Part::Meaning | Part::Retired => {
                    problems.push(problem(
                        path,
                        line,
                        "a list outside the solutions and links parts",
                        "put lists after the solutions or links marker, or write the meaning as paragraphs",
                    ));
                }
            },
            Event::Html(_) | Event::Start(Tag::HtmlBlock) => {} // comments such as <!-- LINKS -->
            _ => problems.push(problem(
                path,
                line,
                "only paragraphs and lists may appear in a code's text",
                "remove headings, code blocks, tables and quotes from the section",
            )),
        }
    }
    section.meaning = meaning.join("\n\n");
    for link in inline_links {
        if !section.links.iter().any(|l| l.url == link.url) {
            section.links.push(link);
        }
    }
    for link in &section.links {
        if !link.url.starts_with("https://") {
            problems.push(problem(
                path,
                1,
                format!("the link {:?} is not an absolute https URL", link.url),
                "write the full https:// address",
            ));
        }
    }
    section
}

fn add_inline(
    section: &mut Section,
    meaning: &mut Vec<String>,
    part: Part,
    inline: &[(Event, std::ops::Range<usize>)],
    path: &Path,
    line: usize,
    problems: &mut Vec<Problem>,
) {
    match part {
        Part::Meaning => meaning.push(to_markdown(inline)),
        // Seed pages write solutions inline, separated by semicolons.
        Part::Solutions => section.solutions.extend(
            split_on_semicolons(inline)
                .iter()
                .map(|i| to_markdown(i))
                .filter(|s| !s.is_empty()),
        ),
        Part::Retired => {
            let text = to_markdown(inline);
            section.retired = Some(match section.retired.take() {
                Some(before) => format!("{before} {text}"),
                None => text,
            });
        }
        Part::Links => problems.push(problem(
            path,
            line,
            "text under the links marker",
            "write the links as a list of [label](https://…) items",
        )),
    }
}

type Spanned<'a> = (Event<'a>, std::ops::Range<usize>);

fn parser_options() -> Options {
    Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
}

fn line_at(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// Groups events into top-level blocks, each from its start tag to its end tag.
fn top_level_blocks<'a>(events: &[Spanned<'a>]) -> Vec<Vec<Spanned<'a>>> {
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    let mut current = Vec::new();
    for (event, range) in events {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        current.push((event.clone(), range.clone()));
        if depth == 0 {
            blocks.push(std::mem::take(&mut current));
        }
    }
    blocks
}

/// `*Marker:* rest` → ("Marker:", rest). The marker is an emphasis at the start of the paragraph
/// whose text ends in a colon.
fn split_marker<'a, 'b>(inline: &'b [Spanned<'a>]) -> Option<(String, &'b [Spanned<'a>])> {
    if !matches!(inline.first(), Some((Event::Start(Tag::Emphasis), _))) {
        return None;
    }
    let end = inline
        .iter()
        .position(|(e, _)| matches!(e, Event::End(TagEnd::Emphasis)))?;
    let text: String = inline[1..end]
        .iter()
        .filter_map(|(e, _)| match e {
            Event::Text(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect();
    let rest = &inline[end + 1..];
    // A colon may also stand right after the emphasis: `*Marker*:`.
    let (text, rest) = match rest.first() {
        Some((Event::Text(t), _)) if t.trim() == ":" => (format!("{text}:"), &rest[1..]),
        _ => (text, rest),
    };
    if !text.trim_end().ends_with(':') {
        return None;
    }
    let rest = match rest.first() {
        Some((Event::SoftBreak, _)) => &rest[1..],
        _ => rest,
    };
    Some((text.trim().to_owned(), rest))
}

fn bold_only(inline: &[Spanned]) -> Option<String> {
    let (Some((Event::Start(Tag::Strong), _)), Some((Event::End(TagEnd::Strong), _))) =
        (inline.first(), inline.last())
    else {
        return None;
    };
    let inner = &inline[1..inline.len() - 1];
    if inner
        .iter()
        .any(|(e, _)| matches!(e, Event::Start(Tag::Strong)))
    {
        return None;
    }
    Some(to_markdown(inner))
}

fn list_items<'a>(list: &[Spanned<'a>]) -> Vec<Vec<Spanned<'a>>> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<Vec<Spanned<'a>>> = None;
    for (event, range) in &list[1..list.len().saturating_sub(1)] {
        match event {
            Event::Start(Tag::Item) if depth == 0 => {
                current = Some(Vec::new());
                depth += 1;
                continue;
            }
            Event::End(TagEnd::Item) if depth == 1 => {
                items.extend(current.take());
                depth -= 1;
                continue;
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth -= 1,
            _ => {}
        }
        if let Some(item) = current.as_mut() {
            // Loose lists wrap item text in paragraphs; keep only the inline content.
            if !matches!(
                event,
                Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph)
            ) {
                item.push((event.clone(), range.clone()));
            }
        }
    }
    items
}

fn split_on_semicolons<'a>(inline: &[Spanned<'a>]) -> Vec<Vec<Spanned<'a>>> {
    let mut parts = vec![Vec::new()];
    let mut depth = 0usize;
    for (event, range) in inline {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(text) if depth == 0 && text.contains(';') => {
                let mut pieces = text.split(';');
                if let Some(first) = pieces.next() {
                    parts.last_mut().into_iter().for_each(|p| {
                        p.push((Event::Text(CowStr::from(first.to_owned())), range.clone()))
                    });
                }
                for piece in pieces {
                    parts.push(vec![(
                        Event::Text(CowStr::from(piece.to_owned())),
                        range.clone(),
                    )]);
                }
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push((event.clone(), range.clone()));
        }
    }
    parts
}

fn collect_links(events: &[Spanned], out: &mut Vec<Link>) {
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Link { dest_url, .. }) = &events[i].0 {
            let mut label = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j].0, Event::End(TagEnd::Link)) {
                if let Event::Text(t) | Event::Code(t) = &events[j].0 {
                    label.push_str(t);
                }
                j += 1;
            }
            let url = absolute_url(dest_url);
            if !out.iter().any(|l| l.url == url) {
                out.push(Link {
                    label: label.trim().to_owned(),
                    url,
                });
            }
            i = j;
        }
        i += 1;
    }
}

/// Makes a docs-relative link absolute, the way learn.microsoft.com resolves it.
pub fn absolute_url(dest: &str) -> String {
    if dest.contains("://") || dest.starts_with("mailto:") {
        return dest.to_owned();
    }
    let (path, fragment) = match dest.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (dest, String::new()),
    };
    let path = path.strip_suffix(".md").unwrap_or(path);
    if let Some(rooted) = path.strip_prefix('/') {
        format!("{DOCS_ROOT}/{rooted}{fragment}")
    } else {
        format!("{DOCS_BASE}{path}{fragment}")
    }
}

/// Serializes inline events to one line of markdown: soft breaks become spaces, links become
/// inline links with absolute addresses, so the text stands on its own. Parsing the result gives
/// the same events back (the export round trip depends on it).
fn to_markdown(inline: &[Spanned]) -> String {
    let mut out = String::new();
    let mut links = Vec::new();
    for (event, _) in inline {
        match event {
            Event::Text(text) => escape_into(&mut out, text),
            Event::Code(code) => {
                let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
                let fence = "`".repeat(longest + 1);
                let pad = if code.starts_with('`') || code.ends_with('`') {
                    " "
                } else {
                    ""
                };
                out.push_str(&format!("{fence}{pad}{code}{pad}{fence}"));
            }
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::Start(Tag::Emphasis) | Event::End(TagEnd::Emphasis) => out.push('*'),
            Event::Start(Tag::Strong) | Event::End(TagEnd::Strong) => out.push_str("**"),
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push(absolute_url(dest_url));
                out.push('[');
            }
            Event::End(TagEnd::Link) => {
                out.push_str("](");
                out.push_str(&links.pop().unwrap_or_default());
                out.push(')');
            }
            Event::InlineHtml(html) => out.push_str(html),
            _ => {}
        }
    }
    let folded = out
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // Text that would open a block (a list, a heading, a quote) when it starts a line.
    let opens_block = folded.starts_with(['#', '-', '+', '>'])
        || folded
            .split_once(['.', ')'])
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if opens_block {
        format!("\\{folded}")
    } else {
        folded
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<') {
            out.push('\\');
        }
        out.push(c);
    }
}

fn first_sentence(markdown: &str) -> String {
    let first = markdown.split("\n\n").next().unwrap_or_default();
    match first.find(". ") {
        Some(end) => first[..end].to_owned(),
        None => first.trim_end_matches('.').to_owned(),
    }
}
