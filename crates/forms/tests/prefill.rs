#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Prefill: which fields may be filled from which attribute (checked at load), what an eID
//! check for a form asks for (R3), the marks and how a change removes them, and the document.

use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rathaus_domain::{AttributeSource, Lang, ServiceKey, VerifiedAddress, VerifiedAttributes};
use rathaus_forms::definition::Attribute;
use rathaus_forms::prefill::{self, Marks, Provenance};
use rathaus_forms::{Action, Answer, Answers, FormDefinition, Posted, engine, parse_form};

fn form(fields: &str) -> Result<FormDefinition, String> {
    let source = format!(
        r#"
[form]
declaration = {{ de = "Ich versichere es.", en = "I confirm it." }}

[[form.steps]]
id = "owner"
title = {{ de = "Über Sie", en = "About you" }}
{fields}
"#
    );
    parse_form(Path::new("services/x.toml"), &source)
        .map(|f| f.unwrap())
        .map_err(|e| e.to_string())
}

fn field(name: &str, ty: &str, prefill: &str) -> String {
    format!(
        r#"
[[form.steps.fields]]
name = "{name}"
type = "{ty}"
label = {{ de = "L", en = "L" }}
required = true
prefill = "{prefill}"
purpose = {{ de = "Z", en = "P" }}
legal_basis = "§ 1"
"#
    )
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 18, 0, 0).unwrap()
}

fn erika() -> VerifiedAttributes {
    let mut attributes = VerifiedAttributes::new(AttributeSource::Eid, at());
    attributes.given_names = Some("Erika".into());
    attributes.family_name = Some("Mustermann".into());
    attributes.date_of_birth = NaiveDate::from_ymd_opt(1964, 8, 12);
    attributes.address = Some(VerifiedAddress::from_line(
        "Heidestraße 17",
        "51147",
        "Köln",
        "DE",
    ));
    attributes
}

fn three() -> FormDefinition {
    form(
        &[
            field("owner_name", "person_name", "name"),
            field("birth", "date_of_birth", "date_of_birth"),
            field("home", "address", "address"),
        ]
        .concat(),
    )
    .unwrap()
}

#[test]
fn r3_an_eid_check_asks_for_the_claims_the_form_declares_and_no_more() {
    let declared = three().prefill_attributes();
    assert_eq!(
        declared,
        [Attribute::Name, Attribute::DateOfBirth, Attribute::Address]
    );
    assert_eq!(
        prefill::claims_for(&declared),
        ["address", "birthdate", "family_name", "given_name"]
    );
    let names_only = form(&field("family", "text", "family_name")).unwrap();
    assert_eq!(
        prefill::claims_for(&names_only.prefill_attributes()),
        ["family_name"]
    );
    // An e-mail address is not on the ID card: nothing is asked for it.
    let email = form(&field("mail", "email", "email")).unwrap();
    assert!(prefill::claims_for(&email.prefill_attributes()).is_empty());
}

#[test]
fn r3_a_prefill_must_fit_the_field_and_stay_outside_groups() {
    let wrong = form(&field("owner_name", "text", "address")).unwrap_err();
    assert!(
        wrong.contains("cannot be prefilled from `Address`"),
        "{wrong}"
    );
    let wrong = form(&field("owner_name", "person_name", "family_name")).unwrap_err();
    assert!(wrong.contains("cannot be prefilled"), "{wrong}");
    let unknown = form(&field("x", "text", "shoe_size")).unwrap_err();
    assert!(unknown.contains("shoe_size"), "{unknown}");
    let group = r#"
[[form.steps.fields]]
name = "persons"
type = "group"
label = { de = "Personen", en = "People" }
item_label = { de = "Person", en = "Person" }
purpose = { de = "Z", en = "P" }
legal_basis = "§ 1"

[[form.steps.fields.fields]]
name = "family"
type = "text"
label = { de = "Name", en = "Name" }
prefill = "family_name"
purpose = { de = "Z", en = "P" }
legal_basis = "§ 1"
"#;
    let error = form(group).unwrap_err();
    assert!(
        error.contains("inside a group and cannot be prefilled"),
        "{error}"
    );
}

