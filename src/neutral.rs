//! Outside text made harmless: the redactor, and one function per place the tool writes to.
//!
//! The tool relays text it does not control: service, environment and stage names, states, ids,
//! URLs and error bodies from the Qovery API, and the entries users type. This module is the one
//! place that turns such text into text fit for each sink, and every sink in [`crate::ci`] (and the
//! HTTP client's retry notices) goes through it. Text from outside is data: it never becomes a
//! workflow command, a step output, a dotenv variable, Markdown or HTML structure, or a terminal
//! escape sequence.
//!
//! | sink | function | rule it follows |
//! |---|---|---|
//! | a log line (stdout, stderr) | [`log_text`], or [`log_fragment`] / [`log_excerpt`] (a line of an outside log, cut saying how much) + [`defuse_line`] | GitHub's runner reads workflow commands from both streams: a line that starts with `::` after its leading whitespace is trimmed (`ActionCommand.TryParseV2`), or that holds `##[` anywhere (the legacy `TryParse`) |
//! | workflow command data / property | [`command_data`], [`command_property`] | the runner's escapes: `%` `\r` `\n` (data), also `:` `,` (property); annotations are cut at 4096 characters |
//! | step summary (Markdown) | [`md_code`], [`md_block`], [`md_link`] | outside text only inside code spans or fenced code blocks, so no Markdown, HTML or mention renders from it; two kinds of link, on purpose: [`md_link`] to an `https` URL under the console base (or Qovery's documentation, for a failure's documentation link), and a service's public address (`previews` and `deploy`'s **Links**) as an autolink ([`md_autolink`], `<https://…>`, which shows the address it goes to) only when it is a plain `https` URL, else code |
//! | `$GITHUB_OUTPUT` value | [`output_value`] (and the heredoc writer in `ci`) | redacted; the heredoc delimiter never occurs in the value |
//! | GitLab dotenv value | [`dotenv_value`] | one line (`KEY=VALUE`, GitLab's `ParseDotenvArtifactService`), `$` and `%` encoded so no GitLab variable expansion finds a reference |
//!
//! Every function **redacts first**, then escapes, then cuts, so a cut can never leave part of a
//! secret behind. Redaction replaces every run of 8 or more characters that also occurs in a
//! registered secret with `***`, so no fragment of a token of 8 characters or more survives even
//! when the API itself echoed a cut or partial token.
//!
//! Control characters, line breaks and invisible formatting characters (zero-width spaces,
//! bidirectional controls, …) are shown escaped, Rust style (`\n`, `\u{1b}`, `\u{200b}`), by
//! [`inline`]: they never reach a terminal, a log viewer or a file raw.
//!
//! Pass each outside line through [`crate::ci::Ci::line`] (which applies [`log_text`]); when
//! composing a line from several outside fragments, escape each one with [`inline`] first so that
//! its line breaks cannot fake lines. Lines of an outside log (the deployment log of a failed
//! service, [`crate::logs`]) are [`log_excerpt`]s, printed by [`crate::ci::Ci::log_block`].

use std::borrow::Cow;
use std::collections::HashSet;

/// Secrets shorter than this many characters are not redacted from the tool's own text: a
/// one-character "token" would garble every message (`e***pected`). Such tokens are refused as
/// bad input anyway (see `inputs::config`); GitHub still gets `::add-mask::` for them.
pub const REDACT_MIN_CHARS: usize = 8;
/// What a redacted secret (or fragment of one) is replaced with.
pub const REDACTED: &str = "***";
/// GitHub cuts annotation messages at this many characters (`ExecutionContext.cs`); the tool cuts
/// them itself, after redaction, so the cut is where it chooses.
pub const ANNOTATION_MAX_CHARS: usize = 4096;
/// Workflow command properties (the annotation title) are kept short.
pub const PROPERTY_MAX_CHARS: usize = 200;

