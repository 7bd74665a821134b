//! Making untrusted text printable, and breaking it into lines.

use unicode_normalization::UnicodeNormalization;

use crate::fonts::FaceData;

/// Whether line breaks in the input are kept (values) or turned into spaces (labels, titles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Newlines {
    Keep,
    Join,
}

/// Makes `input` printable in `face`: composes it (NFC, so "u" + combining diaeresis becomes
/// "ü"), normalises line breaks, turns tabs and exotic spaces into plain spaces, strips control
/// and invisible formatting characters, replaces every character the face has no glyph for with
/// `?`, and trims the ends.
pub(crate) fn printable(input: &str, face: &FaceData, newlines: Newlines) -> String {
    let mut out = String::with_capacity(input.len());
    let mut previous_cr = false;
    for ch in input.nfc() {
        let was_cr = std::mem::replace(&mut previous_cr, ch == '\r');
        let ch = match ch {
            '\n' if was_cr => continue,
            '\r' | '\n' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => '\n',
            // Non-breaking spaces keep their meaning.
            '\u{a0}' | '\u{202f}' | '\u{2007}' => {
                if face.supports(ch) {
                    ch
                } else {
                    '\u{a0}'
                }
            }
            ch if ch.is_whitespace() => ' ',
            ch if ch.is_control() || is_invisible(ch) => continue,
            ch if face.supports(ch) => ch,
            _ => '?',
        };
        if ch == '\n' && newlines == Newlines::Join {
            out.push(' ');
        } else {
            out.push(ch);
        }
    }
    let trimmed = out.trim_matches(|ch: char| ch == ' ' || ch == '\n');
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_owned()
    }
}

