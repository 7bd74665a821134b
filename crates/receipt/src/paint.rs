//! Writing a laid-out receipt as a tagged PDF/UA-1 document with krilla.

use std::num::NonZeroU16;

use krilla::color::rgb;
use krilla::configure::{Configuration, Validator};
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::tagging::{
    ArtifactType, ContentTag, Identifier, ListNumbering, SpanTag, TableHeaderScope, Tag, TagGroup,
    TagKind, TagTree,
};
use krilla::{Document, SerializeSettings};

use crate::fonts::Fonts;
use crate::model::{self, Artifact, Kind, Mark, Node, PAGE_HEIGHT, PAGE_WIDTH, Rgb, TextRun};
use crate::{Receipt, ReceiptError};

/// Paints `document` and returns the PDF bytes.
pub(crate) fn paint(
    document: &model::Document,
    receipt: &Receipt,
    fonts: &Fonts,
) -> Result<Vec<u8>, ReceiptError> {
    let settings = SerializeSettings {
        configuration: Configuration::new_with_validator(Validator::UA1),
        enable_tagging: true,
        ..SerializeSettings::default()
    };
    let mut pdf = Document::new_with(settings);
    let mut identifiers: Vec<Option<Identifier>> = std::iter::repeat_with(|| None)
        .take(document.leaves)
        .collect();

    for page in &document.pages {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| ReceiptError::Pdf("invalid page size".into()))?;
        let mut pdf_page = pdf.start_page_with(settings);
        let mut surface = pdf_page.surface();
        for fill in &page.fills {
            let Some(rect) = Rect::from_xywh(fill.x, fill.y, fill.width, fill.height) else {
                continue;
            };
            let mut builder = PathBuilder::new();
            builder.push_rect(rect);
            let Some(path) = builder.finish() else {
                continue;
            };
            surface.start_tagged(ContentTag::Artifact(ArtifactType::Other));
            surface.set_fill(Some(fill_of(fill.color)));
            surface.draw_path(&path);
            surface.end_tagged();
        }
        for run in &page.runs {
            let identifier = draw_run(&mut surface, run, fonts);
            if let Mark::Content(leaf) = run.mark
                && let Some(slot) = identifiers.get_mut(leaf)
            {
                *slot = Some(identifier);
            }
        }
        surface.finish();
        pdf_page.finish();
    }

    let mut tree = TagTree::new();
    for node in &document.structure {
        if let Some(node) = tag_node(node, &mut identifiers) {
            tree.push(node);
        }
    }
    pdf.set_tag_tree(tree);

    let mut outline = Outline::new();
    for bookmark in &document.bookmarks {
        let destination = XyzDestination::new(bookmark.page, Point::from_xy(0.0, bookmark.y));
        outline.push_child(OutlineNode::new(bookmark.title.clone(), destination));
    }
    pdf.set_outline(outline);

    let mut metadata = Metadata::new()
        .title(document.title.clone())
        .language(receipt.lang.to_owned())
        .producer("rathaus".to_owned())
        .creator("rathaus-receipt".to_owned());
    if !receipt.service_name.trim().is_empty() {
        metadata = metadata.description(receipt.service_name.trim().to_owned());
    }
    if !receipt.portal_name.trim().is_empty() {
        metadata = metadata.authors(vec![receipt.portal_name.trim().to_owned()]);
    }
    pdf.set_metadata(metadata);

    pdf.finish()
        .map_err(|error| ReceiptError::Pdf(format!("{error:?}")))
}

fn fill_of(color: Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: krilla::paint::FillRule::default(),
    }
}

/// Draws one text run inside its marked-content section and returns the section's identifier
/// (a dummy one for artifacts).
fn draw_run(surface: &mut Surface<'_>, run: &TextRun, fonts: &Fonts) -> Identifier {
    let tag = match run.mark {
        Mark::Content(_) => ContentTag::Span(SpanTag::empty()),
        Mark::Artifact(Artifact::Header) => ContentTag::Artifact(ArtifactType::Header),
        Mark::Artifact(Artifact::Footer) => ContentTag::Artifact(ArtifactType::Footer),
    };
    let face = fonts.face(run.face);
    let identifier = surface.start_tagged(tag);
    surface.set_fill(Some(fill_of(run.color)));
    surface.draw_glyphs(
        Point::from_xy(run.x, run.baseline),
        &face.glyphs(&run.text),
        face.font(),
        &run.text,
        run.size,
        false,
    );
    surface.end_tagged();
    identifier
}

/// Turns a structure node into a tag-tree node; empty groups are dropped.
fn tag_node(node: &Node, identifiers: &mut [Option<Identifier>]) -> Option<krilla::tagging::Node> {
    match node {
        Node::Leaf(leaf) => identifiers.get_mut(*leaf)?.take().map(Into::into),
        Node::Group(kind, children) => {
            let children: Vec<_> = children
                .iter()
                .filter_map(|child| tag_node(child, identifiers))
                .collect();
            if children.is_empty() {
                return None;
            }
            Some(TagGroup::with_children(tag_kind(kind), children).into())
        }
    }
}

fn tag_kind(kind: &Kind) -> TagKind {
    match kind {
        Kind::Paragraph => Tag::P.into(),
        Kind::Heading(level, title) => Tag::Hn(
            NonZeroU16::new(*level).unwrap_or(NonZeroU16::MIN),
            Some(title.clone()),
        )
        .into(),
        Kind::Table => Tag::Table.into(),
        Kind::TableRow => Tag::TR.into(),
        Kind::RowHeader => Tag::TH(TableHeaderScope::Row).into(),
        Kind::Cell => Tag::TD.into(),
        Kind::List => Tag::L(ListNumbering::Disc).into(),
        Kind::ListItem => Tag::LI.into(),
        Kind::ListLabel => Tag::Lbl.into(),
        Kind::ListBody => Tag::LBody.into(),
    }
}