/// The secrets this process must never print: every 8-character window of each, so that any
/// fragment of 8 characters or more is found.
#[derive(Clone, Default)]
pub struct Redactor {
    windows: HashSet<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").finish_non_exhaustive()
    }
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// A redactor for one secret (see [`Redactor::add`]).
    pub fn with(secret: &str) -> Redactor {
        let mut redactor = Redactor::new();
        redactor.add(secret);
        redactor
    }

    /// Registers a secret. Returns `false`, and registers nothing, for one shorter than
    /// [`REDACT_MIN_CHARS`] characters.
    pub fn add(&mut self, secret: &str) -> bool {
        let bounds = char_bounds(secret);
        if bounds.len() <= REDACT_MIN_CHARS {
            return false;
        }
        for i in 0..bounds.len() - REDACT_MIN_CHARS {
            self.windows
                .insert(secret[bounds[i]..bounds[i + REDACT_MIN_CHARS]].to_string());
        }
        true
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// `text` with every run of [`REDACT_MIN_CHARS`] or more characters that occurs in a secret
    /// replaced by [`REDACTED`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.windows.is_empty() || text.len() < REDACT_MIN_CHARS {
            return Cow::Borrowed(text);
        }
        let bounds = char_bounds(text);
        let chars = bounds.len() - 1;
        if chars < REDACT_MIN_CHARS {
            return Cow::Borrowed(text);
        }
        let mut covered = vec![false; chars];
        let mut any = false;
        for i in 0..=chars - REDACT_MIN_CHARS {
            if self
                .windows
                .contains(&text[bounds[i]..bounds[i + REDACT_MIN_CHARS]])
            {
                covered[i..i + REDACT_MIN_CHARS].fill(true);
                any = true;
            }
        }
        if !any {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        for i in 0..chars {
            if !covered[i] {
                out.push_str(&text[bounds[i]..bounds[i + 1]]);
            } else if i == 0 || !covered[i - 1] {
                out.push_str(REDACTED);
            }
        }
        Cow::Owned(out)
    }
}

/// The byte offset of every character of `text`, and its length.
fn char_bounds(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect()
}

/// Invisible formatting characters (Unicode category Cf), line and paragraph separators, and the
/// Hangul fillers that render as nothing. With the control characters (Cc) they are what
/// [`inline`] escapes.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// What kind of character `c` is, for messages that must say what is wrong with a value without
/// showing the value (the token): `None` for a visible ASCII character.
pub fn char_kind(c: char) -> Option<String> {
    let code = format!("U+{:04X}", c as u32);
    let kind = match c {
        '!'..='~' => return None,
        ' ' => return Some("a space".into()),
        '\t' => return Some("a tab".into()),
        '\n' | '\r' => return Some("a line break".into()),
        '\u{200B}' => "a zero-width space",
        '\u{200C}' => "a zero-width non-joiner",
        '\u{200D}' => "a zero-width joiner",
        '\u{2060}' => "a word joiner (zero-width)",
        '\u{FEFF}' => "a zero-width no-break space (byte order mark)",
        '\u{00AD}' => "a soft hyphen (invisible)",
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => "a bidirectional control character",
        c if c.is_control() => "a control character",
        c if is_invisible(c) => "an invisible formatting character",
        c if c.is_whitespace() => "a non-ASCII space",
        _ => "a non-ASCII character",
    };
    Some(format!("{kind} ({code})"))
}

/// `text` on one line, every control character, line break and invisible character escaped Rust
/// style: `\n`, `\r`, `\t`, `\u{1b}`, `\u{200b}`. Printable text (any script, emoji) is kept.
pub fn inline(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// At most `max` characters of `text`; a longer text ends in `…`.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = text
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(0, |(i, _)| i);
            Cow::Owned(format!("{}…", &text[..keep]))
        }
    }
}

/// How far past the cut [`excerpt`] looks for a secret that straddles it, in characters: longer
/// than any token (Qovery tokens and JWTs are well under this).
pub const EXCERPT_LOOKAHEAD: usize = 8192;

/// At most `max` characters of outside `text`, on one line: **redacted first**, then
/// [`inline`]-escaped, then cut. Only the first `max + EXCERPT_LOOKAHEAD` characters are read, so a
/// huge body costs little, and a secret that straddles the cut is still whole when it is redacted.
pub fn excerpt(redactor: &Redactor, text: &str, max: usize) -> String {
    let head = match text.char_indices().nth(max + EXCERPT_LOOKAHEAD) {
        Some((end, _)) => &text[..end],
        None => text,
    };
    cut(&inline(&redactor.redact(head)), max).into_owned()
}

