//! Page-flow properties of the layout: margins, leaves, keep-together rules.

use super::*;

fn receipt(sections: Vec<Section>) -> Receipt {
    Receipt {
        lang: "de",
        title: "Eingangsbestätigung".into(),
        portal_name: "Serviceportal Hamburg (Demo)".into(),
        service_name: "Anwohnerparkausweis beantragen".into(),
        reference_label: "Aktenzeichen".into(),
        reference: "HH-2026-7KQ4-9XPM".into(),
        submitted_label: "Eingegangen am".into(),
        submitted_at: "3. März 2026, 14:05 Uhr".into(),
        authority_label: "Zuständige Behörde".into(),
        authorities: vec!["Bezirksamt Altona".into()],
        sections,
        attachments_label: "Anlagen".into(),
        attachments: vec!["Fahrzeugschein.pdf (412 KB)".into()],
        footer: "Diese Bestätigung wurde automatisch erstellt.".into(),
    }
}

fn section(heading: &str, rows: usize, value: &str) -> Section {
    Section {
        heading: heading.into(),
        rows: (0..rows)
            .map(|i| Row {
                label: format!("Feld {i}"),
                value: value.into(),
            })
            .collect(),
    }
}

fn all_runs(document: &Document) -> impl Iterator<Item = (usize, &TextRun)> {
    document
        .pages
        .iter()
        .enumerate()
        .flat_map(|(page, p)| p.runs.iter().map(move |run| (page, run)))
}

#[test]
fn content_stays_inside_the_page_and_above_the_footer() {
    let fonts = Fonts::get().unwrap();
    let long = "Ein sehr langer Wert mit vielen Wörtern, der umbrochen werden muss. ".repeat(40);
    let document = layout(
        &receipt(vec![
            section("Angaben", 60, "kurz"),
            section("Lang", 3, &long),
        ]),
        fonts,
    );
    assert!(document.pages.len() >= 3);
    for (_, run) in all_runs(&document) {
        let width = fonts.face(run.face).width(run.text.trim_end(), run.size);
        assert!(
            run.x >= MARGIN_X - 0.01 && run.x + width <= PAGE_WIDTH - MARGIN_X + 0.01,
            "{run:?}"
        );
        assert!(run.baseline > 0.0 && run.baseline < PAGE_HEIGHT, "{run:?}");
        if matches!(run.mark, Mark::Content(_)) && run.size >= VALUE.size - 1.0 {
            assert!(run.baseline < PAGE_HEIGHT - FOOTER_BOTTOM - 20.0, "{run:?}");
        }
    }
}

#[test]
fn every_leaf_is_used_exactly_once() {
    let fonts = Fonts::get().unwrap();
    let document = layout(
        &receipt(vec![section("A", 80, "x\ny"), section("Leer", 0, "")]),
        fonts,
    );
    fn collect(nodes: &[Node], out: &mut Vec<usize>) {
        for node in nodes {
            match node {
                Node::Leaf(leaf) => out.push(*leaf),
                Node::Group(_, children) => collect(children, out),
            }
        }
    }
    let mut in_tree = Vec::new();
    collect(&document.structure, &mut in_tree);
    let mut on_pages: Vec<_> = all_runs(&document)
        .filter_map(|(_, run)| match run.mark {
            Mark::Content(leaf) => Some(leaf),
            Mark::Artifact(_) => None,
        })
        .collect();
    in_tree.sort_unstable();
    on_pages.sort_unstable();
    assert_eq!(in_tree, on_pages);
    assert_eq!(in_tree, (0..document.leaves).collect::<Vec<_>>());
}

#[test]
fn a_heading_is_never_the_last_thing_on_a_page() {
    let fonts = Fonts::get().unwrap();
    // Vary the filler so that headings land at every possible height.
    for filler in 5..80 {
        let sections = vec![
            section("Erster Schritt", filler, "Wert"),
            section("Zweiter Schritt", 3, "Wert"),
            section("Dritter Schritt", 2, "vier\nZeilen\nhoher\nWert"),
            section("Vierter Schritt", 2, "Wert"),
        ];
        let document = layout(&receipt(sections), fonts);
        for (page, p) in document.pages.iter().enumerate() {
            let Some(last) = p
                .runs
                .iter()
                .rfind(|run| matches!(run.mark, Mark::Content(_)) && run.size > 9.5)
            else {
                continue;
            };
            let is_heading = last.face == HEADING.face
                && last.size == HEADING.size
                && last.color == HEADING.color;
            assert!(
                !is_heading || page + 1 == document.pages.len(),
                "filler {filler}: heading {:?} ends page {page}",
                last.text
            );
        }
    }
}

#[test]
fn short_rows_stay_whole_and_split_rows_keep_two_lines_per_page() {
    let fonts = Fonts::get().unwrap();
    let long = (0..30)
        .map(|i| format!("Zeile {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    for filler in 5..80 {
        let sections = vec![
            section("Füllung", filler, "Wert"),
            section("Vier Zeilen", 6, "eins\nzwei\ndrei\nvier"),
            section("Lang", 2, &long),
        ];
        let document = layout(&receipt(sections), fonts);
        let mut position = std::collections::HashMap::new();
        for (page, run) in all_runs(&document) {
            if let Mark::Content(leaf) = run.mark {
                position.insert(leaf, (page, run.baseline.to_bits()));
            }
        }
        fn leaves(node: &Node, out: &mut Vec<usize>) {
            match node {
                Node::Leaf(leaf) => out.push(*leaf),
                Node::Group(_, children) => children.iter().for_each(|child| leaves(child, out)),
            }
        }
        let rows = document.structure.iter().flat_map(|node| match node {
            Node::Group(Kind::Table, rows) => rows.as_slice(),
            _ => &[],
        });
        for row in rows {
            let mut row_leaves = Vec::new();
            leaves(row, &mut row_leaves);
            let mut lines_per_page =
                std::collections::BTreeMap::<usize, std::collections::BTreeSet<u32>>::new();
            for leaf in row_leaves {
                let (page, baseline) = position[&leaf];
                lines_per_page.entry(page).or_default().insert(baseline);
            }
            let total: usize = lines_per_page
                .values()
                .map(std::collections::BTreeSet::len)
                .sum();
            if total <= MAX_UNSPLIT_LINES {
                assert_eq!(lines_per_page.len(), 1, "filler {filler}: short row split");
            } else {
                assert!(
                    lines_per_page.values().all(|lines| lines.len() >= 2),
                    "filler {filler}: {lines_per_page:?}"
                );
            }
        }
    }
}

#[test]
fn page_labels_are_localised() {
    assert_eq!(page_label("de", 1, 2), "Seite 1 von 2");
    assert_eq!(page_label("en", 2, 2), "Page 2 of 2");
}

#[test]
fn truncate_fits_and_ends_with_an_ellipsis() {
    let face = Fonts::get().unwrap().face(Face::Regular);
    let text = truncate(&"Bezirksamt ".repeat(20), face, 8.0, 100.0);
    assert!(text.ends_with('…'));
    assert!(face.width(&text, 8.0) <= 100.0);
    assert_eq!(truncate("kurz", face, 8.0, 100.0), "kurz");
}
