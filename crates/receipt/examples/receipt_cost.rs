//! Times the rendering of a receipt with 200 rows and writes samples to /tmp.
//!
//! ```sh
//! cargo run --release -p rathaus-receipt --example receipt_cost
//! pdftoppm -png -r 80 /tmp/rathaus-receipt-de.pdf /tmp/rathaus-receipt-de
//! ```
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use rathaus_receipt::{Receipt, Row, Section, render};

fn sample(lang: &'static str, rows: usize) -> Receipt {
    let german = lang == "de";
    let pick = |de: &str, en: &str| if german { de.to_owned() } else { en.to_owned() };
    let fixed = vec![
        Row { label: pick("Vorname", "First name"), value: "Łukasz".into() },
        Row { label: pick("Nachname", "Last name"), value: "Dąbrowski-Çelik".into() },
        Row { label: pick("Anschrift", "Address"), value: "Große Straße 12 a\nc/o Ørsted\n20095 Hamburg".into() },
        Row { label: pick("Geburtsname", "Name at birth"), value: "Müller-Lüdenscheidt".into() },
        Row {
            label: pick("Begründung des Antrags", "Reason for the application"),
            value: pick(
                "Ich beantrage den „Anwohnerparkausweis“ für mein Fahrzeug, weil ich seit dem 1. Januar in der Zone wohne – die Gebühr von 65,00 € habe ich zur Kenntnis genommen. Über die Straße gegenüber ist ein Parkplatz, der jedoch nur werktags zwischen 8 und 18 Uhr nutzbar ist.",
                "I apply for a resident parking permit because I have lived in the zone since 1 January – I acknowledge the fee of €65.00.",
            ),
        },
        Row { label: pick("IBAN", "IBAN"), value: "DE02120300000000202051".into() },
        Row { label: pick("Kennzeichen", "Licence plate"), value: "HH-ÄÖ 1234 😀 漢字".into() },
        Row { label: pick("Link", "Link"), value: "https://example.invalid/ein/sehr/langer/pfad/ohne/leerzeichen/der/hart/umbrochen/werden/muss/weil/er/nicht/passt?query=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into() },
    ];
    let mut sections = vec![
        Section {
            heading: pick("Angaben zur Person", "Personal details"),
            rows: fixed,
        },
        Section {
            heading: pick("Leerer Schritt", "Empty step"),
            rows: Vec::new(),
        },
    ];
    let per_section = 25;
    let mut left = rows.saturating_sub(8);
    let mut step = 2;
    while left > 0 {
        let count = left.min(per_section);
        sections.push(Section {
            heading: format!("{} {step}", pick("Schritt", "Step")),
            rows: (0..count)
                .map(|i| Row {
                    label: format!("{} {step}.{i}", pick("Angabe", "Field")),
                    value: if i % 5 == 0 {
                        pick("Eine etwas längere Antwort, die über mehr als eine Zeile läuft und deshalb umbrochen wird.", "A somewhat longer answer that runs over more than one line and therefore wraps.")
                    } else {
                        format!("Wert {i} – äöüß")
                    },
                })
                .collect(),
        });
        left -= count;
        step += 1;
    }
    Receipt {
        lang,
        title: pick("Eingangsbestätigung", "Acknowledgement of receipt"),
        portal_name: "Serviceportal Hamburg (Demo)".into(),
        service_name: pick(
            "Bewohnerparkausweis beantragen",
            "Apply for a resident parking permit",
        ),
        reference_label: pick("Aktenzeichen", "Reference"),
        reference: "HH-2026-7KQ4-9XPM".into(),
        submitted_label: pick("Eingegangen am", "Received on"),
        submitted_at: pick("3. März 2026, 14:05 Uhr", "3 March 2026, 2:05 pm"),
        authority_label: pick("Zuständige Behörde", "Responsible authority"),
        authorities: vec![
            "Bezirksamt Altona – Fachamt Verkehr".into(),
            "Landesbetrieb Verkehr".into(),
        ],
        sections,
        attachments_label: pick("Anlagen", "Attachments"),
        attachments: vec![
            "Fahrzeugschein.pdf (412 KB)".into(),
            "Meldebescheinigung_Łukasz_Dąbrowski.jpg (1,2 MB)".into(),
        ],
        footer: pick(
            "Diese Bestätigung wurde automatisch erstellt und ist ohne Unterschrift gültig. Bitte geben Sie bei Rückfragen das Aktenzeichen an.",
            "This acknowledgement was generated automatically and is valid without a signature. Please quote the reference in any enquiry.",
        ),
    }
}

fn main() {
    for (lang, rows) in [("de", 200), ("en", 30)] {
        let receipt = sample(lang, rows);
        // Warm up (font loading happens once per process).
        let pdf = render(&receipt).unwrap();
        let runs = 20;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let pdf = render(&receipt).unwrap();
            times.push(start.elapsed());
            assert!(!pdf.is_empty());
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / u32::try_from(runs).unwrap();
        let path = format!("/tmp/rathaus-receipt-{lang}.pdf");
        std::fs::write(&path, &pdf).unwrap();
        println!(
            "{lang}: {rows} rows, {} bytes; min {:?}, median {:?}, mean {mean:?}, max {:?}; written to {path}",
            pdf.len(),
            times[0],
            times[runs / 2],
            times[runs - 1],
        );
    }
}
