//! The laid-out document: pages of rectangles and text runs, and the logical structure whose
//! leaves are those runs. [`crate::layout`] produces it; [`crate::paint`] writes it as PDF.

use crate::fonts::Face;

/// A4 in points.
pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

/// Page furniture that is not part of the document's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Artifact {
    Header,
    Footer,
}

/// What a text run is: content (leaf `n` of the structure) or page furniture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Content(usize),
    Artifact(Artifact),
}

/// One line of text in one face, size and colour, starting at `x` on `baseline`.
#[derive(Debug, Clone)]
pub(crate) struct TextRun {
    pub(crate) x: f32,
    pub(crate) baseline: f32,
    pub(crate) face: Face,
    pub(crate) size: f32,
    pub(crate) color: Rgb,
    pub(crate) text: String,
    pub(crate) mark: Mark,
}

/// A filled rectangle (panel background or rule); always decoration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fill {
    pub(crate) x: f32,
    pub(crate) y: f32,
    pub(crate) width: f32,
    pub(crate) height: f32,
    pub(crate) color: Rgb,
}

/// One page: rectangles are painted first, then the text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Page {
    pub(crate) fills: Vec<Fill>,
    pub(crate) runs: Vec<TextRun>,
}

/// The role of a group in the logical structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Paragraph,
    /// Level and text of a heading.
    Heading(u16, String),
    Table,
    TableRow,
    RowHeader,
    Cell,
    List,
    ListItem,
    ListLabel,
    ListBody,
}

/// A node of the logical structure, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Group(Kind, Vec<Node>),
    Leaf(usize),
}

/// An entry of the document outline (bookmarks).
#[derive(Debug, Clone)]
pub(crate) struct Bookmark {
    pub(crate) title: String,
    pub(crate) page: usize,
    pub(crate) y: f32,
}

/// A laid-out receipt.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub(crate) pages: Vec<Page>,
    pub(crate) structure: Vec<Node>,
    pub(crate) bookmarks: Vec<Bookmark>,
    /// Number of content leaves; every `Mark::Content(n)` has `n < leaves`.
    pub(crate) leaves: usize,
    /// The document's title for its metadata (never empty).
    pub(crate) title: String,
}