/// One line of an outside log (a deployment log line, or an error message or hint from it):
/// terminal escape sequences dropped ([`strip_terminal_sequences`]: build logs are full of colours),
/// then like [`excerpt`] **redacted**, then cut to `max` characters, but the cut says how many
/// characters it removed (`… (1234 characters cut)`), then [`inline`]-escaped. Only the first
/// `max + EXCERPT_LOOKAHEAD` characters are redacted and kept; the rest is only counted. What is
/// composed from it still goes through its sink's function ([`log_text`], [`command_data`],
/// [`md_block`], …).
pub fn log_excerpt(redactor: &Redactor, text: &str, max: usize) -> String {
    // Before redaction: a colour code in the middle of the token must not hide it.
    let text = strip_terminal_sequences(text);
    let (head, rest) = match text.char_indices().nth(max + EXCERPT_LOOKAHEAD) {
        Some((end, _)) => text.split_at(end),
        None => (text.as_ref(), ""),
    };
    let head = redactor.redact(head);
    let Some((keep, _)) = head.char_indices().nth(max) else {
        return inline(&head).into_owned();
    };
    let cut = head[keep..].chars().count() + rest.chars().count();
    format!("{}… ({cut} characters cut)", inline(&head[..keep]))
}

/// `text` without its terminal escape sequences (ECMA-48): CSI (`ESC [ … final byte`, colours
/// and cursor moves), OSC and the other strings (`ESC ] … BEL` or `ESC \\`, hyperlinks and window
/// titles), and two-character escapes. Any other control character is left for [`inline`].
pub fn strip_terminal_sequences(text: &str) -> Cow<'_, str> {
    if !text.contains('\x1b') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            Some(']' | 'P' | 'X' | '^' | '_') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// One line of a log made inert for GitHub's runner: when it would start with `::` once leading
/// whitespace is trimmed, a `\` goes before the `::`; every `##[` becomes `##\[`. Expects a line
/// without line breaks (as [`inline`] leaves it).
pub fn defuse_line(line: &str) -> Cow<'_, str> {
    let rest = line.trim_start_matches(|c: char| c.is_whitespace() || is_invisible(c));
    let command = rest.starts_with("::");
    if !command && !line.contains("##[") {
        return Cow::Borrowed(line);
    }
    let start = line.len() - rest.len();
    let mut out = String::with_capacity(line.len() + 4);
    out.push_str(&line[..start].replace("##[", "##\\["));
    if command {
        out.push('\\');
    }
    out.push_str(&rest.replace("##[", "##\\["));
    Cow::Owned(out)
}

/// Text for the log, as the tool prints it: redacted, each line [`inline`]-escaped and
/// [`defuse_line`]d. Line breaks in `text` are kept as line breaks: callers compose messages
/// with their own `\n`, and escape outside fragments with [`inline`] before composing.
pub fn log_text(redactor: &Redactor, text: &str) -> String {
    let text = redactor.redact(text);
    let lines: Vec<Cow<'_, str>> = text
        .split('\n')
        .map(|line| Cow::Owned(defuse_line(&inline(line)).into_owned()))
        .collect();
    lines.join("\n")
}

/// One outside fragment of a log line that is composed (and coloured) afterwards: redacted and
/// [`inline`]-escaped. The composed line must still go through [`defuse_line`].
pub fn log_fragment(redactor: &Redactor, text: &str) -> String {
    inline(&redactor.redact(text)).into_owned()
}

/// Workflow-command data escaping, exactly the runner's (`%`, `\r`, `\n`). For values the tool
/// controls (the `::add-mask::` value); outside text goes through [`command_data`].
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command property escaping: data escaping plus `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Redacted, each line [`inline`]-escaped with `##[` broken, cut to `max` characters.
fn command_text(redactor: &Redactor, text: &str, max: usize) -> String {
    let text = redactor.redact(text);
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| inline(line).replace("##[", "##\\["))
        .collect();
    cut(&lines.join("\n"), max).into_owned()
}

/// The data of a workflow command (`::error::DATA`, `::warning::DATA`, `::group::DATA`): redacted,
/// control characters escaped (the message's own line breaks kept, as `%0A`), cut to
/// [`ANNOTATION_MAX_CHARS`], then escaped as the runner expects.
pub fn command_data(redactor: &Redactor, text: &str) -> String {
    escape_data(&command_text(redactor, text, ANNOTATION_MAX_CHARS))
}

