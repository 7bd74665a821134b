//! Deciding whether an uploaded file is what the service accepts (U1): the type comes from the
//! content's magic bytes, never from the name or the declared type; images have a pixel limit;
//! archives are refused unless the service allows them; names are sanitised.
//!
//! Scanning for malware is an I/O concern and happens in the portal before the engine sees a
//! file.

use rathaus_domain::Text;
use sha2::{Digest, Sha256};

use crate::answers::FileRef;
use crate::definition::FileType;
use crate::message::Msg;

/// A file as the browser sent it, before any check.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The input name it was posted under.
    pub input: String,
    pub file_name: String,
    pub content: Vec<u8>,
}

/// Decides the type by content. A file that is also a ZIP archive at its end (a polyglot, for
/// example a PDF with an archive appended) counts as an archive.
pub fn sniff(content: &[u8]) -> Option<FileType> {
    let kind = infer::get(content)?;
    let detected = match kind.mime_type() {
        "application/pdf" => FileType::Pdf,
        "image/png" => FileType::Png,
        "image/jpeg" => FileType::Jpeg,
        "image/tiff" => FileType::Tiff,
        "application/zip" => FileType::Zip,
        _ => return None,
    };
    if detected != FileType::Zip && has_zip_trailer(content) {
        return Some(FileType::Zip);
    }
    Some(detected)
}

/// ZIP readers find an archive by its end-of-central-directory record, which sits in the last
/// 64 KiB + 22 bytes; a record there makes the file an archive whatever its first bytes say.
fn has_zip_trailer(content: &[u8]) -> bool {
    let tail = &content[content.len().saturating_sub(65_557)..];
    tail.windows(4).any(|w| w == b"PK\x05\x06")
}

/// Checks an upload against a file field's rules and describes it for the answers.
pub fn accept(
    upload: &Upload,
    accept: &[FileType],
    max_bytes: u64,
    max_pixels: u64,
    label: &Text,
) -> Result<FileRef, Msg> {
    let size = upload.content.len() as u64;
    if size == 0 {
        return Err(Msg::new(
            format!("Die Datei für „{}“ ist leer.", label.de()),
            format!("The file for “{}” is empty.", label.en()),
        ));
    }
    if size > max_bytes {
        let mb = max_bytes / (1024 * 1024);
        return Err(Msg::new(
            format!("Die Datei für „{}“ ist größer als {mb} MB.", label.de()),
            format!(
                "The file for “{}” must be smaller than {mb} MB.",
                label.en()
            ),
        ));
    }
    let allowed = accept
        .iter()
        .map(|t| t.label())
        .collect::<Vec<_>>()
        .join(", ");
    let Some(kind) = sniff(&upload.content).filter(|k| accept.contains(k)) else {
        return Err(Msg::new(
            format!(
                "Die Datei für „{}“ muss eine dieser Dateiarten sein: {allowed}. Der Dateiname allein genügt nicht; der Inhalt zählt.",
                label.de()
            ),
            format!(
                "The file for “{}” must be one of these types: {allowed}. Renaming a file does not change its type.",
                label.en()
            ),
        ));
    };
    if matches!(kind, FileType::Png | FileType::Jpeg | FileType::Tiff) {
        let pixels = imagesize::blob_size(&upload.content)
            .ok()
            .map(|s| (s.width as u64).saturating_mul(s.height as u64));
        match pixels {
            Some(p) if p <= max_pixels && p > 0 => {}
            Some(p) if p > max_pixels => {
                return Err(Msg::new(
                    format!(
                        "Das Bild für „{}“ ist zu groß ({} Megapixel, höchstens {}).",
                        label.de(),
                        p / 1_000_000,
                        max_pixels / 1_000_000
                    ),
                    format!(
                        "The image for “{}” is too large ({} megapixels, at most {}).",
                        label.en(),
                        p / 1_000_000,
                        max_pixels / 1_000_000
                    ),
                ));
            }
            _ => {
                return Err(Msg::new(
                    format!("Das Bild für „{}“ ist beschädigt.", label.de()),
                    format!("The image for “{}” is damaged.", label.en()),
                ));
            }
        }
    }
    Ok(FileRef {
        id: uuid::Uuid::new_v4(),
        name: sanitise_name(&upload.file_name, kind),
        media_type: kind.media_type().to_owned(),
        size,
        sha256: format!("{:x}", Sha256::digest(&upload.content)),
    })
}

pub(crate) fn too_many(label: &Text, max: usize) -> Msg {
    Msg::new(
        format!("Für „{}“ sind höchstens {max} Dateien möglich.", label.de()),
        format!("“{}” takes at most {max} files.", label.en()),
    )
}

pub(crate) fn missing(label: &Text) -> Msg {
    Msg::new(
        format!("Bitte laden Sie eine Datei für „{}“ hoch.", label.de()),
        format!("Upload a file for “{}”.", label.en()),
    )
}

