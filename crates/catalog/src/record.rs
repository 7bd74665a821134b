//! Rows of a national catalogue export (LeiKa / OZG), as operators receive them for their state.

use std::path::Path;

use rathaus_domain::{LeikaKey, LifeSituation, SourceError};
use serde::Deserialize;

/// How a service is regulated and executed (LeiKa "Typisierung").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typisierung {
    /// 1: federal law, federal execution.
    FederalExecution,
    /// 2, 3: federal law, state execution.
    StateExecutionOfFederalLaw,
    /// 4: state law.
    StateLaw,
    /// 5: municipal law.
    Municipal,
    /// Anything else the export uses (mixed or newer codes), kept as written.
    Other,
}

impl Typisierung {
    fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "" => None,
            "1" => Some(Self::FederalExecution),
            "2" | "3" | "2/3" => Some(Self::StateExecutionOfFederalLaw),
            "4" => Some(Self::StateLaw),
            "5" => Some(Self::Municipal),
            _ => Some(Self::Other),
        }
    }

    pub fn label_de(self) -> &'static str {
        match self {
            Self::FederalExecution => "Bundesrecht, Vollzug durch den Bund",
            Self::StateExecutionOfFederalLaw => "Bundesrecht, Vollzug durch die Länder",
            Self::StateLaw => "Landesrecht",
            Self::Municipal => "Kommunales Recht",
            Self::Other => "Gemischte Regelung",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::FederalExecution => "Federal law, executed by the federation",
            Self::StateExecutionOfFederalLaw => "Federal law, executed by the states",
            Self::StateLaw => "State law",
            Self::Municipal => "Municipal law",
            Self::Other => "Mixed regulation",
        }
    }
}

/// A law named in the export, with its link where the export gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawReference {
    pub title: String,
    pub url: Option<String>,
}

/// One service of the national catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueRecord {
    pub key: LeikaKey,
    /// The official German name (Leistungsbezeichnung); the export has no English names.
    pub name: String,
    pub typisierung: Option<Typisierung>,
    pub legal_basis: Vec<LawReference>,
    /// The OZG service this catalogue entry belongs to, e.g. "Abfallentsorgung".
    pub ozg_service: String,
    pub life_situation: Option<LifeSituation>,
    /// The OZG topic (Themenfeld), e.g. "Bauen & Wohnen".
    pub topic: String,
}

#[derive(Deserialize)]
struct Row {
    leika_key: String,
    name: String,
    typisierung: String,
    legal_basis: String,
    #[allow(dead_code)]
    law_shortcuts: String,
    ozg_leistung: String,
    #[allow(dead_code)]
    ozg_id: String,
    lebenslage: String,
    themenfeld: String,
}

/// Largest export accepted: the national catalogue has about 10,000 entries; far more is a mistake.
const MAX_ROWS: usize = 50_000;
const MAX_FIELD: usize = 4_000;

