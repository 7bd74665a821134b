//! Renders receipts and reads them back: the text must be extractable, the metadata set, and
//! awkward input must never make the render fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lopdf::{Document, Object};
use rathaus_receipt::{Receipt, Row, Section, render};

fn row(label: &str, value: &str) -> Row {
    Row {
        label: label.into(),
        value: value.into(),
    }
}

fn german() -> Receipt {
    Receipt {
        lang: "de",
        title: "Eingangsbestätigung".into(),
        portal_name: "Serviceportal Hamburg (Demo)".into(),
        service_name: "Bewohnerparkausweis beantragen".into(),
        reference_label: "Aktenzeichen".into(),
        reference: "HH-2026-7KQ4-9XPM".into(),
        submitted_label: "Eingegangen am".into(),
        submitted_at: "3. März 2026, 14:05 Uhr".into(),
        authority_label: "Zuständige Behörde".into(),
        authorities: vec!["Bezirksamt Altona – Fachamt Verkehr".into()],
        sections: vec![
            Section {
                heading: "Angaben zur Person".into(),
                rows: vec![
                    row("Name", "Łukasz Dąbrowski"),
                    row("Geburtsname", "Çelik"),
                    row("Anschrift", "Große Straße 12\nc/o Ørsted\n20095 Hamburg"),
                ],
            },
            Section {
                heading: "Begründung".into(),
                rows: vec![row(
                    "Anmerkung",
                    "Ich beantrage den „Bewohnerparkausweis“ – die Gebühr von 65,00 € ist mir bekannt. Äpfel, Öfen, Übermut.",
                )],
            },
        ],
        attachments_label: "Anlagen".into(),
        attachments: vec!["Fahrzeugschein.pdf (412 KB)".into()],
        footer: "Diese Bestätigung wurde automatisch erstellt und ist ohne Unterschrift gültig."
            .into(),
    }
}

fn english() -> Receipt {
    Receipt {
        lang: "en",
        title: "Acknowledgement of receipt".into(),
        service_name: "Apply for a resident parking permit".into(),
        reference_label: "Reference".into(),
        submitted_label: "Received on".into(),
        submitted_at: "3 March 2026, 2:05 pm".into(),
        authority_label: "Responsible authority".into(),
        attachments_label: "Attachments".into(),
        footer: "This acknowledgement was generated automatically.".into(),
        ..german()
    }
}

/// The document's text, without any whitespace: the extractor guesses spaces and line breaks
/// between runs from their positions, so only the characters themselves are compared.
fn text(pdf: &[u8]) -> String {
    let raw = pdf_extract::extract_text_from_mem(pdf).expect("text can be extracted");
    squash(&raw)
}

fn squash(text: &str) -> String {
    text.chars().filter(|ch| !ch.is_whitespace()).collect()
}

/// Asserts that `text` (squashed) contains each of `expected` (squashed).
#[track_caller]
fn assert_contains(text: &str, expected: &[&str]) {
    for expected in expected {
        assert!(
            text.contains(&squash(expected)),
            "missing {expected:?} in {text:?}"
        );
    }
}

fn pages(pdf: &[u8]) -> usize {
    Document::load_mem(pdf)
        .expect("PDF parses")
        .get_pages()
        .len()
}

/// A text string from the document catalogue or info dictionary, decoded from PDFDocEncoding
/// or UTF-16.
fn string(object: &Object) -> String {
    let bytes = object.as_str().expect("a string");
    if let Some(utf16) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = utf16
            .chunks(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect();
        String::from_utf16(&units).expect("valid UTF-16")
    } else {
        bytes.iter().map(|&byte| char::from(byte)).collect()
    }
}

