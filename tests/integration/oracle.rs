//! Oracle parsers: the tool's output read back the way the CI platforms read it. Each follows the
//! platform's own code, cited, and is stricter where the platform is lenient, so that a test that
//! passes here passes there.
//!
//! - [`github_commands`], [`command_like_lines`]: GitHub's runner reading workflow commands from a
//!   docker action's stdout and stderr (`actions/runner`, `src/Runner.Common/ActionCommand.cs`:
//!   `TryParseV2` trims leading whitespace and wants `::`; the legacy `TryParse` finds `##[`
//!   anywhere in the line).
//! - [`github_output_file`]: the runner reading `$GITHUB_OUTPUT` (`FileCommandManager.cs`: lines end
//!   at `\n`; `NAME=VALUE`, or `NAME<<DELIMITER` up to a line equal to the delimiter, else "Matching
//!   delimiter not found"; empty lines skipped).
//! - [`gitlab_dotenv`]: GitLab reading a dotenv report (`app/services/ci/parse_dotenv_artifact_service.rb`:
//!   size strictly under the limit, each line `/^(.*?)=(.*)$/` or the whole report is rejected, key
//!   and value stripped, keys `[A-Za-z0-9_]+` (the variable model), last value wins, at most N
//!   variables; values are stored `raw: false`, so `$NAME`, `${NAME}` and `%NAME%` expand).
//! - [`summary_check`]: the step summary read by a CommonMark + GFM parser (`pulldown-cmark`).

use std::collections::BTreeMap;

/// The commands GitHub's runner registers (`ActionCommandManager.cs` and its extensions).
pub const GITHUB_COMMANDS: &[&str] = &[
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "internal-set-repo-path",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "warning",
];

/// One workflow command as the runner parses it: name, properties, data (unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand {
    pub name: String,
    pub properties: BTreeMap<String, String>,
    pub data: String,
}

/// The lines of a stream as the runner's process reader splits them: at `\n`, `\r\n` and `\r`.
fn runner_lines(stream: &str) -> Vec<&str> {
    stream.split(['\n', '\r']).collect()
}

fn unescape(text: &str, mappings: &[(&str, &str)]) -> String {
    mappings
        .iter()
        .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
}

/// The runner's `TryParseV2` on one line.
fn parse_v2(line: &str) -> Option<WorkflowCommand> {
    let message = line.trim_start();
    let rest = message.strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    let (name, properties) = match info.find(' ') {
        Some(space) => (&info[..space], Some(&info[space + 1..])),
        None => (info, None),
    };
    if !GITHUB_COMMANDS.contains(&name) {
        return None;
    }
    let mut parsed = BTreeMap::new();
    for pair in properties
        .unwrap_or_default()
        .trim()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        if let Some((key, value)) = pair
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        {
            parsed.insert(
                key.to_string(),
                unescape(
                    value,
                    &[
                        ("%0D", "\r"),
                        ("%0A", "\n"),
                        ("%3A", ":"),
                        ("%2C", ","),
                        ("%25", "%"),
                    ],
                ),
            );
        }
    }
    Some(WorkflowCommand {
        name: name.to_string(),
        properties: parsed,
        data: unescape(
            &rest[end + 2..],
            &[("%0D", "\r"), ("%0A", "\n"), ("%25", "%")],
        ),
    })
}

/// The runner's legacy `TryParse` on one line (`##[name k=v;]data` anywhere in it).
fn parse_v1(line: &str) -> Option<WorkflowCommand> {
    let start = line.find("##[")?;
    let close = start + line[start..].find(']')?;
    let info = &line[start + 3..close];
    let name = info.split(' ').next().unwrap_or_default();
    GITHUB_COMMANDS.contains(&name).then(|| WorkflowCommand {
        name: name.to_string(),
        properties: BTreeMap::new(),
        data: line[close + 1..].to_string(),
    })
}

/// Every workflow command the runner would obey in `stream`. Unlike the runner it does not stop at
/// `::stop-commands::`: a test sees every command, the stop included.
pub fn github_commands(stream: &str) -> Vec<WorkflowCommand> {
    runner_lines(stream)
        .into_iter()
        .filter_map(|line| parse_v2(line).or_else(|| parse_v1(line)))
        .collect()
}