/// Keeps the last path segment, allows letters, digits and a few separators, and makes the
/// extension match the content, so a name can neither climb directories nor lie about the type.
pub fn sanitise_name(raw: &str, kind: FileType) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let mut clean: String = stem
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    clean = clean.trim().trim_start_matches(['.', '_', '-']).to_owned();
    if clean.is_empty() {
        clean = "datei".to_owned();
    }
    format!("{clean}.{}", kind.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0A, 0x49, 0x44,
        0x41, 0x54, 0x78, 0x9C, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0D, 0x0A, 0x2D, 0xB4, 0, 0, 0, 0,
        0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    fn label() -> Text {
        Text::new("Nachweis", "Proof").unwrap()
    }

    fn upload(name: &str, content: &[u8]) -> Upload {
        Upload {
            input: "proof".into(),
            file_name: name.into(),
            content: content.to_vec(),
        }
    }

    /// A PNG whose header claims 100,000 × 100,000 pixels.
    fn huge_png() -> Vec<u8> {
        let mut png = PNG_1X1.to_vec();
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        png
    }

    #[test]
    fn u1_type_is_decided_by_content_not_name() {
        let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n";
        assert_eq!(sniff(pdf), Some(FileType::Pdf));
        assert_eq!(sniff(PNG_1X1), Some(FileType::Png));
        // A text file named like a PDF is refused.
        let err = accept(
            &upload("bescheid.pdf", b"hello"),
            &[FileType::Pdf],
            1 << 20,
            1 << 20,
            &label(),
        );
        assert!(err.is_err());
        // A PNG named .pdf is a PNG: refused where only PDF is allowed, renamed where PNG is.
        assert!(
            accept(
                &upload("scan.pdf", PNG_1X1),
                &[FileType::Pdf],
                1 << 20,
                1 << 20,
                &label()
            )
            .is_err()
        );
        let file = accept(
            &upload("scan.pdf", PNG_1X1),
            &[FileType::Png],
            1 << 20,
            1 << 20,
            &label(),
        )
        .unwrap();
        assert_eq!(file.name, "scan.png");
        assert_eq!(file.media_type, "image/png");
    }

    #[test]
    fn u1_polyglot_pdf_with_zip_trailer_counts_as_archive() {
        let mut polyglot = b"%PDF-1.7\n%%EOF\n".to_vec();
        polyglot.extend_from_slice(b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(sniff(&polyglot), Some(FileType::Zip));
        assert!(
            accept(
                &upload("a.pdf", &polyglot),
                &[FileType::Pdf],
                1 << 20,
                1 << 20,
                &label()
            )
            .is_err()
        );
    }

    #[test]
    fn u1_archives_refused_unless_allowed() {
        let zip = b"PK\x03\x04\x14\0\0\0\0\0PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        assert!(
            accept(
                &upload("a.zip", zip),
                &[FileType::Pdf, FileType::Png],
                1 << 20,
                1 << 20,
                &label()
            )
            .is_err()
        );
        assert!(
            accept(
                &upload("a.zip", zip),
                &[FileType::Zip],
                1 << 20,
                1 << 20,
                &label()
            )
            .is_ok()
        );
    }

    #[test]
    fn u1_huge_image_refused_by_pixel_count() {
        let err = accept(
            &upload("big.png", &huge_png()),
            &[FileType::Png],
            1 << 20,
            50_000_000,
            &label(),
        )
        .unwrap_err();
        assert!(err.en.contains("too large"), "{}", err.en);
    }

    #[test]
    fn u1_size_limit() {
        let mut pdf = b"%PDF-1.7\n".to_vec();
        pdf.resize(2 * 1024 * 1024, b' ');
        assert!(
            accept(
                &upload("a.pdf", &pdf),
                &[FileType::Pdf],
                1024 * 1024,
                1,
                &label()
            )
            .is_err()
        );
    }

    #[test]
    fn u1_names_are_sanitised() {
        assert_eq!(
            sanitise_name("../../etc/passwd", FileType::Pdf),
            "passwd.pdf"
        );
        assert_eq!(sanitise_name("..\\..\\boot.ini", FileType::Pdf), "boot.pdf");
        assert_eq!(sanitise_name(".hidden.pdf", FileType::Pdf), "hidden.pdf");
        assert_eq!(
            sanitise_name("Grundriss <EG>.pdf", FileType::Pdf),
            "Grundriss _EG_.pdf"
        );
        assert_eq!(sanitise_name("", FileType::Png), "datei.png");
        assert_eq!(
            sanitise_name("Bescheid\u{0}.pdf", FileType::Pdf),
            "Bescheid.pdf"
        );
        assert_eq!(
            sanitise_name("Übersicht Straße.pdf", FileType::Pdf),
            "Übersicht Straße.pdf"
        );
    }
}