/// A workflow command property value (`title=VALUE`), like [`command_data`] plus `:` and `,`.
pub fn command_property(redactor: &Redactor, text: &str) -> String {
    escape_property(&command_text(redactor, text, PROPERTY_MAX_CHARS))
}

/// The longest run of backticks in `text`.
fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Outside text as one Markdown code span, safe in a table cell: redacted, [`inline`]-escaped,
/// cut to `max` characters, fenced with more backticks than it holds. A `|` is written `\u{7c}`:
/// GFM implementations disagree on whether a pipe inside a code span (even escaped, after a
/// backslash of the text) ends a table cell, so none is left. Inside a code span nothing renders:
/// no emphasis, link, autolink, HTML, mention or emoji. An empty text is `-`.
pub fn md_code(redactor: &Redactor, text: &str, max: usize) -> String {
    let text = inline(&redactor.redact(text)).replace('|', "\\u{7c}");
    let text = cut(&text, max);
    if text.is_empty() {
        return "-".into();
    }
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Outside text (possibly several lines) as a fenced Markdown code block: redacted, each line
/// [`inline`]-escaped, cut to `max` characters, fenced with more backticks than any run it holds,
/// so no line of it can close the block.
pub fn md_block(redactor: &Redactor, text: &str, max: usize) -> String {
    let text = redactor.redact(text);
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(inline).collect();
    let text = lines.join("\n");
    let text = cut(&text, max);
    let fence = "`".repeat(longest_backtick_run(&text).max(2) + 1);
    format!("{fence}text\n{text}\n{fence}\n")
}

/// A Markdown link with the tool's own `label`, only when `url` is an `https` URL under `base` (the
/// console's base URL, itself `https`) made of plain URL characters; `None` otherwise (show the
/// URL with [`md_code`] instead).
pub fn md_link(label: &str, url: &str, base: &str) -> Option<String> {
    let base = base.trim_end_matches('/');
    let under = url == base
        || url
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'));
    let plain = url
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/:%".contains(&b));
    (base.starts_with("https://") && under && plain).then(|| format!("[{label}]({url})"))
}

/// A Markdown autolink (`<https://…>`, which shows the address it goes to) for an outside URL, only
/// when it is a plain `https` URL: no whitespace, control character, quote, bracket, backtick,
/// backslash or `|`, and nothing redaction would change. `None` otherwise (show it with
/// [`md_code`]).
pub fn md_autolink(redactor: &Redactor, url: &str) -> Option<String> {
    let plain = url.len() > "https://".len()
        && url.starts_with("https://")
        && url.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '`' | '|' | '{' | '}' | '\\'
                )
        });
    (plain && redactor.redact(url) == url).then(|| format!("<{url}>"))
}

/// A `$GITHUB_OUTPUT` value: redacted. Step outputs are data for later steps, so the value is kept
/// as it is otherwise; the writer picks a heredoc delimiter absent from it.
pub fn output_value<'a>(redactor: &Redactor, value: &'a str) -> Cow<'a, str> {
    redactor.redact(value)
}

