//! The XML export of a residence registration, in the spirit of XMeld (issue 5).
//!
//! Registration offices feed their register (the *Melderegister*) from XÖV messages of the
//! XMeld family, not from JSON. This export lays the submission out the way such a message is
//! built: a message head (who sends it to whom, the procedure, the reference), then the move
//! (new and previous home, the kind of residence, the landlord's confirmation) and every person
//! who moves, with German element names and, for coded values, the key in the style of the
//! DSMeld code lists (`familienstand` `VH`, `geschlecht` `w`, …) beside the portal's value.
//!
//! It is *not* a schema-valid XMeld message: XMeld's schema and code lists are versioned by
//! KoSIT and a registration office's software expects the exact version it was certified
//! for. The target namespace says so (`urn:rathaus:xmeld-stil:…`); an adapter that maps this
//! document to the certified XMeld version belongs beside the register. Only answers the
//! citizen gave are written (R4): an unanswered field has no element, never an empty one.

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::{Map, Value as Json};

/// The service key (LeiKa) of the residence registration: the only service with this export.
pub(crate) const SERVICE_KEY: &str = "99115005104000";

/// The namespace of the document; its version changes when an element changes meaning.
pub(crate) const NAMESPACE: &str = "urn:rathaus:xmeld-stil:anmeldung:1";

