#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Computed values: checked when the definition is loaded, worked out from the answers only,
//! shown in the schema, and never taken from a post (Z3).

use std::path::Path;

use chrono::NaiveDate;
use rathaus_domain::{Lang, ServiceKey};
use rathaus_forms::computed::Outcome;
use rathaus_forms::engine::{self, PostError};
use rathaus_forms::{Action, Answer, AnswerEnv, Answers, FormDefinition, Posted, parse_form};

const HEAD: &str = r#"
[form]
declaration = { de = "Ich versichere es.", en = "I confirm it." }

[[form.steps]]
id = "home"
title = { de = "Anschrift", en = "Address" }

[[form.steps.fields]]
name = "address"
type = "address"
label = { de = "Anschrift", en = "Address" }
required = true
purpose = { de = "Ergibt die Zone.", en = "Gives the zone." }
legal_basis = "§ 45 StVO"

[[form.steps]]
id = "permit"
title = { de = "Ausweis", en = "Permit" }

[[form.steps.fields]]
name = "duration"
type = "choice"
label = { de = "Dauer", en = "Period" }
required = true
options = [
  { value = "one_year", label = { de = "1 Jahr", en = "1 year" } },
  { value = "two_years", label = { de = "2 Jahre", en = "2 years" } },
]
purpose = { de = "Ergibt die Gebühr.", en = "Gives the fee." }
legal_basis = "§ 6a StVG"
"#;

const ZONE: &str = r#"
[[form.computed]]
name = "zone"
type = "text"
step = "home"
label = { de = "Zone", en = "Zone" }
purpose = { de = "Steht auf dem Ausweis.", en = "Printed on the permit." }
legal_basis = "§ 45 StVO"
[form.computed.lookup]
keys = ["address.postcode", "address.street"]
none = { de = "Kein Bewohnerparkgebiet.", en = "No residents' parking zone." }
blocking = true
rows = [
  { match = ["20259", "Osterstraße"], value = "E 1" },
  { match = ["20099", "*"], value = "G 1" },
]
"#;

const FEE: &str = r#"
[[form.computed]]
name = "fee"
type = "money"
step = "permit"
label = { de = "Gebühr", en = "Fee" }
purpose = { de = "Die Gebühr.", en = "The fee." }
legal_basis = "§ 6a StVG"
cases = [
  { when = 'duration == "one_year"', value = "65.00" },
  { when = 'duration == "two_years"', value = "130.00" },
]
"#;