/// A GitLab dotenv value: redacted, on one line ([`inline`]-escaped), with no variable reference
/// GitLab could expand. GitLab stores dotenv variables with `raw: false`: the runner expands
/// `$NAME` and `${NAME}` (with `$$` as its escape), and GitLab itself (`ExpandVariables`, used for
/// `environment:url` and nested variables) expands `$NAME`, `${NAME}` and `%NAME%` with no escape
/// at all. So `$` is written `%24`, and after every `%` left in a value comes a decimal digit (no
/// variable name starts with one):
/// - a percent-escape whose first digit is decimal (`%20`, `%2F`: every ASCII byte) is kept;
/// - a run of letter-first escapes that spells visible UTF-8 text (`%C3%A9`, as in a URL's path)
///   is written as that text (`é`), which means the same in a URL (an IRI);
/// - any other `%` is written `%25`.
pub fn dotenv_value(redactor: &Redactor, value: &str) -> String {
    let text = inline(&redactor.redact(value)).into_owned();
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        match c {
            '$' => out.push_str("%24"),
            '%' => {
                let (bytes, len) = percent_run(rest);
                if bytes.is_empty() {
                    out.push_str("%25");
                } else {
                    push_decoded(&mut out, &bytes);
                    rest = &rest[len..];
                    continue;
                }
            }
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    // Redacted once more: the escapes' digits next to the text (`%24` before `abc…`) can complete
    // a run of the token. A redaction leaves `***` (never `$`, and never `%NAME%`: a `%` it leaves
    // bare is followed by `*`).
    redactor.redact(&out).into_owned()
}

/// The bytes of the run of percent-escapes (`%XX`) that starts `text`, and its length in bytes.
fn percent_run(text: &str) -> (Vec<u8>, usize) {
    let mut bytes = Vec::new();
    let mut at = 0;
    while let Some(hex) = text[at..].strip_prefix('%').and_then(|r| r.get(..2)) {
        match u8::from_str_radix(hex, 16) {
            Ok(byte) if hex.bytes().all(|b| b.is_ascii_hexdigit()) => bytes.push(byte),
            _ => break,
        }
        at += 3;
    }
    (bytes, at)
}

/// Percent-decoded `bytes` written for a dotenv value: ASCII bytes as `%XX` (a decimal first
/// digit), visible non-ASCII characters as themselves, anything else as `%XX` when its first digit
/// is decimal and `%25XX` otherwise.
fn push_decoded(out: &mut String, bytes: &[u8]) {
    let escaped = |out: &mut String, byte: u8| {
        let hex = format!("{byte:02X}");
        out.push_str(if hex.as_bytes()[0].is_ascii_digit() {
            "%"
        } else {
            "%25"
        });
        out.push_str(&hex);
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_ascii() || needs_escape(c) {
                let mut buf = [0; 4];
                for &byte in c.encode_utf8(&mut buf).as_bytes() {
                    escaped(out, byte);
                }
            } else {
                out.push(c);
            }
        }
        for &byte in chunk.invalid() {
            escaped(out, byte);
        }
    }
}

/// The secrets a panic message must not print: [`crate::ci::Ci::mask`] registers each here too.
static PANIC_REDACTOR: std::sync::RwLock<Option<Redactor>> = std::sync::RwLock::new(None);

/// Registers a secret with the panic hook's redactor (see [`install_panic_hook`]).
pub fn redact_in_panics(secret: &str) {
    if let Ok(mut guard) = PANIC_REDACTOR.write() {
        guard.get_or_insert_with(Redactor::new).add(secret);
    }
}

/// What the panic hook prints for a panic with `message` at `location`: the message redacted
/// and made inert like any log text (a panic may quote API text, e.g. an id it choked on), and
/// what it means for a deployment the run started.
pub fn panic_report(redactor: &Redactor, message: &str, location: &str) -> String {
    log_text(
        redactor,
        &format!(
            "error: qovery-deploy crashed (a bug: please report it with this log): {} at {}
               a deployment this run started may still be running: the action's post step and a              GitLab `after_script: [qovery-deploy-cleanup]` cancel it; otherwise cancel it in the              Qovery console",
            inline(message),
            inline(location)
        ),
    )
}