/// What the message head needs beyond the submission document.
pub(crate) struct Head<'a> {
    pub delivery_id: uuid::Uuid,
    pub authority: &'a str,
    pub received_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum XmeldError {
    #[error("the case is not a residence registration")]
    OtherService,
    #[error("the submission document has no answers")]
    NoAnswers,
    #[error("writing the XML failed: {0}")]
    Write(#[from] std::io::Error),
}

/// The XML document for a residence registration's submission `document`.
pub(crate) fn residence_registration(
    document: &Json,
    head: &Head<'_>,
) -> Result<Vec<u8>, XmeldError> {
    if document.pointer("/service/key").and_then(Json::as_str) != Some(SERVICE_KEY) {
        return Err(XmeldError::OtherService);
    }
    let answers = document
        .get("answers")
        .and_then(Json::as_object)
        .ok_or(XmeldError::NoAnswers)?;
    let mut xml = Xml::new();
    xml.decl()?;
    let mut root = BytesStart::new("anmeldung.meldung");
    root.push_attribute(("xmlns", NAMESPACE));
    root.push_attribute(("version", "1"));
    xml.open(root)?;

    xml.open_plain("nachrichtenkopf")?;
    xml.open_plain("identifikation.nachricht")?;
    xml.text("nachrichtenUUID", &head.delivery_id.to_string())?;
    xml.text("erstellungszeitpunkt", &timestamp(head.created_at))?;
    xml.close("identifikation.nachricht")?;
    xml.open_plain("autor")?;
    xml.text("bezeichnung", "Serviceportal (rathaus)")?;
    xml.close("autor")?;
    xml.open_plain("leser")?;
    xml.text("behoerdenkennung", head.authority)?;
    xml.close("leser")?;
    xml.close("nachrichtenkopf")?;

    xml.open_plain("verfahren")?;
    xml.text("leistungsschluessel", SERVICE_KEY)?;
    xml.optional("aktenzeichen", document.get("reference"))?;
    xml.optional("antragszeitpunkt", document.get("submitted_at"))?;
    xml.text("eingangszeitpunkt", &timestamp(head.received_at))?;
    xml.optional("sprache", document.get("language"))?;
    xml.close("verfahren")?;

    xml.open_plain("wohnung")?;
    xml.optional("einzugsdatum", answers.get("move_in_date"))?;
    xml.coded(
        "wohnungsstatus",
        answers.get("residence_kind"),
        &[("sole", "A"), ("main", "H"), ("secondary", "N")],
    )?;
    xml.address(
        "neueAnschrift",
        answers.get("new_address"),
        answers.get("new_address_addition"),
    )?;
    xml.address("hauptwohnung", answers.get("main_residence_address"), None)?;
    xml.optional("zuzugAusDemAusland", answers.get("moved_from_abroad"))?;
    xml.address("bisherigeAnschrift", answers.get("previous_address"), None)?;
    xml.optional(
        "bisherigeWohnungBeibehalten",
        answers.get("previous_home_kept"),
    )?;
    xml.close("wohnung")?;

    if answers.contains_key("landlord_confirmation") {
        xml.open_plain("wohnungsgeberbestaetigung")?;
        xml.coded(
            "form",
            answers.get("landlord_confirmation"),
            &[("upload", "dokument"), ("reference", "elektronisch")],
        )?;
        xml.optional("zuordnungsmerkmal", answers.get("landlord_reference"))?;
        for file in files(answers.get("landlord_confirmation_file")) {
            xml.file(file)?;
        }
        xml.close("wohnungsgeberbestaetigung")?;
    }

    let persons = answers
        .get("persons")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut list = BytesStart::new("personen");
    list.push_attribute(("anzahl", persons.len().to_string().as_str()));
    xml.open(list)?;
    for (index, person) in persons.iter().enumerate() {
        if let Some(person) = person.as_object() {
            xml.person(index + 1, person)?;
        }
    }
    xml.close("personen")?;
    xml.close("anmeldung.meldung")?;
    Ok(xml.finish())
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn files(value: Option<&Json>) -> impl Iterator<Item = &Map<String, Json>> {
    value
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_object)
}

/// A scalar answer as text; objects and arrays are not scalars.
fn scalar(value: &Json) -> Option<String> {
    match value {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

struct Xml(Writer<Vec<u8>>);

impl Xml {
    fn new() -> Self {
        Self(Writer::new_with_indent(Vec::new(), b' ', 2))
    }

    fn finish(self) -> Vec<u8> {
        let mut bytes = self.0.into_inner();
        bytes.push(b'\n');
        bytes
    }

    fn decl(&mut self) -> std::io::Result<()> {
        self.0
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
    }

    fn open(&mut self, start: BytesStart<'_>) -> std::io::Result<()> {
        self.0.write_event(Event::Start(start))
    }

    fn open_plain(&mut self, name: &str) -> std::io::Result<()> {
        self.open(BytesStart::new(name))
    }

    fn close(&mut self, name: &str) -> std::io::Result<()> {
        self.0.write_event(Event::End(BytesEnd::new(name)))
    }

    /// `<name>text</name>`; the writer escapes `<`, `&` and quotes.
    fn text(&mut self, name: &str, text: &str) -> std::io::Result<()> {
        self.open_plain(name)?;
        self.0.write_event(Event::Text(BytesText::new(text)))?;
        self.close(name)
    }

    /// The element only when the answer is there.
    fn optional(&mut self, name: &str, value: Option<&Json>) -> std::io::Result<()> {
        match value.and_then(scalar) {
            Some(text) => self.text(name, &text),
            None => Ok(()),
        }
    }

    /// `<name schluessel="CODE">value</name>` for a choice; a value without a code keeps
    /// only the value, so nothing is guessed.
    fn coded(
        &mut self,
        name: &str,
        value: Option<&Json>,
        codes: &[(&str, &str)],
    ) -> std::io::Result<()> {
        let Some(value) = value.and_then(scalar) else {
            return Ok(());
        };
        let mut start = BytesStart::new(name);
        if let Some((_, code)) = codes.iter().find(|(v, _)| *v == value) {
            start.push_attribute(("schluessel", *code));
        }
        self.open(start)?;
        self.0.write_event(Event::Text(BytesText::new(&value)))?;
        self.close(name)
    }

    fn address(
        &mut self,
        name: &str,
        value: Option<&Json>,
        addition: Option<&Json>,
    ) -> std::io::Result<()> {
        let Some(parts) = value.and_then(Json::as_object) else {
            return Ok(());
        };
        self.open_plain(name)?;
        self.optional("strasse", parts.get("street"))?;
        self.optional("hausnummer", parts.get("house_number"))?;
        self.optional("postleitzahl", parts.get("postcode"))?;
        self.optional("wohnort", parts.get("city"))?;
        self.optional("zusatz", addition)?;
        self.close(name)
    }

    fn file(&mut self, file: &Map<String, Json>) -> std::io::Result<()> {
        let mut start = BytesStart::new("anlage");
        for (attribute, key) in [
            ("id", "id"),
            ("dateiname", "name"),
            ("mimeType", "media_type"),
            ("sha256", "sha256"),
        ] {
            if let Some(value) = file.get(key).and_then(scalar) {
                start.push_attribute((attribute, value.as_str()));
            }
        }
        self.0.write_event(Event::Empty(start))
    }

    fn person(&mut self, number: usize, person: &Map<String, Json>) -> std::io::Result<()> {
        let mut start = BytesStart::new("person");
        start.push_attribute(("lfdNr", number.to_string().as_str()));
        self.open(start)?;
        self.coded(
            "beziehung",
            person.get("relation"),
            &[
                ("first_person", "AP"),
                ("spouse", "EH"),
                ("civil_partner", "LP"),
                ("child", "KI"),
                ("other", "SO"),
            ],
        )?;
        self.open_plain("name")?;
        self.optional("familienname", person.get("family_name"))?;
        self.optional("geburtsname", person.get("birth_name"))?;
        self.optional("vornamen", person.get("given_names"))?;
        self.optional("rufname", person.get("usual_given_name"))?;
        self.optional("doktorgrad", person.get("doctoral_degree"))?;
        self.close("name")?;
        self.coded(
            "geschlecht",
            person.get("sex"),
            &[
                ("female", "w"),
                ("male", "m"),
                ("diverse", "d"),
                ("not_stated", "x"),
            ],
        )?;
        self.open_plain("geburt")?;
        self.optional("datum", person.get("birth_date"))?;
        self.optional("ort", person.get("birth_place"))?;
        self.close("geburt")?;
        self.open_plain("staatsangehoerigkeit")?;
        self.optional("deutsch", person.get("german_citizen"))?;
        self.optional("weitere", person.get("other_nationalities"))?;
        self.close("staatsangehoerigkeit")?;
        // Only where the law asks (§ 3 Abs. 1 Nr. 11 BMG, for the church tax): the definition
        // asks it of nobody else, so it is absent here as well.
        self.coded(
            "religion",
            person.get("religion"),
            &[
                ("none", "--"),
                ("roman_catholic", "rk"),
                ("protestant", "ev"),
                ("jewish", "is"),
                ("other", "so"),
            ],
        )?;
        self.optional("religionSonstige", person.get("religion_other"))?;
        self.coded(
            "familienstand",
            person.get("marital_status"),
            &[
                ("single", "LD"),
                ("married", "VH"),
                ("divorced", "GS"),
                ("widowed", "VW"),
                ("civil_partnership", "LP"),
                ("partnership_dissolved", "LA"),
                ("partner_deceased", "LV"),
            ],
        )?;
        if person.contains_key("marriage_date") || person.contains_key("marriage_place") {
            self.open_plain("eheschliessung")?;
            self.optional("datum", person.get("marriage_date"))?;
            self.optional("ort", person.get("marriage_place"))?;
            self.close("eheschliessung")?;
        }
        if person.contains_key("all_guardians_move") {
            self.open_plain("sorgerecht")?;
            self.optional(
                "alleSorgeberechtigtenZiehenMit",
                person.get("all_guardians_move"),
            )?;
            if let Some(name) = person.get("other_guardian_name").and_then(Json::as_object) {
                self.open_plain("weitererSorgeberechtigter")?;
                self.optional("vornamen", name.get("given_names"))?;
                self.optional("familienname", name.get("family_name"))?;
                self.close("weitererSorgeberechtigter")?;
            }
            self.address(
                "anschriftWeitererSorgeberechtigter",
                person.get("other_guardian_address"),
                None,
            )?;
            self.close("sorgerecht")?;
        }
        if person.contains_key("id_document") {
            self.open_plain("ausweisdokument")?;
            self.coded(
                "art",
                person.get("id_document"),
                &[
                    ("id_card", "PA"),
                    ("passport", "RP"),
                    ("childrens_passport", "KP"),
                    ("none", "--"),
                ],
            )?;
            self.optional("seriennummer", person.get("id_number"))?;
            self.optional("ausstellendeBehoerde", person.get("id_authority"))?;
            self.optional("ausstellungsdatum", person.get("id_issued_on"))?;
            self.optional("gueltigBis", person.get("id_valid_until"))?;
            self.close("ausweisdokument")?;
        }
        self.close("person")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;
    use quick_xml::Reader;
    use serde_json::json;

    use super::*;

    fn head() -> Head<'static> {
        Head {
            delivery_id: uuid::Uuid::nil(),
            authority: "kundenzentrum-hamburg-mitte",
            received_at: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
            created_at: Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap(),
        }
    }

    fn document() -> Json {
        json!({
            "format": "rathaus-submission/1",
            "service": { "key": SERVICE_KEY, "name": "Wohnsitz anmelden" },
            "reference": "HA-2026-ABCD-EFGH",
            "submitted_at": "2026-06-01T08:59:00Z",
            "language": "de",
            "answers": {
                "new_address": { "street": "Rathausmarkt", "house_number": "1", "postcode": "20095", "city": "Hamburg" },
                "move_in_date": "2026-05-28",
                "residence_kind": "sole",
                "moved_from_abroad": false,
                "previous_address": { "street": "Hauptstraße <Hinterhaus> & Co", "house_number": "5", "postcode": "10115", "city": "Berlin" },
                "previous_home_kept": false,
                "landlord_confirmation": "reference",
                "landlord_reference": "WGB-1234",
                "persons": [
                    { "family_name": "Mustermann", "given_names": "Erika", "sex": "female", "birth_date": "1964-08-12",
                      "birth_place": "Berlin", "german_citizen": true, "marital_status": "married",
                      "marriage_date": "1990-05-05", "marriage_place": "Berlin", "relation": "first_person",
                      "religion": "none", "id_document": "id_card", "id_number": "T22000129" },
                    { "family_name": "Mustermann", "given_names": "Max", "sex": "male", "birth_date": "2015-02-01",
                      "relation": "child", "all_guardians_move": true, "marital_status": "single" }
                ]
            },
            "attachments": [],
            "verified": {}
        })
    }

    /// Every element's path and text, read back with an XML parser (entity references, which
    /// the parser reports apart from the text around them, resolved).
    fn read(xml: &[u8]) -> Vec<(String, String)> {
        let mut reader = Reader::from_reader(xml);
        let mut path: Vec<String> = Vec::new();
        let mut found = Vec::new();
        let mut current = String::new();
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf).unwrap() {
                Event::Start(e) => {
                    current.clear();
                    path.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                }
                Event::Text(t) => current.push_str(&t.decode().unwrap()),
                Event::GeneralRef(r) => {
                    let name = r.decode().unwrap();
                    current.push_str(quick_xml::escape::resolve_predefined_entity(&name).unwrap());
                }
                Event::End(_) => {
                    if !current.trim().is_empty() {
                        found.push((path.join("/"), std::mem::take(&mut current)));
                    }
                    current.clear();
                    path.pop();
                }
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        found
    }

    #[test]
    fn a_residence_registration_is_laid_out_with_head_move_and_persons() {
        let xml = residence_registration(&document(), &head()).unwrap();
        let text = String::from_utf8(xml.clone()).unwrap();
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(text.contains(&format!("xmlns=\"{NAMESPACE}\"")));
        let found = read(&xml);
        let value = |path: &str| {
            found
                .iter()
                .filter(|(p, _)| p == path)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        let root = "anmeldung.meldung";
        assert_eq!(
            value(&format!("{root}/verfahren/aktenzeichen")),
            ["HA-2026-ABCD-EFGH"]
        );
        assert_eq!(
            value(&format!("{root}/nachrichtenkopf/leser/behoerdenkennung")),
            ["kundenzentrum-hamburg-mitte"]
        );
        assert_eq!(
            value(&format!("{root}/wohnung/einzugsdatum")),
            ["2026-05-28"]
        );
        assert_eq!(
            value(&format!("{root}/wohnung/neueAnschrift/postleitzahl")),
            ["20095"]
        );
        // Escaped on the way out, the same text on the way back.
        assert_eq!(
            value(&format!("{root}/wohnung/bisherigeAnschrift/strasse")),
            ["Hauptstraße <Hinterhaus> & Co"]
        );
        assert!(text.contains("Hauptstraße &lt;Hinterhaus&gt; &amp; Co"));
        assert_eq!(
            value(&format!(
                "{root}/wohnungsgeberbestaetigung/zuordnungsmerkmal"
            )),
            ["WGB-1234"]
        );
        assert_eq!(
            value(&format!("{root}/personen/person/name/vornamen")),
            ["Erika", "Max"]
        );
        assert!(text.contains("<personen anzahl=\"2\">"));
        assert!(text.contains("<familienstand schluessel=\"VH\">married</familienstand>"));
        assert!(text.contains("<geschlecht schluessel=\"m\">male</geschlecht>"));
        assert!(text.contains("<art schluessel=\"PA\">id_card</art>"));
        assert_eq!(
            value(&format!(
                "{root}/personen/person/sorgerecht/alleSorgeberechtigtenZiehenMit"
            )),
            ["true"]
        );
        // Unanswered means absent (R4): no main residence, no birth name, no second religion.
        for absent in [
            "hauptwohnung",
            "geburtsname",
            "religionSonstige",
            "doktorgrad",
        ] {
            assert!(!text.contains(&format!("<{absent}")), "{absent}");
        }
    }

    #[test]
    fn another_service_or_a_document_without_answers_is_refused() {
        let mut other = document();
        other["service"]["key"] = json!("99108001000000");
        assert!(matches!(
            residence_registration(&other, &head()),
            Err(XmeldError::OtherService)
        ));
        let mut empty = document();
        empty["answers"] = json!(null);
        assert!(matches!(
            residence_registration(&empty, &head()),
            Err(XmeldError::NoAnswers)
        ));
    }

    #[test]
    fn hostile_answers_cannot_break_out_of_their_element() {
        let mut doc = document();
        doc["answers"]["persons"][0]["family_name"] = json!("</familienname><admin>ja</admin><!--");
        doc["answers"]["landlord_reference"] = json!("]]>\"'&");
        let xml = residence_registration(&doc, &head()).unwrap();
        let found = read(&xml);
        assert!(found.iter().all(|(path, _)| !path.contains("admin")));
        assert!(
            found.iter().any(|(p, v)| p.ends_with("/familienname")
                && v == "</familienname><admin>ja</admin><!--")
        );
        assert!(
            found
                .iter()
                .any(|(p, v)| p.ends_with("/zuordnungsmerkmal") && v == "]]>\"'&")
        );
    }
}