/// Stricter than the runner: every line that starts with `::` after trimming, or holds `##[`,
/// whatever the name (a command the runner learns tomorrow would match).
pub fn command_like_lines(stream: &str) -> Vec<String> {
    runner_lines(stream)
        .into_iter()
        .filter(|line| line.trim_start().starts_with("::") || line.contains("##["))
        .map(str::to_string)
        .collect()
}

/// `$GITHUB_OUTPUT` as the runner reads it: the outputs in order, or the runner's error.
pub fn github_output_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut outputs = Vec::new();
    let mut lines = text
        .split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l));
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                let (name, value) = (&line[..e], &line[e + 1..]);
                outputs.push((name.to_string(), value.to_string()));
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("Invalid format '{line}'"));
                }
                let mut value = Vec::new();
                loop {
                    match lines.next() {
                        None => {
                            return Err(format!("Matching delimiter not found '{delimiter}'"));
                        }
                        Some(l) if l == delimiter => break,
                        Some(l) => value.push(l),
                    }
                }
                outputs.push((name.to_string(), value.join("\n")));
            }
            _ => return Err(format!("Invalid format '{line}'")),
        }
    }
    Ok(outputs)
}

/// GitLab's dotenv size limit (default plan limit; the rule is `size < limit`).
pub const GITLAB_DOTENV_LIMIT: usize = 5 * 1024;
/// The smallest variable limit GitLab has used (older instances: 20).
pub const GITLAB_DOTENV_MAX_VARIABLES: usize = 20;

/// Ruby's `String#strip`: whitespace and NUL.
fn ruby_strip(text: &str) -> &str {
    text.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\0'))
}

/// A dotenv report as GitLab reads it: the variables (last value wins), or why it is rejected.
pub fn gitlab_dotenv(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    if bytes.len() >= GITLAB_DOTENV_LIMIT {
        return Err(format!("Dotenv Artifact Too Big: {} bytes", bytes.len()));
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut variables = BTreeMap::new();
    for line in text.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("Invalid Format: {line:?}"));
        };
        let (key, value) = (ruby_strip(key), ruby_strip(value));
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("invalid key {key:?}"));
        }
        variables.insert(key.to_string(), value.to_string());
    }
    if variables.len() > GITLAB_DOTENV_MAX_VARIABLES {
        return Err(format!("{} variables", variables.len()));
    }
    Ok(variables)
}

/// Whether a GitLab variable value is literal for both of GitLab's expanders: the runner's (`$NAME`,
/// `${NAME}`, `$$` an escape) and GitLab's own `ExpandVariables` (`environment:url`, nested
/// variables: `/\$([a-zA-Z_][a-zA-Z0-9_]*)|\${\g<1>}|%\g<1>%/`, no escape). `None` when either
/// would find a reference; else the value itself.
pub fn gitlab_literal(value: &str) -> Option<String> {
    let chars: Vec<char> = value.chars().collect();
    let name_start = |c: Option<&char>| c.is_some_and(|c| c.is_ascii_alphabetic() || *c == '_');
    for (i, c) in chars.iter().enumerate() {
        match c {
            '$' if name_start(chars.get(i + 1)) => return None,
            '$' if chars.get(i + 1) == Some(&'{') && name_start(chars.get(i + 2)) => return None,
            '%' if name_start(chars.get(i + 1)) => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .map(|p| i + 1 + p);
                if end.is_some_and(|e| chars[e] == '%') {
                    return None;
                }
            }
            _ => {}
        }
    }
    Some(value.to_string())
}

/// What the step summary renders to, read by a CommonMark + GFM parser.
#[derive(Debug, Default)]
pub struct Summary {
    /// Heading texts.
    pub headings: Vec<String>,
    /// Rows of the table body (not the header), each a list of cell texts (code included).
    pub rows: Vec<Vec<String>>,
    /// Link destinations.
    pub links: Vec<String>,
    /// Raw HTML, block or inline.
    pub html: Vec<String>,
    /// Each piece of text outside code spans and code blocks (where Markdown, autolinks, mentions
    /// and emoji render).
    pub plain: Vec<String>,
    /// Text inside code spans and code blocks.
    pub code_text: String,
    /// Strong (bold) texts.
    pub strong: Vec<String>,
}