/// Reads a catalogue export in CSV. Every malformed row is reported with its line; one bad row
/// rejects the whole file, so a half-imported catalogue never goes live.
pub fn read_catalogue(
    path: &Path,
    source: &[u8],
) -> Result<Vec<CatalogueRecord>, Vec<SourceError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(source);
    let mut errors = Vec::new();
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(e) => return Err(vec![csv_error(path, &e)]),
    };
    let expected = [
        "leika_key",
        "name",
        "typisierung",
        "legal_basis",
        "law_shortcuts",
        "ozg_leistung",
        "ozg_id",
        "lebenslage",
        "themenfeld",
    ];
    if headers.iter().collect::<Vec<_>>() != expected {
        return Err(vec![SourceError::new(
            path,
            Some(rathaus_domain::Position { line: 1, column: 1 }),
            format!("the header must be exactly: {}", expected.join(",")),
        )]);
    }

    let mut records: Vec<CatalogueRecord> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut raw = csv::StringRecord::new();
    let mut index = 0;
    loop {
        match reader.read_record(&mut raw) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                errors.push(csv_error(path, &e));
                // A record that is not valid UTF-8 can be skipped; anything else ends reading.
                if matches!(
                    e.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                ) && errors.len() < 50
                {
                    continue;
                }
                break;
            }
        }
        index += 1;
        if index > MAX_ROWS {
            errors.push(SourceError::new(
                path,
                None,
                format!("more than {MAX_ROWS} rows"),
            ));
            break;
        }
        let line = raw.position().map_or(0, |p| p.line() as usize);
        let row: Row = match raw.deserialize(Some(&headers)) {
            Ok(row) => row,
            Err(e) => {
                errors.push(csv_error(path, &e));
                continue;
            }
        };
        let at = Some(rathaus_domain::Position { line, column: 1 });
        match parse_row(row) {
            Ok(record) => {
                if let Some(first) = seen.insert(record.key, line) {
                    errors.push(SourceError::new(
                        path,
                        at,
                        format!(
                            "the key {} is listed twice (first on line {first})",
                            record.key
                        ),
                    ));
                } else {
                    records.push(record);
                }
            }
            Err(message) => errors.push(SourceError::new(path, at, message)),
        }
        if errors.len() >= 50 {
            break;
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

fn parse_row(row: Row) -> Result<CatalogueRecord, String> {
    let fields = [
        &row.leika_key,
        &row.name,
        &row.typisierung,
        &row.legal_basis,
        &row.ozg_leistung,
        &row.lebenslage,
        &row.themenfeld,
    ];
    if fields
        .iter()
        .any(|f| f.len() > MAX_FIELD || f.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(
            "a field is longer than 4,000 characters or contains a control character".into(),
        );
    }
    let key: LeikaKey = row.leika_key.trim().parse().map_err(|e| format!("{e}"))?;
    let name = row.name.trim();
    if name.is_empty() {
        return Err(format!("the service {key} has no name"));
    }
    let lebenslage = row.lebenslage.trim();
    let life_situation = if lebenslage.is_empty() {
        None
    } else {
        Some(LifeSituation::from_catalogue_name(lebenslage).unwrap_or(LifeSituation::Other))
    };
    Ok(CatalogueRecord {
        key,
        name: name.to_owned(),
        typisierung: Typisierung::parse(&row.typisierung),
        legal_basis: parse_laws(&row.legal_basis),
        ozg_service: row.ozg_leistung.trim().to_owned(),
        life_situation,
        topic: row.themenfeld.trim().to_owned(),
    })
}

/// Splits `Gesetz A (GA) [http://a], Verordnung B [http://b]` into titled links. Titles may
/// contain commas; only a bracketed address ends a reference.
fn parse_laws(raw: &str) -> Vec<LawReference> {
    let mut laws = Vec::new();
    let mut rest = raw.trim();
    while !rest.is_empty() {
        let Some(open) = rest.find(" [") else {
            laws.push(LawReference {
                title: rest.trim_matches([',', ' ']).to_owned(),
                url: None,
            });
            break;
        };
        let Some(close) = rest[open..].find(']').map(|c| open + c) else {
            laws.push(LawReference {
                title: rest.trim().to_owned(),
                url: None,
            });
            break;
        };
        let title = rest[..open].trim_matches([',', ' ']).to_owned();
        let url = rest[open + 2..close].trim();
        let url = rathaus_domain::service::is_web_address(url).then(|| url.to_owned());
        if !title.is_empty() {
            laws.push(LawReference { title, url });
        }
        rest = rest[close + 1..].trim_start_matches([',', ' ']);
    }
    laws.retain(|law| !law.title.is_empty());
    laws
}

fn csv_error(path: &Path, error: &csv::Error) -> SourceError {
    let position = error.position().map(|p| rathaus_domain::Position {
        line: p.line() as usize,
        column: 1,
    });
    let message = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "the file is not valid UTF-8".to_owned(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("this row has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Deserialize { err, .. } => format!("malformed row: {err}"),
        _ => "the file is not a readable CSV file".to_owned(),
    };
    SourceError::new(path, position, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "leika_key,name,typisierung,legal_basis,law_shortcuts,ozg_leistung,ozg_id,lebenslage,themenfeld\n";

    fn read(body: &str) -> Result<Vec<CatalogueRecord>, Vec<SourceError>> {
        read_catalogue(Path::new("cat.csv"), format!("{HEADER}{body}").as_bytes())
    }

    #[test]
    fn rows_become_records() {
        let records = read(
            "99001002004000,Altpapier Entsorgung,2/3,\"Kreislaufwirtschaftsgesetz (KrWG) [http://www.gesetze-im-internet.de/krwg/], Verordnung, neu [http://x.example/v]\",KrWG,Abfallentsorgung,10110,Wohnen & Umzug,Bauen & Wohnen\n",
        )
        .unwrap();
        let r = &records[0];
        assert_eq!(r.key.as_str(), "99001002004000");
        assert_eq!(r.typisierung, Some(Typisierung::StateExecutionOfFederalLaw));
        assert_eq!(r.life_situation, Some(LifeSituation::Moving));
        assert_eq!(r.legal_basis.len(), 2);
        assert_eq!(r.legal_basis[1].title, "Verordnung, neu");
        assert_eq!(
            r.legal_basis[0].url.as_deref(),
            Some("http://www.gesetze-im-internet.de/krwg/")
        );
    }

    #[test]
    fn bad_rows_are_reported_with_their_line_and_nothing_is_imported() {
        let errors = read(
            "99001001000000,Abfallgebühr,5,,,Abfallentsorgung,10110,Wohnen & Umzug,Bauen & Wohnen\n\
             9900100,Kaputt,5,,,X,1,,\n\
             99001001000000,Doppelt,5,,,X,1,,\n\
             99001001000001,Zu kurz\n",
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text[0].starts_with("cat.csv:3:") && text[0].contains("14 digits"),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("cat.csv:4:") && text[1].contains("listed twice"),
            "{text:?}"
        );
        assert!(text[2].contains("fields"), "{text:?}");
    }

    #[test]
    fn a_wrong_header_or_binary_is_refused() {
        assert!(read_catalogue(Path::new("x.csv"), b"a,b\n1,2\n").is_err());
        assert!(read_catalogue(Path::new("x.csv"), &[0xff, 0xfe, 0x00, 0x41]).is_err());
        assert!(read_catalogue(Path::new("x.csv"), b"").is_err());
    }
}