#[test]
fn prefill_fills_and_marks_and_a_changed_value_loses_its_mark() {
    let form = three();
    let step = &form.steps[0];
    let verified = erika();
    let source = |attribute: Attribute, kind: &rathaus_forms::FieldKind| {
        prefill::value(attribute, &verified, kind).map(|answer| {
            (
                answer,
                Provenance::from(verified.source),
                verified.verified_at,
            )
        })
    };
    let mut answers = Answers::default();
    let mut marks = Marks::default();
    let filled = prefill::apply(step, &mut answers, &mut marks, &source);
    assert_eq!(filled, ["owner_name", "birth", "home"]);
    assert_eq!(
        answers.get("birth"),
        Some(&Answer::Date(NaiveDate::from_ymd_opt(1964, 8, 12).unwrap()))
    );
    let Some(Answer::Parts(home)) = answers.get("home") else {
        panic!("an address");
    };
    assert_eq!(home["street"], "Heidestraße");
    assert_eq!(home["house_number"], "17");

    // The same values posted back (the citizen pressed "next") keep their marks.
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let post = |family: &str| {
        Posted::from_pairs(
            [
                ("owner_name.given_names", "Erika"),
                ("owner_name.family_name", family),
                ("birth", "1964-08-12"),
                ("home.street", "Heidestraße"),
                ("home.house_number", "17"),
                ("home.postcode", "51147"),
                ("home.city", "Köln"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
    };
    let same = engine::read_step(
        &form,
        0,
        &post("Mustermann"),
        Vec::new(),
        &Action::Next,
        &answers,
        today,
    )
    .unwrap();
    assert!(same.errors.is_empty(), "{:?}", same.errors);
    let mut kept = marks.clone();
    prefill::keep_unchanged(&mut kept, &same.answers);
    assert_eq!(kept, marks);
    let changed = engine::read_step(
        &form,
        0,
        &post("Musterfrau"),
        Vec::new(),
        &Action::Next,
        &answers,
        today,
    )
    .unwrap();
    prefill::keep_unchanged(&mut kept, &changed.answers);
    assert!(kept.get("owner_name").is_none());
    assert!(kept.get("home").is_some() && kept.get("birth").is_some());

    // The document names the verified answers, where from and when; the schema allows them.
    let key: ServiceKey = "99108001001000".parse().unwrap();
    let document = rathaus_forms::document::submission_document(
        &key,
        "Test",
        "HA-2026-ABCD-EFGH",
        at(),
        Lang::De,
        &changed.answers,
        &kept,
    );
    assert_eq!(document["verified"]["home"]["source"], "eid");
    assert_eq!(
        document["verified"]["home"]["verified_at"],
        "2026-11-23T18:00:00Z"
    );
    assert!(document["verified"].get("owner_name").is_none());
    let schema = rathaus_forms::schema::submission_schema(&key, "Test", &form);
    let verified = &schema["properties"]["verified"]["properties"];
    assert!(verified.get("home").is_some() && verified.get("owner_name").is_some());
    assert_eq!(
        schema["properties"]["verified"]["additionalProperties"],
        false
    );
}

#[test]
fn nothing_is_filled_that_the_check_did_not_confirm_or_that_does_not_fit() {
    let form = three();
    let mut partial = VerifiedAttributes::new(AttributeSource::Counter, at());
    partial.family_name = Some("Mustermann".into());
    // Only a family name: a person name needs both parts, so nothing is filled.
    let mut foreign = erika();
    foreign.address = Some(VerifiedAddress::from_line(
        "Rue de Rivoli 1",
        "75001",
        "Paris",
        "FR",
    ));
    for (verified, expected) in [(&partial, 0), (&foreign, 2)] {
        let source = |attribute: Attribute, kind: &rathaus_forms::FieldKind| {
            prefill::value(attribute, verified, kind).map(|answer| {
                (
                    answer,
                    Provenance::from(verified.source),
                    verified.verified_at,
                )
            })
        };
        let mut answers = Answers::default();
        let mut marks = Marks::default();
        let filled = prefill::apply(&form.steps[0], &mut answers, &mut marks, &source);
        assert_eq!(filled.len(), expected, "{filled:?}");
        assert!(
            answers.get("home").is_none(),
            "a foreign address is not filled in"
        );
    }
}