/// Parses a step summary the way GitHub renders it (CommonMark with GFM tables).
pub fn summary_check(markdown: &str) -> Summary {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut summary = Summary::default();
    let mut heading: Option<String> = None;
    let mut strong: Option<String> = None;
    let mut row: Option<Vec<String>> = None;
    let mut in_head = false;
    let mut in_block = false;
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for event in Parser::new_ext(markdown, options) {
        let mut text_seen = |text: &str, code: bool| {
            if let Some(h) = heading.as_mut() {
                h.push_str(text);
            }
            if let Some(s) = strong.as_mut() {
                s.push_str(text);
            }
            if let Some(r) = row.as_mut() {
                if let Some(cell) = r.last_mut() {
                    cell.push_str(text);
                }
            }
            if code {
                summary.code_text.push_str(text);
                summary.code_text.push('\n');
            } else {
                summary.plain.push(text.to_string());
            }
        };
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => summary.headings.extend(heading.take()),
            Event::Start(Tag::Strong) => strong = Some(String::new()),
            Event::End(TagEnd::Strong) => summary.strong.extend(strong.take()),
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) if !in_head => row = Some(Vec::new()),
            Event::End(TagEnd::TableRow) => summary.rows.extend(row.take()),
            Event::Start(Tag::TableCell) => {
                if let Some(r) = row.as_mut() {
                    r.push(String::new());
                }
            }
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                summary.links.push(dest_url.to_string());
            }
            Event::Start(Tag::CodeBlock(_)) => in_block = true,
            Event::End(TagEnd::CodeBlock) => in_block = false,
            Event::Html(html) | Event::InlineHtml(html) => summary.html.push(html.to_string()),
            Event::Code(code) => text_seen(&code, true),
            Event::Text(text) => text_seen(&text, in_block),
            _ => {}
        }
    }
    summary
}

/// Whether `text` holds a fragment of 8 or more characters of `token`.
pub fn holds_fragment(text: &str, token: &str) -> bool {
    let chars: Vec<char> = token.chars().collect();
    chars
        .windows(8)
        .any(|w| text.contains(&w.iter().collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracles_read_what_the_platforms_read() {
        let cmds = github_commands(
            "a\n  ::error title=T%3A1,file=x::m%0An\rx ##[set-output name=r;]v\n::nope::x",
        );
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0].name, "error");
        assert_eq!(cmds[0].properties["title"], "T:1");
        assert_eq!(cmds[0].data, "m\nn");
        assert_eq!(cmds[1].name, "set-output");
        assert_eq!(command_like_lines("::nope::x\n a").len(), 1);

        assert_eq!(
            github_output_file("a=1\n\nb<<EOF\nx\ny\nEOF\n").unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "x\ny".into())]
        );
        assert!(github_output_file("b<<EOF\nx\n").is_err());
        assert!(github_output_file("novalue\n").is_err());

        assert_eq!(gitlab_dotenv(b"A= 1 \nA=2\n").unwrap()["A"], "2");
        assert!(gitlab_dotenv(b"A=1\n\n").is_err());
        assert!(gitlab_dotenv(b"A=1\nno equals\n").is_err());
        assert!(gitlab_dotenv(b"A-B=1\n").is_err());
        assert!(gitlab_dotenv(&vec![b'a'; GITLAB_DOTENV_LIMIT]).is_err());

        assert_eq!(gitlab_literal("a%24b%25c").as_deref(), Some("a%24b%25c"));
        assert_eq!(
            gitlab_literal("a$$b"),
            None,
            "GitLab's own expander has no escape"
        );
        assert_eq!(gitlab_literal("$CI_JOB_TOKEN"), None);
        assert_eq!(gitlab_literal("${X}"), None);
        assert_eq!(gitlab_literal("%CI_JOB_TOKEN%"), None);

        let s = summary_check(
            "### Title\n\n| A | B |\n|---|---|\n| `x\\|y` | **b** |\n\n[l](https://x) <b>x</b>\n",
        );
        assert_eq!(s.headings, vec!["Title"]);
        assert_eq!(s.rows, vec![vec!["x|y".to_string(), "b".to_string()]]);
        assert_eq!(s.links, vec!["https://x"]);
        assert_eq!(s.html.len(), 2);
        assert!(holds_fragment("xx12345678yy", "012345678"));
        assert!(!holds_fragment("xx1234567yy", "012345678"));
    }
}
