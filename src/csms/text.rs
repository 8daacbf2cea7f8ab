//! Text from the service made inert before it reaches Terraform. Task fields, error bodies, IAM
//! answers and header values come from the network, possibly from a proxy that is not the
//! service; printed raw, an ESC sequence retitles the terminal or recolours the plan, a CR or a
//! forged `Error:` line rewrites what the user reads, and a bidi override (U+202E) or a
//! zero-width character makes `SUCCESS` and a look-alike differ invisibly. Every such character
//! is replaced by U+FFFD, which Terraform prints as it is, so the user still sees that something
//! was there.

use std::borrow::Cow;
use std::fmt::{self, Display, Write};

/// What replaces each character [`is_unsafe`] refuses.
pub const REPLACEMENT: char = '\u{FFFD}';

/// True for the characters that must not reach a terminal from the service: C0 controls other
/// than `\n` and `\t`, DEL and the C1 controls, the line and paragraph separators, and the
/// invisible format characters (bidi embeddings, overrides, isolates and marks, zero-width
/// spaces and joiners, invisible operators, the byte order mark, interlinear annotations, and
/// the tag characters that smuggle ASCII invisibly).
pub fn is_unsafe(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' => true,
        '\u{AD}' | '\u{61C}' | '\u{180E}' => true,
        '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' => true,
        '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' => true,
        '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' => true,
        '\u{E0000}'..='\u{E007F}' => true,
        _ => false,
    }
}

/// `s` with every [`is_unsafe`] character replaced by [`REPLACEMENT`]; borrowed when nothing
/// had to change (the common case costs no allocation).
pub fn clean(s: &str) -> Cow<'_, str> {
    replace_where(s, is_unsafe)
}

/// [`clean`] for text that is one line by nature (an id, a name, a code): newlines are
/// replaced too, so that no value can start a line of its own (a forged `Error:` line).
pub fn clean_line(s: &str) -> Cow<'_, str> {
    replace_where(s, |c| c == '\n' || is_unsafe(c))
}

fn replace_where(s: &str, refused: impl Fn(char) -> bool) -> Cow<'_, str> {
    // Printable ASCII, what nearly every field is, needs no decoding into chars.
    if s.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Cow::Borrowed(s);
    }
    match s.char_indices().find(|&(_, c)| refused(c)) {
        None => Cow::Borrowed(s),
        Some((first, _)) => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push_str(&s[..first]);
            out.extend(
                s[first..]
                    .chars()
                    .map(|c| if refused(c) { REPLACEMENT } else { c }),
            );
            Cow::Owned(out)
        }
    }
}

/// [`clean`] or [`clean_line`].
pub type Cleaner = fn(&str) -> Cow<'_, str>;

/// Cleans `s` in place with `clean`; true when it changed.
pub fn clean_in_place(s: &mut String, clean: Cleaner) -> bool {
    match clean(s) {
        Cow::Borrowed(_) => false,
        Cow::Owned(cleaned) => {
            *s = cleaned;
            true
        }
    }
}

/// Cuts `s` to at most `max_bytes` bytes (at a character boundary) and ends it with a note
/// stating how long the service's text was; true when it was cut. The kept part is copied into
/// a string of its own size, so the memory of the long original is freed, not kept as spare
/// capacity for the rest of the read.
pub fn bound_in_place(s: &mut String, max_bytes: usize) -> bool {
    if s.len() <= max_bytes {
        return false;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut kept = String::with_capacity(end + 64);
    kept.push_str(&s[..end]);
    let _ = write!(
        kept,
        "... [cut by the provider: the service sent {} bytes]",
        s.len()
    );
    *s = kept;
    true
}

/// Indents by two spaces every line after the first that starts with a visible character, so
/// that no line of a multi-line value starts at column 0 where Terraform prints it, as its own
/// headings (`Error: ...`) do when output is not framed (`-no-color`); true when it changed `s`.
/// Indenting twice changes nothing more.
pub fn indent_lines(s: &mut String) -> bool {
    let flush = |line: &str| line.starts_with(|c: char| !c.is_whitespace());
    if !s.split('\n').skip(1).any(flush) {
        return false;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if flush(line) {
                out.push_str("  ");
            }
        }
        out.push_str(line);
    }
    *s = out;
    true
}

/// `value` rendered on one line, cleaned and cut at `max_chars` characters (with `...` when
/// cut), for quoting service text inside a message: runs of whitespace (newlines and CR
/// included) become single spaces, other unsafe characters [`REPLACEMENT`]. The rendering stops at the limit, so a
/// 20 MB value costs no 20 MB string.
pub fn excerpt(value: impl Display, max_chars: usize) -> String {
    let mut out = OneLine {
        text: String::new(),
        chars: 0,
        max_chars,
        pending_space: false,
        cut: false,
    };
    let _ = write!(out, "{value}");
    if out.cut {
        out.text.push_str("...");
    }
    out.text
}

/// The `fmt::Write` behind [`excerpt`]: it fails (ending the rendering) once full.
struct OneLine {
    text: String,
    chars: usize,
    max_chars: usize,
    pending_space: bool,
    cut: bool,
}

