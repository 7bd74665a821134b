//! Placing a receipt on A4 pages: what goes where, on which page, and what it means.
//!
//! The result is a [`Document`]: per page a list of filled rectangles and text runs, plus the
//! logical structure (headings, tables, lists) whose leaves point at the runs. Painting it into
//! a PDF is [`crate::paint`]'s job; nothing here knows about PDF.

use crate::fonts::{Face, FaceData, Fonts};
use crate::model::{
    Artifact, Bookmark, Document, Fill, Kind, Mark, Node, PAGE_HEIGHT, PAGE_WIDTH, Page, Rgb,
    TextRun,
};
use crate::text::{Newlines, printable, wrap};
use crate::{Receipt, Row, Section};

const MARGIN_X: f32 = 56.69;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
/// Top of the content on the first page, and on later pages (below the running header).
const TOP_FIRST: f32 = 50.0;
const TOP_NEXT: f32 = 70.0;
const RUNNING_HEADER_BASELINE: f32 = 38.0;
/// Distance from the bottom edge to the last footer baseline.
const FOOTER_BOTTOM: f32 = 32.0;
const FOOTER_MAX_LINES: usize = 6;
const PAGE_NUMBER_WIDTH: f32 = 96.0;

/// Label column and value column of the rows.
const LABEL_WIDTH: f32 = 158.0;
const COLUMN_GAP: f32 = 14.0;
const VALUE_X: f32 = MARGIN_X + LABEL_WIDTH + COLUMN_GAP;
const VALUE_WIDTH: f32 = CONTENT_WIDTH - LABEL_WIDTH - COLUMN_GAP;
const ROW_GAP: f32 = 7.0;
const SECTION_GAP: f32 = 18.0;
const PANEL_PAD_X: f32 = 10.0;
const PANEL_PAD_Y: f32 = 9.0;
const BULLET_INDENT: f32 = 14.0;
/// Rows of up to this many lines are never split across pages.
const MAX_UNSPLIT_LINES: usize = 4;

const INK: Rgb = Rgb(0x1a, 0x1a, 0x1a);
const MUTED: Rgb = Rgb(0x4f, 0x56, 0x5e);
const ACCENT: Rgb = Rgb(0x0b, 0x3d, 0x6e);
const HAIRLINE: Rgb = Rgb(0xd9, 0xde, 0xe4);
const PANEL: Rgb = Rgb(0xef, 0xf3, 0xf7);

#[derive(Debug, Clone, Copy)]
struct Style {
    face: Face,
    size: f32,
    leading: f32,
    color: Rgb,
    /// Distance from the top of the line box to the baseline.
    baseline: f32,
}

impl Style {
    /// A style whose text sits optically centred in its line box.
    const fn new(face: Face, size: f32, leading: f32, color: Rgb) -> Self {
        Self {
            face,
            size,
            leading,
            color,
            baseline: (leading - size) / 2.0 + size * 0.8,
        }
    }

    /// The same style with its baseline aligned to `other`'s (for text set side by side).
    const fn on_baseline_of(self, other: Self) -> Self {
        Self {
            baseline: other.baseline,
            ..self
        }
    }
}

const PORTAL: Style = Style::new(Face::Bold, 9.5, 14.0, ACCENT);
const TITLE: Style = Style::new(Face::Bold, 20.0, 26.0, INK);
const SERVICE: Style = Style::new(Face::Regular, 12.0, 16.0, INK);
const HEADING: Style = Style::new(Face::Bold, 12.5, 18.0, ACCENT);
const VALUE: Style = Style::new(Face::Regular, 10.0, 14.0, INK);
const KEY_VALUE: Style = Style::new(Face::Bold, 10.0, 14.0, INK);
const LABEL: Style = Style::new(Face::Regular, 9.0, 14.0, MUTED).on_baseline_of(VALUE);
const FURNITURE: Style = Style::new(Face::Regular, 8.0, 10.5, MUTED);

