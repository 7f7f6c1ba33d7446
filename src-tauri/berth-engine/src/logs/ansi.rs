//! Terminal escape sequences in log text: SGR (colours, bold, …) becomes styled spans; every
//! other sequence and control character is removed. Nothing is ever interpreted, so a container
//! cannot move the viewer's cursor, retitle a window or clear anything.
//!
//! The text that comes out is the text as shown, searched, copied and exported (the raw bytes are
//! kept apart): characters that would draw as nothing or reorder what is drawn are decided here,
//! once. C1 controls and bidi overrides and isolates become U+FFFD, a visible stand-in, and line
//! and paragraph separators ␤ (U+2424), as the viewer draws them; zero-width
//! characters go, so `pass<U+200B>word` reads, and is found, as `password`.

use super::line::{Color, Style};

/// A line with its escape sequences taken out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stripped {
    /// The text to show and search.
    pub text: Vec<u8>,
    /// Styled runs as byte ranges of `text`; runs with the default style are left out.
    pub spans: Vec<(u32, u32, Style)>,
}

const ESC: u8 = 0x1b;

/// Whether `raw` holds anything [`strip`] would change: most lines don't, and skip the work.
pub fn needs_strip(raw: &[u8]) -> bool {
    let mut rest = raw;
    // A plain scan for candidates (controls, and the lead bytes of non-ASCII characters), which
    // an ASCII line passes through quickly; then a closer look at each.
    while let Some(i) = rest
        .iter()
        .position(|&b| b < 0x20 || b == 0x7f || b >= 0xc2)
    {
        let b = rest[i];
        if (b < 0x80 && b != b'\t') || (b >= 0x80 && invisible(&rest[i..]).is_some()) {
            return true;
        }
        rest = &rest[i + 1..];
    }
    false
}

const STAND_IN: &[u8] = "\u{fffd}".as_bytes();

/// When `s` starts with a character that must not be drawn as it is: its length, and what is
/// shown instead (nothing, [`STAND_IN`] or ␤).
fn invisible(s: &[u8]) -> Option<(usize, &'static [u8])> {
    let len = match s[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let c = std::str::from_utf8(s.get(..len)?).ok()?.chars().next()?;
    let shown: &[u8] = match c {
        // C1 controls; bidi embeddings, overrides and isolates.
        '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => STAND_IN,
        // Line and paragraph separators would break the row: ␤, the viewer's stand-in.
        '\u{2028}' | '\u{2029}' => "\u{2424}".as_bytes(),
        // Zero-width: soft hyphen, grapheme joiner, Arabic letter mark, Mongolian vowel
        // separator, zero-width space, non-joiner and joiner, direction marks, word joiner and
        // invisible operators, byte order mark, tags.
        '\u{ad}'
        | '\u{34f}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2060}'..='\u{2064}'
        | '\u{feff}'
        | '\u{e0000}'..='\u{e007f}' => b"",
        _ => return None,
    };
    Some((len, shown))
}

/// Removes escape sequences and control characters (tabs stay), turning SGR into spans, and
/// makes invisible characters visible or removes them (see the module's comment).
pub fn strip(raw: &[u8]) -> Stripped {
    let mut out = Stripped::default();
    let mut style = Style::default();
    let mut run_start = 0u32;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b >= 0xc2
            && let Some((len, shown)) = invisible(&raw[i..])
        {
            out.text.extend_from_slice(shown);
            i += len;
            continue;
        }
        if b != ESC {
            if (b >= 0x20 && b != 0x7f) || b == b'\t' {
                out.text.push(b);
            }
            i += 1;
            continue;
        }
        let (len, sgr) = sequence(&raw[i..]);
        if let Some(params) = sgr {
            let mut next = style;
            apply_sgr(&mut next, params);
            if next != style {
                let here = out.text.len() as u32;
                if here > run_start && !style.is_plain() {
                    out.spans.push((run_start, here, style));
                }
                run_start = here;
                style = next;
            }
        }
        i += len;
    }
    let end = out.text.len() as u32;
    if end > run_start && !style.is_plain() {
        out.spans.push((run_start, end, style));
    }
    out
}

/// The length of the escape sequence at the start of `s` (which begins with ESC), and its
/// parameters when it is an SGR (`ESC [ … m`). An unterminated sequence runs to the end.
fn sequence(s: &[u8]) -> (usize, Option<&[u8]>) {
    match s.get(1) {
        None => (1, None),
        // CSI: parameter and intermediate bytes, then one final byte in 0x40..=0x7e.
        Some(b'[') => match s[2..].iter().position(|b| (0x40..=0x7e).contains(b)) {
            Some(p) => {
                let end = 2 + p;
                let params = &s[2..end];
                let sgr = s[end] == b'm'
                    && params
                        .iter()
                        .all(|b| b.is_ascii_digit() || *b == b';' || *b == b':');
                (end + 1, sgr.then_some(params))
            }
            None => (s.len(), None),
        },
        // OSC, DCS, SOS, PM, APC: a string ended by BEL (OSC) or ST (ESC \).
        Some(b']' | b'P' | b'X' | b'^' | b'_') => {
            let mut j = 2;
            while j < s.len() {
                match s[j] {
                    0x07 => return (j + 1, None),
                    ESC if s.get(j + 1) == Some(&b'\\') => return (j + 2, None),
                    _ => j += 1,
                }
            }
            (s.len(), None)
        }
        // Other escapes: intermediates (0x20..=0x2f), then one final byte.
        Some(_) => {
            let mut j = 1;
            while s.get(j).is_some_and(|b| (0x20..=0x2f).contains(b)) {
                j += 1;
            }
            ((j + 1).min(s.len()), None)
        }
    }
}

