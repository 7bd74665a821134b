//! Decisions ("Bescheide"): the formal answer of an authority to an application, written by a
//! clerk and sent to the citizen's mailbox as a PDF. It is laid out like a receipt (same
//! fonts, header, key block, page numbers, PDF/UA tagging), with the decision text as its one
//! section, so both documents look alike to the citizen and pass the same checks.

use crate::{Receipt, ReceiptError, Row, Section};

/// Everything printed on a decision. All texts are already localised by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `"de"` or `"en"`.
    pub lang: &'static str,
    /// e.g. "Bescheid".
    pub title: String,
    /// The authority that decides; printed in the header and the key block.
    pub authority_name: String,
    /// The service the application was for.
    pub service_name: String,
    /// e.g. "Aktenzeichen".
    pub reference_label: String,
    pub reference: String,
    /// e.g. "Entschieden am".
    pub date_label: String,
    /// Already formatted.
    pub date: String,
    /// e.g. "Behörde".
    pub authority_label: String,
    /// The heading over the text, e.g. "Entscheidung".
    pub heading: String,
    /// The label of the text's row, e.g. "Tenor und Begründung".
    pub text_label: String,
    /// The decision; may contain newlines and flows across pages.
    pub text: String,
    /// Printed at the bottom of every page.
    pub footer: String,
}

/// Renders the decision as a tagged PDF (PDF/UA-1).
///
/// # Errors
///
/// As [`crate::render`]: only a broken build or layout bug fails; content never does.
pub fn render_decision(decision: &Decision) -> Result<Vec<u8>, ReceiptError> {
    crate::render(&Receipt {
        lang: decision.lang,
        title: decision.title.clone(),
        portal_name: decision.authority_name.clone(),
        service_name: decision.service_name.clone(),
        reference_label: decision.reference_label.clone(),
        reference: decision.reference.clone(),
        submitted_label: decision.date_label.clone(),
        submitted_at: decision.date.clone(),
        authority_label: decision.authority_label.clone(),
        authorities: vec![decision.authority_name.clone()],
        sections: vec![Section {
            heading: decision.heading.clone(),
            rows: vec![Row {
                label: decision.text_label.clone(),
                value: decision.text.clone(),
            }],
        }],
        attachments_label: String::new(),
        attachments: Vec::new(),
        footer: decision.footer.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_is_a_tagged_pdf_with_its_title_and_language() {
        let pdf = render_decision(&Decision {
            lang: "de",
            title: "Bescheid".into(),
            authority_name: "Bezirksamt Mitte".into(),
            service_name: "Hundeanmeldung".into(),
            reference_label: "Aktenzeichen".into(),
            reference: "HA-2026-TEST-0001".into(),
            date_label: "Entschieden am".into(),
            date: "23.11.2026".into(),
            authority_label: "Behörde".into(),
            heading: "Entscheidung".into(),
            text_label: "Tenor und Begründung".into(),
            text: "Dem Antrag wird stattgegeben.\nDie Hundesteuer beträgt 90 Euro.".into(),
            footer: "Elektronisch erstellt.".into(),
        })
        .unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/StructTreeRoot"), "tagged");
        assert!(text.contains("/Lang"), "language set");
        assert!(text.contains("pdfuaid"), "declares PDF/UA");
    }
}
