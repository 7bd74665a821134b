//! The two embedded faces (Noto Sans Regular and Bold) and the metrics the layout needs.
//!
//! The font files come from the `notosans` crate (licence: see `NOTICE-fonts.md`); krilla embeds
//! only the glyphs a document uses.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use krilla::Data;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use crate::ReceiptError;

/// Which of the two faces a piece of text is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    Regular,
    Bold,
}

/// A glyph and its advance width in em.
#[derive(Debug, Clone, Copy)]
struct Metric {
    glyph: u32,
    advance: f32,
}

/// One face: the font handed to krilla and a map from character to glyph and advance.
pub(crate) struct FaceData {
    font: Font,
    metrics: HashMap<char, Metric>,
}

impl std::fmt::Debug for FaceData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceData")
            .field("characters", &self.metrics.len())
            .finish_non_exhaustive()
    }
}

impl FaceData {
    fn load(bytes: &'static [u8]) -> Option<Self> {
        let font_ref = FontRef::new(bytes).ok()?;
        let units_per_em = f32::from(
            font_ref
                .metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        let glyph_metrics = font_ref.glyph_metrics(Size::unscaled(), LocationRef::default());
        let metrics = font_ref
            .charmap()
            .mappings()
            .filter_map(|(codepoint, glyph)| {
                let ch = char::from_u32(codepoint)?;
                // Private-use code points have no meaning in the text layer (and PDF/UA forbids
                // them); glyph 0 is .notdef.
                if is_private_use(ch) || glyph.to_u32() == 0 {
                    return None;
                }
                let advance = glyph_metrics.advance_width(glyph)? / units_per_em;
                Some((
                    ch,
                    Metric {
                        glyph: glyph.to_u32(),
                        advance,
                    },
                ))
            })
            .collect::<HashMap<_, _>>();
        // '?' stands in for everything else, so it must exist.
        metrics.get(&'?')?;
        let data: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(bytes);
        let font = Font::new(Data::from(data), 0)?;
        Some(Self { font, metrics })
    }

    /// The krilla font for drawing.
    pub(crate) fn font(&self) -> Font {
        self.font.clone()
    }

    /// Whether the face has a glyph for `ch`.
    pub(crate) fn supports(&self, ch: char) -> bool {
        self.metrics.contains_key(&ch)
    }

    fn metric(&self, ch: char) -> Metric {
        self.metrics
            .get(&ch)
            .or_else(|| self.metrics.get(&'?'))
            .copied()
            .unwrap_or(Metric {
                glyph: 0,
                advance: 0.5,
            })
    }

    /// Advance width of `ch` at `size` points.
    pub(crate) fn advance(&self, ch: char, size: f32) -> f32 {
        self.metric(ch).advance * size
    }

    /// Width of `text` at `size` points (no kerning: the glyphs are drawn exactly like this).
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|ch| self.metric(ch).advance).sum::<f32>() * size
    }

    /// The glyph run for `text`, one glyph per character, each mapped back to its character so
    /// that the text can be extracted and read aloud.
    pub(crate) fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(start, ch)| {
                let metric = self.metric(ch);
                KrillaGlyph::new(
                    GlyphId::new(metric.glyph),
                    metric.advance,
                    0.0,
                    0.0,
                    0.0,
                    start..start + ch.len_utf8(),
                    None,
                )
            })
            .collect()
    }
}

fn is_private_use(ch: char) -> bool {
    matches!(u32::from(ch), 0xE000..=0xF8FF | 0xF_0000..=0x10_FFFF)
}

/// Both faces, loaded once per process.
#[derive(Debug)]
pub(crate) struct Fonts {
    regular: FaceData,
    bold: FaceData,
}

static FONTS: LazyLock<Result<Fonts, &'static str>> = LazyLock::new(|| {
    Ok(Fonts {
        regular: FaceData::load(notosans::REGULAR_TTF).ok_or("Noto Sans Regular")?,
        bold: FaceData::load(notosans::BOLD_TTF).ok_or("Noto Sans Bold")?,
    })
});

impl Fonts {
    pub(crate) fn get() -> Result<&'static Self, ReceiptError> {
        FONTS.as_ref().map_err(|name| ReceiptError::Font(name))
    }

    pub(crate) fn face(&self, face: Face) -> &FaceData {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_faces_cover_german_and_latin_extended_a() {
        let fonts = Fonts::get().unwrap();
        for face in [Face::Regular, Face::Bold] {
            let data = fonts.face(face);
            for ch in "äöüÄÖÜß„“”‚‘’–—€•…ŁłąęćńśźżĄĘÇçØøŠšŽžŐőŰűĞğİıŞş\u{a0}".chars()
            {
                assert!(
                    data.supports(ch),
                    "{face:?} lacks {ch:?} (U+{:04X})",
                    u32::from(ch)
                );
            }
            for ch in ['😀', '漢', '\u{e000}'] {
                assert!(!data.supports(ch), "{face:?} unexpectedly has {ch:?}");
            }
        }
    }

    #[test]
    fn widths_add_up_and_bold_is_wider() {
        let fonts = Fonts::get().unwrap();
        let regular = fonts.face(Face::Regular);
        let bold = fonts.face(Face::Bold);
        let text = "Müller-Lüdenscheidt";
        let sum: f32 = text.chars().map(|ch| regular.advance(ch, 10.0)).sum();
        assert!((regular.width(text, 10.0) - sum).abs() < 1e-3);
        assert!(bold.width(text, 10.0) > regular.width(text, 10.0));
        assert_eq!(regular.glyphs(text).len(), text.chars().count());
    }
}