/// Replaces the default panic hook, which prints the panic message raw on stderr (where the
/// GitHub runner reads workflow commands) with [`panic_report`]. The process still aborts
/// afterwards (`panic = "abort"` in release builds).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        let location = info
            .location()
            .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()));
        let redactor = PANIC_REDACTOR
            .read()
            .ok()
            .and_then(|guard| guard.clone())
            .unwrap_or_default();
        eprintln!("{}", panic_report(&redactor, &message, &location));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_report_is_redacted_and_inert() {
        let r = Redactor::with(TOKEN);
        let text = panic_report(
            &r,
            &format!("bad id `x\n::set-output name=result::success` {TOKEN}"),
            "src/x.rs:1",
        );
        assert!(!text.contains(TOKEN), "{text}");
        assert!(
            text.lines().all(|l| !l.trim_start().starts_with("::")),
            "{text}"
        );
        assert!(text.contains("may still be running"), "{text}");
    }

    const TOKEN: &str = "qov_SECRET_test_token_5f0c1d9e";

    #[test]
    fn redaction_catches_the_token_and_any_fragment_of_eight_or_more() {
        let r = Redactor::with(TOKEN);
        assert_eq!(r.redact(&format!("Token {TOKEN}!")), "Token ***!");
        // A cut echo (the API's own truncation) is still caught.
        assert_eq!(
            r.redact("Authorization: Token qov_SECR"),
            "Authorization: Token ***"
        );
        assert_eq!(
            r.redact("x qov_SEC y"),
            "x qov_SEC y",
            "7 characters are not a fragment"
        );
        assert_eq!(r.redact("no secret here"), "no secret here");
        assert_eq!(r.redact(&format!("{TOKEN}{TOKEN}")), "***");
    }

    #[test]
    fn short_secrets_are_not_redacted() {
        let mut r = Redactor::new();
        assert!(!r.add("x"));
        assert!(!r.add("1234567"));
        assert!(r.is_empty());
        assert_eq!(
            r.redact("expected the form 8-4-4-4-12 hex digits"),
            "expected the form 8-4-4-4-12 hex digits"
        );
        assert!(r.add("12345678"));
        assert_eq!(r.redact("a12345678b"), "a***b");
    }

    #[test]
    fn redaction_works_on_characters_not_bytes() {
        let r = Redactor::with("ééééééééé");
        assert_eq!(r.redact("aéééééééééb"), "a***b");
        assert_eq!(r.redact("aéééb"), "aéééb");
    }

    #[test]
    fn inline_escapes_controls_and_invisibles_only() {
        assert_eq!(inline("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(inline("\x1b[31mred"), "\\u{1b}[31mred");
        assert_eq!(inline("zero\u{200B}width"), "zero\\u{200b}width");
        assert_eq!(inline("rtl\u{202E}x"), "rtl\\u{202e}x");
        assert_eq!(inline("é 日本 🚀 ::x"), "é 日本 🚀 ::x");
        assert!(matches!(inline("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn log_excerpts_are_redacted_then_cut_saying_how_much() {
        let r = Redactor::with(TOKEN);
        assert_eq!(log_excerpt(&r, "short\tline", 50), "short\\tline");
        assert_eq!(log_excerpt(&r, "abcdef", 3), "abc… (3 characters cut)");
        // The token straddles the cut: redacted whole before the cut, no fragment left.
        let line = format!("{}{TOKEN} tail", "x".repeat(20));
        let out = log_excerpt(&r, &line, 30);
        assert_eq!(out, format!("{}*** tail", "x".repeat(20)));
        let out = log_excerpt(&r, &line, 22);
        assert_eq!(out, format!("{}**… (6 characters cut)", "x".repeat(20)));
        // A huge line is only counted past the look-ahead.
        let huge = "é".repeat(EXCERPT_LOOKAHEAD * 3);
        assert_eq!(
            log_excerpt(&r, &huge, 10),
            format!(
                "{}… ({} characters cut)",
                "é".repeat(10),
                huge.chars().count() - 10
            )
        );
        assert_eq!(log_excerpt(&r, "::endgroup::\n", 50), "::endgroup::\\n");
        // Colours are dropped, even in the middle of the token; other controls are escaped.
        assert_eq!(
            log_excerpt(
                &r,
                "\u{1b}[1;31mred\u{1b}[0m \u{1b}]8;;https://x\u{7}link\u{1b}]8;;\u{1b}\\ ok\u{7}",
                50
            ),
            "red link ok\\u{7}"
        );
        let split = format!("{}\u{1b}[0m{}", &TOKEN[..6], &TOKEN[6..]);
        assert_eq!(log_excerpt(&r, &split, 50), "***");
        assert_eq!(
            strip_terminal_sequences("a\r\n\u{1b}[0Ksection_start:1:x\r\u{1b}[0Kb"),
            "a\r\nsection_start:1:x\rb"
        );
    }

    #[test]
    fn lines_never_start_a_workflow_command() {
        assert_eq!(defuse_line("::stop-commands::qd"), "\\::stop-commands::qd");
        assert_eq!(defuse_line("   ::error::x"), "   \\::error::x");
        assert_eq!(defuse_line("\u{3000}::error::x"), "\u{3000}\\::error::x");
        assert_eq!(
            defuse_line("a ##[set-output name=x;]y"),
            "a ##\\[set-output name=x;]y"
        );
        assert_eq!(defuse_line("###[x"), "###\\[x");
        assert_eq!(defuse_line("api: a::b"), "api: a::b");
        let r = Redactor::new();
        assert_eq!(
            log_text(&r, "plan\n  ::warning::hi\nok"),
            "plan\n  \\::warning::hi\nok"
        );
    }

    #[test]
    fn command_data_and_properties_are_escaped_after_redaction() {
        let r = Redactor::with(TOKEN);
        assert_eq!(command_data(&r, "a%b\nc"), "a%25b%0Ac");
        assert_eq!(command_data(&r, "x\r::y"), "x\\r::y");
        assert_eq!(command_property(&r, "a: b, c"), "a%3A b%2C c");
        assert_eq!(command_data(&r, &format!("echo {TOKEN}")), "echo ***");
        let long = "é".repeat(5000);
        assert_eq!(
            command_data(&r, &long).chars().count(),
            ANNOTATION_MAX_CHARS
        );
    }

    #[test]
    fn markdown_code_spans_and_blocks_hold_anything() {
        let r = Redactor::new();
        assert_eq!(md_code(&r, "api", 50), "`api`");
        assert_eq!(md_code(&r, "a`b", 50), "``a`b``");
        assert_eq!(md_code(&r, "`x", 50), "`` `x ``");
        assert_eq!(md_code(&r, "a|b", 50), "`a\\u{7c}b`");
        assert_eq!(md_code(&r, "", 50), "-");
        assert_eq!(md_code(&r, "a\nb", 50), "`a\\nb`");
        let block = md_block(&r, "one\n```\ntwo", 100);
        assert_eq!(block, "````text\none\n```\ntwo\n````\n");
    }

    #[test]
    fn links_only_under_the_console_base() {
        let base = "https://console.qovery.com";
        let ok = "https://console.qovery.com/organization/x/deployments";
        assert_eq!(
            md_link("Open", ok, base).as_deref(),
            Some("[Open](https://console.qovery.com/organization/x/deployments)")
        );
        for bad in [
            "https://evil.example/x",
            "https://console.qovery.com.evil.example/x",
            "https://console.qovery.com/x)[y](https://evil",
            "https://console.qovery.com/x y",
            "javascript:alert(1)",
        ] {
            assert_eq!(md_link("Open", bad, base), None, "{bad}");
        }
        assert_eq!(
            md_link("Open", "http://localhost:1/x", "http://localhost:1"),
            None
        );
    }

    #[test]
    fn dotenv_values_are_one_line_and_literal() {
        let r = Redactor::with(TOKEN);
        assert_eq!(
            dotenv_value(&r, "a\nQOVERY_RESULT=success"),
            "a\\nQOVERY_RESULT=success"
        );
        assert_eq!(dotenv_value(&r, "$CI_JOB_TOKEN"), "%24CI_JOB_TOKEN");
        assert_eq!(dotenv_value(&r, "$$CI_JOB_TOKEN"), "%24%24CI_JOB_TOKEN");
        assert_eq!(dotenv_value(&r, "%CI_JOB_TOKEN%"), "%25CI_JOB_TOKEN%25");
        assert_eq!(
            dotenv_value(&r, "https://x.io/a%20b?c=%2F"),
            "https://x.io/a%20b?c=%2F"
        );
        assert_eq!(dotenv_value(&r, "%C3%A9 100% %"), "é 100%25 %25");
        // UTF-8 escapes in a URL's path stay the same URL; broken or invisible ones are literal.
        assert_eq!(
            dotenv_value(&r, "https://x.io/caf%C3%A9/%E6%97%A5%2f"),
            "https://x.io/café/日%2F"
        );
        assert_eq!(dotenv_value(&r, "%C3"), "%25C3");
        assert_eq!(dotenv_value(&r, "%C3%28"), "%25C3%28");
        assert_eq!(dotenv_value(&r, "%E2%80%8B"), "%25E2%80%8B");
        assert_eq!(dotenv_value(&r, "%AB%"), "%25AB%25");
        assert_eq!(dotenv_value(&r, "%zz%4"), "%25zz%254");
        assert_eq!(dotenv_value(&r, TOKEN), "***");
    }

    #[test]
    fn kinds_of_characters_are_named_without_the_text() {
        assert_eq!(char_kind('a'), None);
        assert_eq!(
            char_kind('\u{200B}').unwrap(),
            "a zero-width space (U+200B)"
        );
        assert_eq!(char_kind('\u{7}').unwrap(), "a control character (U+0007)");
        assert_eq!(
            char_kind('\u{202E}').unwrap(),
            "a bidirectional control character (U+202E)"
        );
        assert_eq!(char_kind('é').unwrap(), "a non-ASCII character (U+00E9)");
        assert_eq!(char_kind(' ').unwrap(), "a space");
    }
}