/// Default-ignorable and bidi formatting characters: they have no visible form, would show as
/// `?`, and some (U+FEFF) are not allowed in an accessible PDF's text layer at all.
fn is_invisible(ch: char) -> bool {
    matches!(
        u32::from(ch),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0xFFFE..=0xFFFF
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// Breaks printable `text` into lines no wider than `width` points at `size` points.
///
/// Lines break at spaces (the space stays at the end of the line, invisible, so that the text
/// layer keeps its word boundaries), after a hyphen, dash or slash inside a word, and at every
/// `\n`. A word wider than a line on its own is broken between characters. Every input produces
/// at least one line.
pub(crate) fn wrap(text: &str, face: &FaceData, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        wrap_paragraph(paragraph, face, size, width, &mut lines);
    }
    lines
}

fn wrap_paragraph(
    paragraph: &str,
    face: &FaceData,
    size: f32,
    width: f32,
    lines: &mut Vec<String>,
) {
    let mut line = String::new();
    // Width of `line` without and with its trailing spaces.
    let mut ink = 0.0_f32;
    let mut full = 0.0_f32;
    for piece in pieces(paragraph) {
        let body = piece.trim_end_matches(' ');
        let body_width = face.width(body, size);
        let piece_width = body_width + face.width(&piece[body.len()..], size);
        if !line.is_empty() && full + body_width > width {
            lines.push(std::mem::take(&mut line));
            ink = 0.0;
            full = 0.0;
        }
        if line.is_empty() && body_width > width {
            // Too long for any line: break it hard, character by character.
            for ch in piece.chars() {
                let advance = face.advance(ch, size);
                if ch != ' ' && !line.is_empty() && ink + advance > width {
                    lines.push(std::mem::take(&mut line));
                    ink = 0.0;
                    full = 0.0;
                }
                line.push(ch);
                full += advance;
                if ch != ' ' {
                    ink = full;
                }
            }
            continue;
        }
        line.push_str(piece);
        ink = full + body_width;
        full += piece_width;
    }
    lines.push(line);
}

/// Splits a paragraph after each break opportunity: after a run of spaces, and after a hyphen,
/// dash or slash that follows a letter or digit and precedes a non-space.
fn pieces(paragraph: &str) -> impl Iterator<Item = &str> {
    let mut rest = paragraph;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut chars = rest.char_indices().peekable();
        let mut previous: Option<char> = None;
        let mut end = rest.len();
        while let Some((index, ch)) = chars.next() {
            let next = chars.peek().map(|&(_, next)| next);
            let after = index + ch.len_utf8();
            let breaks = match ch {
                ' ' => next.is_some_and(|next| next != ' '),
                '-' | '/' | '\u{2013}' | '\u{2014}' => {
                    previous.is_some_and(char::is_alphanumeric)
                        && next.is_some_and(|next| next != ' ')
                }
                _ => false,
            };
            if breaks {
                end = after;
                break;
            }
            previous = Some(ch);
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fonts::{Face, Fonts};

    fn regular() -> &'static FaceData {
        Fonts::get().unwrap().face(Face::Regular)
    }

    #[test]
    fn control_characters_are_stripped_and_newlines_normalised() {
        let face = regular();
        assert_eq!(
            printable("A\u{0}B\u{7}C\u{1b}[31mD", face, Newlines::Keep),
            "ABC[31mD"
        );
        assert_eq!(
            printable("eins\r\nzwei\rdrei\u{2028}vier", face, Newlines::Keep),
            "eins\nzwei\ndrei\nvier"
        );
        assert_eq!(printable("eins\nzwei", face, Newlines::Join), "eins zwei");
        assert_eq!(printable("a\tb\u{2003}c", face, Newlines::Keep), "a b c");
        assert_eq!(
            printable("\u{feff}Zero\u{200b}Width\u{202e}", face, Newlines::Keep),
            "ZeroWidth"
        );
        assert_eq!(
            printable("  \n padded \n\n", face, Newlines::Keep),
            "padded"
        );
    }

    #[test]
    fn unknown_characters_become_question_marks() {
        let face = regular();
        assert_eq!(
            printable("Hallo 😀 漢字!", face, Newlines::Keep),
            "Hallo ? ??!"
        );
        // Emoji variation selectors and joiners vanish instead of adding more '?'.
        assert_eq!(printable("👍\u{fe0f}", face, Newlines::Keep), "?");
        assert_eq!(
            printable(
                "Łukasz Dąbrowski, Çelik, Ørsted, „Straße“ – 5 €",
                face,
                Newlines::Keep
            ),
            "Łukasz Dąbrowski, Çelik, Ørsted, „Straße“ – 5 €"
        );
    }

    #[test]
    fn decomposed_umlauts_are_composed() {
        assert_eq!(
            printable("Mu\u{308}ller", regular(), Newlines::Keep),
            "Müller"
        );
    }

    #[test]
    fn wraps_at_word_boundaries_within_the_width() {
        let face = regular();
        let text = "Dies ist ein ziemlich langer Satz, der auf mehrere Zeilen umbrochen werden muss, weil er nicht passt.";
        let lines = wrap(text, face, 10.0, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines {
            assert!(face.width(line.trim_end(), 10.0) <= 120.0, "{line:?}");
            assert!(!line.starts_with(' '), "{line:?}");
        }
        assert_eq!(lines.concat(), text);
    }

    #[test]
    fn breaks_after_hyphens_and_hard_breaks_long_words() {
        let face = regular();
        let lines = wrap(
            "Donaudampfschifffahrtsgesellschaft-Kapitänsmütze",
            face,
            10.0,
            200.0,
        );
        assert_eq!(
            lines,
            ["Donaudampfschifffahrtsgesellschaft-", "Kapitänsmütze"]
        );

        let unbroken = "x".repeat(500);
        let lines = wrap(&unbroken, face, 10.0, 100.0);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|line| face.width(line, 10.0) <= 100.0));
        assert_eq!(lines.concat(), unbroken);
    }

    #[test]
    fn keeps_newlines_and_empty_lines() {
        let lines = wrap("Musterstraße 1\n\n20095 Hamburg", regular(), 10.0, 300.0);
        assert_eq!(lines, ["Musterstraße 1", "", "20095 Hamburg"]);
        assert_eq!(wrap("", regular(), 10.0, 300.0), [""]);
    }
}