/// Lays out the receipt.
pub(crate) fn layout(receipt: &Receipt, fonts: &Fonts) -> Document {
    let regular = fonts.face(Face::Regular);
    let footer = footer_lines(&receipt.footer, fonts.face(FURNITURE.face));
    let bottom = PAGE_HEIGHT
        - FOOTER_BOTTOM
        - (footer.len() as f32 - 1.0) * FURNITURE.leading
        - FURNITURE.size
        - 18.0;
    let title = printable(&receipt.title, fonts.face(TITLE.face), Newlines::Join);
    let reference = printable(&receipt.reference, regular, Newlines::Join);
    let running_header = (
        printable(&receipt.portal_name, regular, Newlines::Join),
        [title.as_str(), reference.as_str()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
    );
    // Accessible PDFs need a title even if the caller left it empty.
    let document_title = [&title, &receipt.service_name, &receipt.portal_name]
        .into_iter()
        .map(|text| printable(text, regular, Newlines::Join))
        .find(|text| !text.is_empty())
        .unwrap_or_else(|| {
            if receipt.lang.starts_with("de") {
                "Eingangsbestätigung"
            } else {
                "Receipt"
            }
            .to_owned()
        });

    let mut flow = Flow {
        fonts,
        pages: vec![Page::default()],
        y: TOP_FIRST,
        bottom,
        fresh: true,
        leaves: 0,
        panel_top: None,
        running_header,
        structure: Vec::new(),
        bookmarks: vec![Bookmark {
            title: document_title.clone(),
            page: 0,
            y: TOP_FIRST,
        }],
    };
    flow.masthead(receipt, &title);
    flow.key_block(receipt);
    for section in &receipt.sections {
        flow.section(section);
    }
    flow.attachments(&receipt.attachments_label, &receipt.attachments);
    flow.finish(receipt.lang, &footer);
    Document {
        pages: flow.pages,
        structure: flow.structure,
        bookmarks: flow.bookmarks,
        leaves: flow.leaves,
        title: document_title,
    }
}

/// The footer text broken into lines beside the page number, at most [`FOOTER_MAX_LINES`].
fn footer_lines(footer: &str, face: &FaceData) -> Vec<String> {
    let width = CONTENT_WIDTH - PAGE_NUMBER_WIDTH;
    let text = printable(footer, face, Newlines::Keep);
    let mut lines = wrap(&text, face, FURNITURE.size, width);
    if lines.len() > FOOTER_MAX_LINES {
        lines.truncate(FOOTER_MAX_LINES);
        if let Some(last) = lines.last_mut() {
            let shortened = format!("{} …", last.trim_end());
            *last = truncate(&shortened, face, FURNITURE.size, width);
        }
    }
    lines
}

/// The blocks of a receipt, top to bottom.
impl Flow<'_> {
    /// Portal name, title (the document's only level-1 heading), service name and a rule.
    fn masthead(&mut self, receipt: &Receipt, title: &str) {
        let portal = self.paragraph(&receipt.portal_name, PORTAL, MARGIN_X, CONTENT_WIDTH);
        self.structure.push(Node::Group(Kind::Paragraph, portal));
        self.y += 2.0;
        let title_leaves = self.paragraph(title, TITLE, MARGIN_X, CONTENT_WIDTH);
        self.structure.push(Node::Group(
            Kind::Heading(1, title.to_owned()),
            title_leaves,
        ));
        self.y += 2.0;
        let service = self.paragraph(&receipt.service_name, SERVICE, MARGIN_X, CONTENT_WIDTH);
        self.structure.push(Node::Group(Kind::Paragraph, service));
        self.y += 8.0;
        self.rule(1.2, ACCENT);
        self.y += 14.0;
    }

    /// Reference, date and authorities on a tinted panel; rows without a value are left out.
    fn key_block(&mut self, receipt: &Receipt) {
        let label_x = MARGIN_X + PANEL_PAD_X;
        let authorities = receipt.authorities.join("\n");
        let rows: Vec<_> = [
            (&receipt.reference_label, &receipt.reference, KEY_VALUE),
            (&receipt.submitted_label, &receipt.submitted_at, VALUE),
            (&receipt.authority_label, &authorities, VALUE),
        ]
        .into_iter()
        .map(|(label, value, style)| self.prepare_row(label, value, label_x, style))
        .filter(|row| row.value.iter().any(|line| !line.is_empty()))
        .collect();
        if rows.is_empty() {
            return;
        }
        self.panel_begin();
        let mut table = Vec::new();
        for (index, row) in rows.iter().enumerate() {
            if index > 0 {
                self.y += ROW_GAP;
            }
            table.push(self.row(row, false));
        }
        self.panel_end();
        self.structure.push(Node::Group(Kind::Table, table));
    }

    /// One form step: its heading and a table of label/value rows.
    fn section(&mut self, section: &Section) {
        let rows: Vec<_> = section
            .rows
            .iter()
            .map(|Row { label, value }| self.prepare_row(label, value, MARGIN_X, VALUE))
            .collect();
        let first = rows.first().map_or(0, PreparedRow::unsplittable_lines);
        self.heading(&section.heading, first);
        let mut table = Vec::new();
        for (index, row) in rows.iter().enumerate() {
            let separated = index > 0;
            if separated {
                self.y += ROW_GAP;
            }
            table.push(self.row(row, separated));
        }
        self.structure.push(Node::Group(Kind::Table, table));
    }

    /// The attachments as a bulleted list; nothing at all when there are none.
    fn attachments(&mut self, heading: &str, attachments: &[String]) {
        if attachments.is_empty() {
            return;
        }
        let face = self.face(VALUE);
        let width = CONTENT_WIDTH - BULLET_INDENT;
        let items: Vec<_> = attachments
            .iter()
            .map(|name| {
                wrap(
                    &printable(name, face, Newlines::Join),
                    face,
                    VALUE.size,
                    width,
                )
            })
            .collect();
        let first = items.first().map_or(0, |lines| lines.len().min(2));
        self.heading(heading, first);
        let mut list = Vec::new();
        for (index, lines) in items.iter().enumerate() {
            if index > 0 {
                self.y += 3.0;
            }
            list.push(self.bullet_item(lines));
        }
        self.structure.push(Node::Group(Kind::List, list));
    }
}

