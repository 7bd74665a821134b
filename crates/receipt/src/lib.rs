//! PDF receipts ("Eingangsbestätigungen") for submitted applications.
//!
//! [`render`] turns a [`Receipt`] — whose texts the caller has already localised — into an A4
//! PDF: a header with portal name and title, a key block (reference, date, authorities), one
//! block of label/value rows per form step, the list of attachments, and on every page a footer
//! with the footer text and "Seite 1 von 2" / "Page 1 of 2".
//!
//! The PDF is tagged and validated as PDF/UA-1 (headings, tables with row headers, lists,
//! page furniture marked as artifacts), carries `/Title`, `/Lang` and XMP metadata, and embeds
//! subsets of Noto Sans Regular and Bold (from the `notosans` crate; see `NOTICE-fonts.md` for
//! their licence), so German text and names such as "Łukasz Dąbrowski" or "Ørsted" come out as
//! real, extractable text.
//!
//! Input is never trusted to be printable: control characters are stripped, and characters the
//! font cannot show (emoji, CJK, …) are replaced by `?` instead of failing the render.
//!
//! Rendering is synchronous and CPU-bound (a few milliseconds for hundreds of rows); call it
//! from `spawn_blocking` in async code.

mod decision;
mod fonts;
mod layout;
mod model;
mod paint;
mod text;

pub use decision::{Decision, render_decision};

/// Everything printed on a receipt. All texts are already localised by the caller.
///
/// It is serialisable so that a caller can keep what a receipt says and render the PDF only
/// when someone asks for it: the rendering is what costs (fonts, layout, compression).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    /// Language of the texts, `"de"` or `"en"`; written into the PDF's `/Lang` and used for the
    /// page numbers ("Seite 1 von 2" / "Page 1 of 2").
    #[serde(with = "language")]
    pub lang: LanguageCode,
    /// e.g. "Eingangsbestätigung".
    pub title: String,
    /// e.g. "Serviceportal Hamburg (Demo)".
    pub portal_name: String,
    /// Name of the service applied for.
    pub service_name: String,
    /// e.g. "Aktenzeichen".
    pub reference_label: String,
    /// e.g. "HH-2026-7KQ4-9XPM".
    pub reference: String,
    /// e.g. "Eingegangen am".
    pub submitted_label: String,
    /// Already formatted date and time.
    pub submitted_at: String,
    /// e.g. "Zuständige Behörde".
    pub authority_label: String,
    /// The authorities the application was sent to, one per line.
    pub authorities: Vec<String>,
    /// One section per form step.
    pub sections: Vec<Section>,
    /// e.g. "Anlagen".
    pub attachments_label: String,
    /// File names with sizes; the block is left out when empty.
    pub attachments: Vec<String>,
    /// Printed at the bottom of every page, e.g. "Diese Bestätigung wurde automatisch erstellt…".
    pub footer: String,
}

/// One form step: a heading and its answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    /// The step's title.
    pub heading: String,
    /// The answers, in form order.
    pub rows: Vec<Row>,
}

/// One answer: the field's label and the value given.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// The field's label.
    pub label: String,
    /// The value; may contain newlines and be arbitrarily long (it wraps and flows across pages).
    pub value: String,
}

/// `"de"` or `"en"`. (A named type also keeps serde from treating the field as borrowed from
/// the input, as it does with a literal `&str`, which would tie a read receipt to its bytes.)
pub type LanguageCode = &'static str;

/// The language code of a stored receipt, read back as one of the languages the receipt knows.
mod language {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// The languages a receipt is written in.
    const KNOWN: [&str; 2] = ["de", "en"];

    pub fn serialize<S: Serializer>(
        lang: &super::LanguageCode,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(lang)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<super::LanguageCode, D::Error> {
        let code = String::deserialize(deserializer)?;
        KNOWN
            .into_iter()
            .find(|known| *known == code)
            .ok_or_else(|| D::Error::custom(format!("unknown receipt language {code:?}")))
    }
}

/// Why a receipt could not be rendered. None of these depend on the receipt's content; they
/// indicate a broken build (font) or a bug in the layout.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// An embedded font could not be read.
    #[error("embedded font {0} could not be loaded")]
    Font(&'static str),
    /// The PDF writer rejected the document.
    #[error("PDF could not be written: {0}")]
    Pdf(String),
}

/// Renders the receipt as a PDF document.
///
/// # Errors
///
/// [`ReceiptError`] if the embedded fonts cannot be loaded or the PDF writer rejects the document;
/// unprintable input never causes an error.
pub fn render(receipt: &Receipt) -> Result<Vec<u8>, ReceiptError> {
    let fonts = fonts::Fonts::get()?;
    let document = layout::layout(receipt, fonts);
    paint::paint(&document, receipt, fonts)
}