impl Write for OneLine {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            let space = std::mem::take(&mut self.pending_space) && !self.text.is_empty();
            // The space (if any) and `c` must both fit, so the excerpt never ends in " ...".
            if self.chars + usize::from(space) >= self.max_chars {
                self.cut = true;
                return Err(fmt::Error);
            }
            if space {
                self.text.push(' ');
                self.chars += 1;
            }
            self.text.push(if is_unsafe(c) { REPLACEMENT } else { c });
            self.chars += 1;
        }
        Ok(())
    }
}

/// An optional value as a log line shows it: the value, or `-` when absent (not `Some(500)` or
/// `None`). Service text inside is cleaned.
pub fn or_dash<T: Display>(value: Option<T>) -> OrDash<T> {
    OrDash(value)
}

/// See [`or_dash`].
pub struct OrDash<T>(Option<T>);

impl<T: Display> Display for OrDash<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => f.write_str(&clean(&v.to_string())),
            None => f.write_str("-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_and_invisible_formatting_are_replaced() {
        let hostile =
            "ok\u{1b}]0;pwned\u{7}\r\0x\u{9b}31m\u{202e}CCECCUS\u{200b}\u{feff}\u{2066}\u{e0041}";
        let cleaned = clean(hostile);
        assert_eq!(
            cleaned,
            "ok\u{fffd}]0;pwned\u{fffd}\u{fffd}\u{fffd}x\u{fffd}31m\u{fffd}CCECCUS\u{fffd}\u{fffd}\u{fffd}\u{fffd}"
        );
        assert!(!cleaned.chars().any(|c| c.is_control()));
    }

    #[test]
    fn newlines_tabs_and_ordinary_text_stay_borrowed() {
        for s in ["line one\nline two\ttab", "é 中 😀 ½ ‐ «»", ""] {
            assert!(matches!(clean(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn every_control_but_newline_and_tab_is_unsafe() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            assert_eq!(is_unsafe(c), c != '\n' && c != '\t', "{c:?}");
        }
        for c in ['a', ' ', '\u{a0}', '\u{fffd}', '\u{2010}'] {
            assert!(!is_unsafe(c), "{c:?}");
        }
    }

    #[test]
    fn clean_in_place_says_whether_it_changed() {
        let mut s = String::from("fine\nlines");
        assert!(!clean_in_place(&mut s, clean));
        let mut s = String::from("bad\u{1b}[2J\nError: forged");
        assert!(clean_in_place(&mut s, clean));
        assert_eq!(s, "bad\u{fffd}[2J\nError: forged");
        assert!(clean_in_place(&mut s, clean_line));
        assert_eq!(s, "bad\u{fffd}[2J\u{fffd}Error: forged");
    }

    #[test]
    fn excerpt_is_one_line_cleaned_and_stops_at_the_limit() {
        assert_eq!(
            excerpt("a\n\r\tb  \u{202e}c\u{1b}[2J", 100),
            "a b \u{fffd}c\u{fffd}[2J"
        );
        let huge = "x".repeat(20_000_000);
        let e = excerpt(format_args!("invalid type: string {huge:?}"), 40);
        assert_eq!(e.chars().count(), 43, "{e}");
        assert!(e.starts_with("invalid type: string \"xxx") && e.ends_with("..."));
        assert_eq!(excerpt("abc", 3), "abc");
        assert_eq!(excerpt("ab cd", 3), "ab...");
    }

    #[test]
    fn bound_cuts_at_a_character_boundary_and_states_the_length() {
        let mut short = String::from("fits");
        assert!(!bound_in_place(&mut short, 4));
        assert_eq!(short, "fits");
        let mut long = "é".repeat(10);
        assert!(bound_in_place(&mut long, 5));
        assert_eq!(
            long,
            "éé... [cut by the provider: the service sent 20 bytes]"
        );
        let mut huge = "x".repeat(50 << 20);
        assert!(bound_in_place(&mut huge, 4096));
        assert!(huge.capacity() < 8192, "the original's memory is freed");
        assert!(huge.ends_with("x... [cut by the provider: the service sent 52428800 bytes]"));
    }

    #[test]
    fn continuation_lines_are_indented() {
        let mut one = String::from("Error: one line");
        assert!(!indent_lines(&mut one));
        let mut forged = String::from("rotation failed\nError: forged line\n\nWarning: too");
        assert!(indent_lines(&mut forged));
        assert_eq!(
            forged,
            "rotation failed\n  Error: forged line\n\n  Warning: too"
        );
        assert!(
            !indent_lines(&mut forged),
            "indenting twice changes nothing"
        );
    }

    #[test]
    fn or_dash_shows_the_value_or_a_dash() {
        assert_eq!(or_dash(Some(500)).to_string(), "500");
        assert_eq!(or_dash(None::<i64>).to_string(), "-");
        assert_eq!(or_dash(Some("m\u{1b}")).to_string(), "m\u{fffd}");
    }
}
