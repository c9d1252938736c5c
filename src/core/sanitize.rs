//! Text from agents is untrusted: before it reaches a terminal, every control character
//! and escape sequence is removed, so it cannot clear the screen, move the cursor, set the
//! clipboard (OSC 52) or retitle the window.

/// Keeps printable text, newlines and tabs; drops escape sequences and other controls.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\u{1b}' => skip_escape(&mut chars),
            // 8-bit CSI, OSC, DCS and friends take parameters like their ESC forms.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Columns between tab stops, as terminals set them.
pub const TAB_STOP: usize = 8;

/// One line (no newline) as a terminal would leave it, for drawing in a widget that
/// does not interpret controls: sanitized, tabs expanded to the next stop, and a
/// carriage return going back to the line's start, so what follows writes over what was
/// there and a progress bar shows its last state.
pub fn screen_line(line: &str) -> String {
    use unicode_width::UnicodeWidthChar;
    if !line.contains(['\t', '\r']) && is_clean(line) {
        return line.to_string();
    }
    let mut cells: Vec<char> = Vec::new();
    for segment in line.split('\r') {
        let (mut at, mut column) = (0usize, 0usize);
        for c in sanitize(segment).chars() {
            let put: &[char] = &[c];
            let expanded;
            let put = if c == '\t' {
                let spaces = TAB_STOP - column % TAB_STOP;
                expanded = vec![' '; spaces];
                &expanded[..]
            } else {
                put
            };
            for &c in put {
                if at < cells.len() {
                    cells[at] = c;
                } else {
                    cells.push(c);
                }
                at += 1;
                column += c.width().unwrap_or(0);
            }
        }
    }
    cells.into_iter().collect()
}

/// Whether `sanitize` would change the text; lets hot paths skip the copy.
pub fn is_clean(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // ESC followed by intermediates, then one final character (e.g. ESC ( B).
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while chars
                .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                .is_some()
            {}
            chars.next();
        }
        _ => {}
    }
}

/// CSI: parameter and intermediate bytes, then one final byte in @..~.
fn skip_csi(chars: &mut Chars) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            return;
        }
    }
}

/// OSC, DCS, SOS, PM, APC: everything up to BEL or the string terminator (ESC \ or 0x9c).
fn skip_string(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_clean, sanitize, screen_line};

    #[test]
    fn tabs_reach_the_next_stop_and_a_carriage_return_rewrites_the_line() {
        assert_eq!(screen_line("a\tb\tc"), "a       b       c");
        assert_eq!(screen_line("\tindented"), "        indented");
        assert_eq!(screen_line("abcdefgh\tx"), "abcdefgh        x");
        assert_eq!(screen_line("p1\rp2\rp3"), "p3");
        assert_eq!(screen_line("progress 20%\rprogress 40%"), "progress 40%");
        assert_eq!(screen_line("long line\rshort"), "shortline");
        assert_eq!(screen_line("ends\r"), "ends");
        assert_eq!(screen_line("x\u{1b}[31mred\u{1b}[0m"), "xred");
        assert_eq!(screen_line("plain"), "plain");
    }

    #[test]
    fn clear_screen_clipboard_and_cursor_moves_are_removed() {
        let hostile = "a\u{1b}[2Jb\u{1b}]52;c;aGVsbG8=\u{7}c\u{1b}[10;20Hd\u{1b}]0;title\u{1b}\\e";
        assert_eq!(sanitize(hostile), "abcde");
        assert!(!is_clean(hostile));
    }

    #[test]
    fn controls_go_and_text_stays() {
        assert_eq!(sanitize("x\r\ny\u{8}z\u{7f}\t\u{9b}31mé"), "x\nyz\té");
        assert!(is_clean("plain text\n\twith tabs"));
    }

    #[test]
    fn unterminated_sequences_do_not_swallow_the_newline_forever() {
        assert_eq!(sanitize("a\u{1b}[12"), "a");
        assert_eq!(sanitize("a\u{1b}]52;unterminated"), "a");
        assert_eq!(sanitize("end\u{1b}"), "end");
    }
}