#[test]
fn german_receipt_has_extractable_text_with_umlauts_and_names() {
    let pdf = render(&german()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_contains(
        &text(&pdf),
        &[
            "Serviceportal Hamburg (Demo)",
            "Eingangsbestätigung",
            "Aktenzeichen",
            "HH-2026-7KQ4-9XPM",
            "3. März 2026, 14:05 Uhr",
            "Zuständige Behörde",
            "Bezirksamt Altona – Fachamt Verkehr",
            "Łukasz Dąbrowski",
            "Çelik",
            "Große Straße 12",
            "c/o Ørsted",
            "„Bewohnerparkausweis“",
            "65,00 €",
            "Äpfel, Öfen, Übermut.",
            "Fahrzeugschein.pdf (412 KB)",
            "Diese Bestätigung wurde automatisch erstellt",
            "Seite 1 von 1",
        ],
    );
    // Word spaces are real characters in the text layer, not just gaps.
    let raw = pdf_extract::extract_text_from_mem(&pdf).unwrap();
    assert!(raw.contains("Łukasz Dąbrowski"), "{raw}");
    assert!(raw.contains("die Gebühr von"), "{raw}");
}

#[test]
fn english_receipt_is_numbered_in_english() {
    let text = text(&render(&english()).unwrap());
    assert_contains(
        &text,
        &[
            "Acknowledgement of receipt",
            "Reference",
            "HH-2026-7KQ4-9XPM",
            "Page 1 of 1",
        ],
    );
    assert!(!text.contains("Seite"), "{text}");
}

#[test]
fn metadata_language_and_tagging_are_set() {
    let pdf = render(&german()).unwrap();
    let document = Document::load_mem(&pdf).unwrap();
    let catalog = document.catalog().unwrap();
    assert_eq!(string(catalog.get(b"Lang").unwrap()), "de");
    assert!(
        catalog.get(b"StructTreeRoot").is_ok(),
        "tagged PDF has a structure tree"
    );
    assert!(
        catalog.get(b"Outlines").is_ok(),
        "bookmarks for the sections"
    );
    let info_ref = document
        .trailer
        .get(b"Info")
        .unwrap()
        .as_reference()
        .unwrap();
    let info = document.get_dictionary(info_ref).unwrap();
    assert_eq!(string(info.get(b"Title").unwrap()), "Eingangsbestätigung");
    assert_eq!(string(info.get(b"Producer").unwrap()), "rathaus");

    let english = Document::load_mem(&render(&english()).unwrap()).unwrap();
    assert_eq!(
        string(english.catalog().unwrap().get(b"Lang").unwrap()),
        "en"
    );
}

#[test]
fn three_hundred_rows_flow_onto_several_pages() {
    let mut receipt = german();
    receipt.sections = (0..6)
        .map(|step| Section {
            heading: format!("Schritt {step}"),
            rows: (0..50)
                .map(|i| {
                    row(
                        &format!("Feld {step}.{i}"),
                        &format!("Wert {step}.{i} – Größe"),
                    )
                })
                .collect(),
        })
        .collect();
    let pdf = render(&receipt).unwrap();
    let count = pages(&pdf);
    assert!(count >= 5, "{count} pages");
    let text = text(&pdf);
    for step in 0..6 {
        for i in [0, 25, 49] {
            assert_contains(&text, &[&format!("Feld {step}.{i}Wert {step}.{i} – Größe")]);
        }
    }
    assert_contains(
        &text,
        &[
            &format!("Seite 1 von {count}"),
            &format!("Seite {count} von {count}"),
        ],
    );
}

#[test]
fn long_values_wrap_and_unbroken_strings_break_hard() {
    let mut receipt = german();
    let long = "Dieser Satz ist lang und wiederholt sich. ".repeat(400);
    let unbroken = "ABCDEFGHIJ".repeat(300);
    let many_lines = (0..150)
        .map(|i| format!("Zeile {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    receipt.sections = vec![Section {
        heading: "Lange Werte".into(),
        rows: vec![
            row("Text", &long),
            row("Token", &unbroken),
            row("Liste", &many_lines),
        ],
    }];
    let pdf = render(&receipt).unwrap();
    assert!(pages(&pdf) >= 4, "{} pages", pages(&pdf));
    let text = text(&pdf);
    assert_eq!(text.matches(&squash("wiederholt sich.")).count(), 400);
    assert_contains(&text, &["Zeile 0 Zeile 1 Zeile 2", "Zeile 148 Zeile 149"]);
    // The unbroken token is split over lines and pages (where running header and footer come
    // between its pieces), but none of it is lost.
    assert_eq!(text.matches('J').count(), 300);
    assert!(
        text.matches("ABCDEFGHIJ").count() >= 295,
        "token broken up: {text}"
    );
}

#[test]
fn characters_the_font_lacks_become_question_marks() {
    let mut receipt = german();
    receipt.sections = vec![Section {
        heading: "Sonderzeichen 🎉".into(),
        rows: vec![
            row("Emoji 😀", "Daumen 👍\u{fe0f} hoch"),
            row("CJK", "東京都 漢字"),
            row("Gemischt", "Müller 🚗 Straße"),
        ],
    }];
    receipt.attachments = vec!["写真.jpg (2 MB)".into()];
    let text = text(&render(&receipt).unwrap());
    assert_contains(
        &text,
        &[
            "Sonderzeichen ?",
            "Emoji ?",
            "Daumen ? hoch",
            "CJK??? ??",
            "Müller ? Straße",
            "??.jpg (2 MB)",
        ],
    );
    assert!(
        !text.contains('😀') && !text.contains('漢') && !text.contains('\u{fe0f}'),
        "{text}"
    );
}

#[test]
fn control_characters_are_stripped() {
    let mut receipt = german();
    receipt.reference = "HH-\u{0}2026\u{7}".into();
    receipt.sections = vec![Section {
        heading: "Steuer\u{1b}zeichen".into(),
        rows: vec![row(
            "Feld\u{8}name",
            "A\u{0}B\u{1b}C\u{7f}D\u{feff}E\u{200b}F\r\nzweite Zeile\u{c}dritte",
        )],
    }];
    let text = text(&render(&receipt).unwrap());
    assert_contains(
        &text,
        &[
            "HH-2026",
            "Steuerzeichen",
            "FeldnameABCDEF",
            "zweite Zeile",
            "dritte",
        ],
    );
    assert!(!text.chars().any(char::is_control), "{text:?}");
}

#[test]
fn empty_sections_attachments_and_fields_render() {
    let mut receipt = german();
    receipt.sections = vec![
        Section {
            heading: "Leer".into(),
            rows: Vec::new(),
        },
        Section {
            heading: String::new(),
            rows: vec![row("", ""), row("Nur Label", "")],
        },
    ];
    receipt.attachments = Vec::new();
    receipt.authorities = Vec::new();
    receipt.footer = String::new();
    let pdf = render(&receipt).unwrap();
    assert_eq!(pages(&pdf), 1);
    let content = text(&pdf);
    assert_contains(&content, &["Leer", "Nur Label", "Seite 1 von 1"]);
    assert!(
        !content.contains("Anlagen"),
        "no attachments block without attachments: {content}"
    );
    assert!(
        !content.contains("ZuständigeBehörde"),
        "no key row without a value: {content}"
    );

    let nothing = Receipt {
        lang: "en",
        title: String::new(),
        portal_name: String::new(),
        service_name: String::new(),
        reference_label: String::new(),
        reference: String::new(),
        submitted_label: String::new(),
        submitted_at: String::new(),
        authority_label: String::new(),
        authorities: Vec::new(),
        sections: Vec::new(),
        attachments_label: String::new(),
        attachments: Vec::new(),
        footer: String::new(),
    };
    let pdf = render(&nothing).unwrap();
    assert_eq!(pages(&pdf), 1);
    assert_contains(&text(&pdf), &["Page 1 of 1"]);
}

#[test]
fn rendering_is_deterministic() {
    assert_eq!(render(&german()).unwrap(), render(&german()).unwrap());
}

#[test]
fn a_receipt_kept_as_json_renders_the_same_pdf_later() {
    for receipt in [german(), english()] {
        let kept = serde_json::to_vec(&receipt).unwrap();
        let back: Receipt = serde_json::from_slice(&kept).unwrap();
        assert_eq!(back, receipt);
        assert_eq!(render(&back).unwrap(), render(&receipt).unwrap());
    }
    let mut unknown = serde_json::to_value(german()).unwrap();
    unknown["lang"] = "fr".into();
    let error = serde_json::from_value::<Receipt>(unknown).unwrap_err();
    assert!(
        error.to_string().contains("unknown receipt language"),
        "{error}"
    );
}