fn form(extra: &str) -> Result<FormDefinition, String> {
    parse_form(
        Path::new("services/parking.toml"),
        &format!("{HEAD}{extra}"),
    )
    .map(|f| f.unwrap())
    .map_err(|e| e.to_string())
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn address(street: &str, postcode: &str) -> Posted {
    Posted::from_pairs([
        ("address.street".to_owned(), street.to_owned()),
        ("address.house_number".to_owned(), "1".to_owned()),
        ("address.postcode".to_owned(), postcode.to_owned()),
        ("address.city".to_owned(), "Hamburg".to_owned()),
    ])
}

fn post(form: &FormDefinition, step: usize, posted: &Posted, previous: &Answers) -> Answers {
    let outcome = engine::read_step(
        form,
        step,
        posted,
        Vec::new(),
        &Action::Next,
        previous,
        today(),
    )
    .unwrap();
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    outcome.answers
}

#[test]
fn a_lookup_finds_the_zone_whatever_the_spelling_of_the_street() {
    let form = form(ZONE).unwrap();
    for street in ["Osterstraße", "osterstrasse ", "Osterstr.", "OSTERSTRASSE"] {
        let answers = post(&form, 0, &address(street, "20259"), &Answers::default());
        assert_eq!(
            answers.get("zone"),
            Some(&Answer::Text("E 1".into())),
            "{street}"
        );
    }
    // A wildcard row matches any street of the postcode.
    let answers = post(
        &form,
        0,
        &address("Lange Reihe", "20099"),
        &Answers::default(),
    );
    assert_eq!(answers.get("zone"), Some(&Answer::Text("G 1".into())));
}

#[test]
fn no_zone_at_the_address_blocks_the_step_with_a_clear_message() {
    let form = form(ZONE).unwrap();
    let outcome = engine::read_step(
        &form,
        0,
        &address("Bahnhofstraße", "21029"),
        Vec::new(),
        &Action::Next,
        &Answers::default(),
        today(),
    )
    .unwrap();
    assert_eq!(outcome.errors.len(), 1, "{:?}", outcome.errors);
    assert_eq!(outcome.errors[0].input, "zone");
    assert_eq!(outcome.errors[0].message.de, "Kein Bewohnerparkgebiet.");
    assert_eq!(outcome.answers.get("zone"), None);
    // check_all, run before submit, finds it too.
    let (step, errors) = engine::check_all(&form, &outcome.answers, today()).unwrap();
    assert_eq!((step, errors[0].input.as_str()), (0, "zone"));
}

#[test]
fn the_fee_follows_the_chosen_period_and_is_shown_as_money() {
    let form = form(&format!("{ZONE}{FEE}")).unwrap();
    let home = post(
        &form,
        0,
        &address("Osterstraße", "20259"),
        &Answers::default(),
    );
    // Not determined before the period is chosen.
    assert_eq!(home.get("fee"), None);
    let one = Posted::from_pairs([("duration".to_owned(), "one_year".to_owned())]);
    let answers = post(&form, 1, &one, &home);
    assert_eq!(answers.get("fee"), Some(&Answer::Number(65.0)));
    let two = Posted::from_pairs([("duration".to_owned(), "two_years".to_owned())]);
    let answers = post(&form, 1, &two, &answers);
    let fee = answers.get("fee").unwrap();
    assert_eq!(fee, &Answer::Number(130.0));
    let value = form
        .computed
        .iter()
        .find(|c| c.name.as_str() == "fee")
        .unwrap();
    assert_eq!(value.display(fee, Lang::De), "130,00\u{a0}€");
    assert_eq!(value.display(fee, Lang::En), "€130.00");
    // The submission document carries both, in the shape of the schema.
    let doc = answers.to_json();
    assert_eq!(doc["fee"], 130.0);
    assert_eq!(doc["zone"], "E 1");
    let key: ServiceKey = "99108001001000".parse().unwrap();
    let schema = rathaus_forms::schema::submission_schema(&key, "Parken", &form);
    let fee_schema = &schema["properties"]["answers"]["properties"]["fee"];
    assert_eq!(fee_schema["readOnly"], true);
    assert_eq!(fee_schema["multipleOf"], 0.01);
    assert_eq!(
        schema["properties"]["answers"]["properties"]["zone"]["type"],
        "string"
    );
}

#[test]
fn z3_a_computed_value_is_never_taken_from_a_post() {
    let form = form(&format!("{ZONE}{FEE}")).unwrap();
    let home = post(
        &form,
        0,
        &address("Osterstraße", "20259"),
        &Answers::default(),
    );
    let mut tampered = vec![
        ("duration".to_owned(), "two_years".to_owned()),
        ("fee".to_owned(), "0.01".to_owned()),
    ];
    let refused = engine::read_step(
        &form,
        1,
        &Posted::from_pairs(tampered.clone()),
        Vec::new(),
        &Action::Next,
        &home,
        today(),
    );
    assert_eq!(refused.unwrap_err(), PostError::Undeclared("fee".into()));
    tampered[1] = ("zone".to_owned(), "anything".to_owned());
    assert!(
        engine::read_step(
            &form,
            1,
            &Posted::from_pairs(tampered),
            Vec::new(),
            &Action::Next,
            &home,
            today(),
        )
        .is_err()
    );
    // A value smuggled into stored answers is replaced by the computed one.
    let mut answers = home.clone();
    answers.insert("zone", Answer::Text("forged".into()));
    engine::compute(&form, &mut answers, today());
    assert_eq!(answers.get("zone"), Some(&Answer::Text("E 1".into())));
}

#[test]
fn cases_that_do_not_apply_leave_the_value_undetermined() {
    let form = form(FEE).unwrap();
    let value = &form.computed[0];
    let answers = Answers::default();
    let env = AnswerEnv {
        answers: &answers,
        item: None,
        today: today(),
    };
    assert_eq!(value.evaluate(&env), Outcome::Undetermined);
}

#[test]
fn an_expression_value_is_type_checked_when_loaded() {
    let value = |rule: &str, ty: &str| {
        format!(
            r#"
[[form.computed]]
name = "days"
type = "{ty}"
step = "permit"
label = {{ de = "Tage", en = "Days" }}
purpose = {{ de = "Zweck.", en = "Purpose." }}
legal_basis = "§ 1"
value = '{rule}'
"#
        )
    };
    let ok = form(&value("days_between(today(), today() + 14)", "number")).unwrap();
    let answers = {
        let mut a = Answers::default();
        engine::compute(&ok, &mut a, today());
        a
    };
    assert_eq!(answers.get("days"), Some(&Answer::Number(14.0)));
    let wrong = form(&value("duration", "number")).unwrap_err();
    assert!(
        wrong.contains("needs number") && wrong.contains("is text"),
        "{wrong}"
    );
    let unknown = form(&value("len(colour)", "number")).unwrap_err();
    assert!(unknown.contains("unknown name `colour`"), "{unknown}");
}

#[test]
fn r3_a_computed_value_needs_purpose_legal_basis_and_a_known_step() {
    let base = |extra: &str| {
        format!(
            r#"
[[form.computed]]
name = "fee"
type = "money"
label = {{ de = "Gebühr", en = "Fee" }}
{extra}
"#
        )
    };
    let cases = r#"cases = [{ when = 'duration == "one_year"', value = "65.00" }]"#;
    let errors = [
        (
            base(&format!(
                "step = \"permit\"\nlegal_basis = \"§ 1\"\n{cases}"
            )),
            "needs a `purpose`",
        ),
        (
            base(&format!(
                "step = \"permit\"\npurpose = {{ de = \"Z\", en = \"P\" }}\n{cases}"
            )),
            "needs a `legal_basis`",
        ),
        (
            base(&format!(
                "step = \"payment\"\npurpose = {{ de = \"Z\", en = \"P\" }}\nlegal_basis = \"§ 1\"\n{cases}"
            )),
            "names the step \"payment\"",
        ),
        (
            base(
                "step = \"permit\"\npurpose = { de = \"Z\", en = \"P\" }\nlegal_basis = \"§ 1\"\ncases = [{ when = 'duration == \"one_year\"', value = \"sixty\" }]",
            ),
            "not an amount",
        ),
        (
            base(&format!(
                "step = \"permit\"\npurpose = {{ de = \"Z\", en = \"P\" }}\nlegal_basis = \"§ 1\"\n{cases}\nvalue = \"1\""
            )),
            "exactly one of",
        ),
        (
            base(&format!(
                "step = \"home\"\npurpose = {{ de = \"Z\", en = \"P\" }}\nlegal_basis = \"§ 1\"\n{cases}"
            )),
            "unknown name `duration`",
        ),
    ];
    for (source, expected) in errors {
        let error = form(&source).unwrap_err();
        assert!(error.contains(expected), "{expected}: {error}");
        assert!(error.starts_with("services/parking.toml:"), "{error}");
    }
    // The name of a field cannot be reused.
    let clash = form(&ZONE.replace("name = \"zone\"", "name = \"duration\"")).unwrap_err();
    assert!(clash.contains("has the name of a field"), "{clash}");
    // A lookup row must have one pattern per key.
    let short = form(&ZONE.replace("[\"20099\", \"*\"]", "[\"20099\"]")).unwrap_err();
    assert!(short.contains("1 entries in `match`"), "{short}");
}