fn apply_sgr(style: &mut Style, params: &[u8]) {
    if params.is_empty() {
        *style = Style::default();
        return;
    }
    let num = |p: &[u8]| -> u32 {
        std::str::from_utf8(p)
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    };
    let mut groups = params.split(|b| *b == b';');
    while let Some(group) = groups.next() {
        // Colon sub-parameters carry a whole colour in one group (`38:2::r:g:b`, `38:5:n`);
        // the semicolon form takes the following groups instead (`38;2;r;g;b`).
        let sub: Vec<u32> = group.split(|b| *b == b':').map(num).collect();
        let n = sub[0];
        match n {
            0 => *style = Style::default(),
            1 => style.bold = true,
            2 => style.dim = true,
            3 => style.italic = true,
            4 => style.underline = true,
            7 => style.inverse = true,
            9 => style.strike = true,
            21 | 22 => (style.bold, style.dim) = (false, false),
            23 => style.italic = false,
            24 => style.underline = false,
            27 => style.inverse = false,
            29 => style.strike = false,
            30..=37 => style.fg = Some(Color::Palette((n - 30) as u8)),
            90..=97 => style.fg = Some(Color::Palette((n - 90 + 8) as u8)),
            40..=47 => style.bg = Some(Color::Palette((n - 40) as u8)),
            100..=107 => style.bg = Some(Color::Palette((n - 100 + 8) as u8)),
            39 => style.fg = None,
            49 => style.bg = None,
            38 | 48 => {
                let mut rest: Vec<u32> = if sub.len() > 1 {
                    sub[1..].to_vec()
                } else {
                    match groups.next().map(num) {
                        Some(5) => vec![5, groups.next().map_or(0, num)],
                        Some(2) => [2]
                            .into_iter()
                            .chain((0..3).map(|_| groups.next().map_or(0, num)))
                            .collect(),
                        _ => Vec::new(),
                    }
                };
                // The ITU form has a colour-space field before r:g:b.
                if rest.first() == Some(&2) && rest.len() == 5 {
                    rest.remove(1);
                }
                let byte = |i: usize| rest.get(i).copied().unwrap_or(0).min(255) as u8;
                let color = match rest.first() {
                    Some(5) => Some(Color::Palette(byte(1))),
                    Some(2) => Some(Color::Rgb(byte(1), byte(2), byte(3))),
                    _ => None,
                };
                if n == 38 {
                    style.fg = color;
                } else {
                    style.bg = color;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &[u8]) -> String {
        String::from_utf8(strip(raw).text).unwrap()
    }

    #[test]
    fn sgr_becomes_spans() {
        let s = strip(b"plain \x1b[1;31mred bold\x1b[0m and \x1b[38;5;208morange\x1b[m.");
        assert_eq!(s.text, b"plain red bold and orange.");
        let red = Style {
            fg: Some(Color::Palette(1)),
            bold: true,
            ..Style::default()
        };
        let orange = Style {
            fg: Some(Color::Palette(208)),
            ..Style::default()
        };
        assert_eq!(s.spans, vec![(6, 14, red), (19, 25, orange)]);
    }

    #[test]
    fn truecolor_bright_and_partial_resets() {
        let s = strip(b"\x1b[38;2;1;2;3;48:2::4:5:6;4ma\x1b[24;39mb\x1b[92mc\x1b[49m");
        assert_eq!(s.text, b"abc");
        let a = Style {
            fg: Some(Color::Rgb(1, 2, 3)),
            bg: Some(Color::Rgb(4, 5, 6)),
            underline: true,
            ..Style::default()
        };
        let b = Style {
            bg: Some(Color::Rgb(4, 5, 6)),
            ..Style::default()
        };
        let c = Style {
            fg: Some(Color::Palette(10)),
            ..b
        };
        assert_eq!(s.spans, vec![(0, 1, a), (1, 2, b), (2, 3, c)]);
    }

    #[test]
    fn everything_else_is_stripped_not_interpreted() {
        // Cursor movement, erase, OSC title (BEL and ST forms), DCS, charset selection,
        // a private-mode CSI, and bare control characters.
        let raw = b"a\x1b[2J\x1b[H\x1b[10;20fb\x1b]0;pwned\x07c\x1b]8;;http://x\x1b\\d\x1bP1$r\x1b\\e\x1b(Bf\x1b[?25lg\rh\x08i\x07j\tk\x1b[";
        assert_eq!(text(raw), "abcdefghij\tk");
        assert!(strip(raw).spans.is_empty());
        assert!(!needs_strip(
            b"no escapes here\t<img src=x onerror=alert(1)>"
        ));
        assert!(needs_strip(b"bell\x07"));
    }

    #[test]
    fn invisible_characters_show_or_go() {
        let raw = "a\u{85}b\u{202e}c\u{2068}d\u{200b}e\u{feff}f\u{e0041}g \u{e9}\u{1f600}\u{2028}h"
            .as_bytes();
        assert!(needs_strip(raw));
        assert_eq!(
            text(raw),
            "a\u{fffd}b\u{fffd}c\u{fffd}defg \u{e9}\u{1f600}\u{2424}h"
        );
        assert!(!needs_strip("caf\u{e9} \u{1f600} \u{4e2d}".as_bytes()));
        // Invalid UTF-8 is left for the lossy decoding.
        assert_eq!(strip(b"x\xc2\xff\xe2\x80").text, b"x\xc2\xff\xe2\x80");
    }

    #[test]
    fn utf8_and_html_pass_through_as_text() {
        let raw = "\x1b[31m<img src=x onerror=alert(1)> é\x1b[0m".as_bytes();
        let s = strip(raw);
        assert_eq!(s.text, "<img src=x onerror=alert(1)> é".as_bytes());
        assert_eq!(s.spans.len(), 1);
    }
}
