//! Config errors in one line that say where the problem is and never repeat a value: a
//! value may be an API key, and the errors go to the daemon's log.

/// A parse error in one line that names where it is (line, table, key) and never quotes
/// the file: a value may be an API key, and the error goes to the daemon's log.
pub(super) fn describe(e: &toml::de::Error, text: &str) -> String {
    let message = redact(&one_line(e.message()));
    let Some(span) = e.span() else {
        return message;
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.contains(['"', '\'']) && !k.starts_with('['));
    let place = match (table, key) {
        (Some(t), Some(k)) => format!(" (key {t}.{k})"),
        (None, Some(k)) => format!(" (key {k})"),
        (Some(t), None) => format!(" (in [{t}])"),
        (None, None) => String::new(),
    };
    format!("line {line_no}{place}: {message}")
}

/// Drops values from a message: serde's "invalid type: string \"...\"" or "unknown
/// variant `...`" would otherwise repeat them. Quoted text always goes; text in
/// backticks goes after a word that introduces a value, and stays where it names a key
/// or what was expected.
pub(super) fn redact(message: &str) -> String {
    const VALUE_WORDS: &[&str] = &[
        "variant",
        "integer",
        "float",
        "string",
        "character",
        "boolean",
        "value:",
        "type:",
        "sequence",
        "map",
        "bytes",
    ];
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                let trimmed = out.trim_end().len();
                out.truncate(trimmed);
            }
            None if c == '`'
                && out
                    .split_whitespace()
                    .next_back()
                    .is_some_and(|w| VALUE_WORDS.contains(&w)) =>
            {
                quote = Some(c);
                let trimmed = out.trim_end().len();
                out.truncate(trimmed);
            }
            None => out.push(c),
        }
    }
    out
}

pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