/// A row with its label and value already broken into lines.
struct PreparedRow {
    label_x: f32,
    label: Vec<String>,
    value: Vec<String>,
    value_style: Style,
}

impl PreparedRow {
    fn lines(&self) -> usize {
        self.label.len().max(self.value.len())
    }

    /// How many lines must fit below the cursor for the row to start on this page: a short row
    /// is kept whole, a long one needs at least two lines (see [`Flow::row`]).
    fn unsplittable_lines(&self) -> usize {
        let lines = self.lines();
        if lines <= MAX_UNSPLIT_LINES { lines } else { 2 }
    }
}

/// The cursor moving down the pages.
struct Flow<'a> {
    fonts: &'a Fonts,
    pages: Vec<Page>,
    /// Top of the next line box on the current page.
    y: f32,
    /// Lowest y content may reach (above the footer).
    bottom: f32,
    /// Nothing has been placed on the current page yet.
    fresh: bool,
    leaves: usize,
    /// Top of the open panel's segment on the current page.
    panel_top: Option<f32>,
    /// Left and right text of the header on pages after the first.
    running_header: (String, String),
    /// The logical structure so far, in reading order.
    structure: Vec<Node>,
    bookmarks: Vec<Bookmark>,
}

impl Flow<'_> {
    fn face(&self, style: Style) -> &FaceData {
        self.fonts.face(style.face)
    }

    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        let panel = self.panel_top.take();
        if let Some(top) = panel {
            self.close_panel_segment(top);
        }
        let mut page = Page::default();
        let (left, right) = &self.running_header;
        let face = self.face(FURNITURE);
        let half = CONTENT_WIDTH / 2.0 - 8.0;
        let left = truncate(left, face, FURNITURE.size, half);
        let right = truncate(right, face, FURNITURE.size, half);
        let right_x = MARGIN_X + CONTENT_WIDTH - face.width(right.trim_end(), FURNITURE.size);
        for (x, text) in [(MARGIN_X, left), (right_x, right)] {
            if !text.is_empty() {
                page.runs.push(furniture_run(
                    x,
                    RUNNING_HEADER_BASELINE,
                    text,
                    Artifact::Header,
                ));
            }
        }
        page.fills.push(Fill {
            x: MARGIN_X,
            y: RUNNING_HEADER_BASELINE + 6.0,
            width: CONTENT_WIDTH,
            height: 0.5,
            color: HAIRLINE,
        });
        self.pages.push(page);
        self.y = TOP_NEXT;
        self.fresh = true;
        if panel.is_some() {
            self.panel_top = Some(self.y);
            self.y += PANEL_PAD_Y;
        }
    }

    /// Starts a new page unless `height` fits below the cursor (or the page is still empty).
    fn ensure(&mut self, height: f32) {
        if !self.fresh && self.y + height > self.bottom {
            self.new_page();
        }
    }

    fn leaf(&mut self) -> usize {
        self.leaves += 1;
        self.leaves - 1
    }

    /// Puts one line of content in the line box at the cursor (without moving it); blank lines
    /// produce no run and no leaf.
    fn line(&mut self, x: f32, style: Style, text: &str, leaves: &mut Vec<Node>) {
        self.fresh = false;
        if text.trim().is_empty() {
            return;
        }
        let leaf = self.leaf();
        let baseline = self.y + style.baseline;
        self.page().runs.push(TextRun {
            x,
            baseline,
            face: style.face,
            size: style.size,
            color: style.color,
            text: text.to_owned(),
            mark: Mark::Content(leaf),
        });
        leaves.push(Node::Leaf(leaf));
    }

    /// A full-width rule at the cursor (decoration; does not move the cursor).
    fn rule(&mut self, thickness: f32, color: Rgb) {
        let y = self.y - thickness / 2.0;
        self.page().fills.push(Fill {
            x: MARGIN_X,
            y,
            width: CONTENT_WIDTH,
            height: thickness,
            color,
        });
    }

    /// Wraps and places `text` line by line, breaking pages as needed.
    fn paragraph(&mut self, text: &str, style: Style, x: f32, width: f32) -> Vec<Node> {
        let face = self.face(style);
        let text = printable(text, face, Newlines::Keep);
        if text.is_empty() {
            return Vec::new();
        }
        let lines = wrap(&text, face, style.size, width);
        let mut leaves = Vec::new();
        for line in &lines {
            self.ensure(style.leading);
            self.line(x, style, line, &mut leaves);
            self.y += style.leading;
        }
        leaves
    }

    /// A section heading, kept together with the first `next_lines` lines that follow it. An
    /// empty heading only leaves the gap.
    fn heading(&mut self, text: &str, next_lines: usize) {
        let face = self.face(HEADING);
        let text = printable(text, face, Newlines::Join);
        let lines = if text.is_empty() {
            Vec::new()
        } else {
            wrap(&text, face, HEADING.size, CONTENT_WIDTH)
        };
        let height = lines.len() as f32 * HEADING.leading + 8.0 + next_lines as f32 * VALUE.leading;
        if !self.fresh {
            if self.y + SECTION_GAP + height > self.bottom {
                self.new_page();
            } else {
                self.y += SECTION_GAP;
            }
        }
        if lines.is_empty() {
            return;
        }
        self.bookmarks.push(Bookmark {
            title: text.clone(),
            page: self.pages.len() - 1,
            y: self.y,
        });
        let mut leaves = Vec::new();
        for line in &lines {
            self.ensure(HEADING.leading);
            self.line(MARGIN_X, HEADING, line, &mut leaves);
            self.y += HEADING.leading;
        }
        self.y += 2.0;
        self.rule(0.75, HAIRLINE);
        self.y += 6.0;
        self.structure
            .push(Node::Group(Kind::Heading(2, text), leaves));
    }

    fn prepare_row(
        &self,
        label: &str,
        value: &str,
        label_x: f32,
        value_style: Style,
    ) -> PreparedRow {
        let label_face = self.face(LABEL);
        let label = wrap(
            &printable(label, label_face, Newlines::Join),
            label_face,
            LABEL.size,
            VALUE_X - COLUMN_GAP - label_x,
        );
        let value_face = self.face(value_style);
        let value = wrap(
            &printable(value, value_face, Newlines::Keep),
            value_face,
            value_style.size,
            VALUE_WIDTH - 2.0,
        );
        PreparedRow {
            label_x,
            label,
            value,
            value_style,
        }
    }

    /// Places a label/value row side by side. A short row is kept on one page; a long one is
    /// split between lines, leaving at least two lines on each page.
    ///
    /// With `separated`, a hairline is drawn in the gap above the row unless the row starts a
    /// new page.
    fn row(&mut self, row: &PreparedRow, separated: bool) -> Node {
        let lines = row.lines();
        let leading = VALUE.leading;
        if !self.fresh && self.y + lines as f32 * leading > self.bottom {
            let fitting = ((self.bottom - self.y) / leading).floor();
            if lines <= MAX_UNSPLIT_LINES || fitting < 2.0 {
                self.new_page();
            }
        }
        if separated && !self.fresh {
            self.y -= ROW_GAP / 2.0;
            self.rule(0.5, HAIRLINE);
            self.y += ROW_GAP / 2.0;
        }
        let (mut header, mut cell) = (Vec::new(), Vec::new());
        for index in 0..lines {
            let left = lines - index;
            let room = self.bottom - self.y;
            let widow = index >= 2 && left == 2 && room < 2.0 * leading;
            if !self.fresh && (room < leading || widow) {
                self.new_page();
            }
            if let Some(text) = row.label.get(index) {
                self.line(row.label_x, LABEL, text, &mut header);
            }
            if let Some(text) = row.value.get(index) {
                self.line(VALUE_X, row.value_style, text, &mut cell);
            }
            self.y += leading;
        }
        Node::Group(
            Kind::TableRow,
            vec![
                Node::Group(Kind::RowHeader, header),
                Node::Group(Kind::Cell, cell),
            ],
        )
    }

    /// One bulleted list item whose text is already broken into lines.
    fn bullet_item(&mut self, lines: &[String]) -> Node {
        let keep = lines.len().min(2) as f32 * VALUE.leading;
        self.ensure(keep);
        let mut label = Vec::new();
        self.line(MARGIN_X + 2.0, VALUE, "•", &mut label);
        let mut body = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            if index > 0 {
                self.ensure(VALUE.leading);
            }
            self.line(MARGIN_X + BULLET_INDENT, VALUE, line, &mut body);
            self.y += VALUE.leading;
        }
        Node::Group(
            Kind::ListItem,
            vec![
                Node::Group(Kind::ListLabel, label),
                Node::Group(Kind::ListBody, body),
            ],
        )
    }

    fn panel_begin(&mut self) {
        self.panel_top = Some(self.y);
        self.y += PANEL_PAD_Y;
    }

    fn panel_end(&mut self) {
        if let Some(top) = self.panel_top.take() {
            self.y += PANEL_PAD_Y;
            self.close_panel_segment(top);
        }
    }

    fn close_panel_segment(&mut self, top: f32) {
        let height = (self.y - top).max(0.0);
        self.page().fills.push(Fill {
            x: MARGIN_X,
            y: top,
            width: CONTENT_WIDTH,
            height,
            color: PANEL,
        });
    }

    /// Adds the footer to every page: the footer text (content on the last page so that it is
    /// read once, furniture elsewhere) and "Seite n von N".
    fn finish(&mut self, lang: &str, footer: &[String]) {
        let total = self.pages.len();
        let first_baseline =
            PAGE_HEIGHT - FOOTER_BOTTOM - (footer.len() as f32 - 1.0) * FURNITURE.leading;
        let face = self.fonts.face(FURNITURE.face);
        let mut footer_leaves = Vec::new();
        for number in 1..=total {
            let last = number == total;
            let mut runs = Vec::new();
            for (index, line) in footer.iter().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let mark = if last {
                    let leaf = self.leaf();
                    footer_leaves.push(Node::Leaf(leaf));
                    Mark::Content(leaf)
                } else {
                    Mark::Artifact(Artifact::Footer)
                };
                let mut run = furniture_run(
                    MARGIN_X,
                    first_baseline + index as f32 * FURNITURE.leading,
                    line.clone(),
                    Artifact::Footer,
                );
                run.mark = mark;
                runs.push(run);
            }
            let label = page_label(lang, number, total);
            let x = MARGIN_X + CONTENT_WIDTH - face.width(&label, FURNITURE.size);
            runs.push(furniture_run(x, first_baseline, label, Artifact::Footer));
            let page = &mut self.pages[number - 1];
            page.fills.push(Fill {
                x: MARGIN_X,
                y: first_baseline - FURNITURE.size - 6.0,
                width: CONTENT_WIDTH,
                height: 0.5,
                color: HAIRLINE,
            });
            page.runs.extend(runs);
        }
        self.structure
            .push(Node::Group(Kind::Paragraph, footer_leaves));
    }
}

fn furniture_run(x: f32, baseline: f32, text: String, artifact: Artifact) -> TextRun {
    TextRun {
        x,
        baseline,
        face: FURNITURE.face,
        size: FURNITURE.size,
        color: FURNITURE.color,
        text,
        mark: Mark::Artifact(artifact),
    }
}

/// "Seite 1 von 2" or "Page 1 of 2".
fn page_label(lang: &str, number: usize, total: usize) -> String {
    if lang.starts_with("de") {
        format!("Seite {number} von {total}")
    } else {
        format!("Page {number} of {total}")
    }
}

/// Shortens `text` with "…" so that it fits `width`.
fn truncate(text: &str, face: &FaceData, size: f32, width: f32) -> String {
    if face.width(text, size) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let budget = width - face.width("…", size);
    let mut used = 0.0;
    for ch in text.chars() {
        used += face.advance(ch, size);
        if used > budget {
            break;
        }
        out.push(ch);
    }
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

#[cfg(test)]
mod tests;
