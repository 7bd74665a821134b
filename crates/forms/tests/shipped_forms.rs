#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every shipped service definition's form parses and passes every check.

use std::path::Path;

#[test]
fn every_shipped_form_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services");
    let mut errors = Vec::new();
    let mut forms = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        match rathaus_forms::parse_form(&path, &source) {
            Ok(Some(_)) => forms += 1,
            Ok(None) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(forms >= 1, "no shipped service has a form");
}

#[test]
fn the_responsible_address_names_an_address_field() {
    let form = |name: &str| {
        format!(
            r#"
[form]
declaration = {{ de = "Ich versichere es.", en = "I confirm it." }}
responsible_address = "{name}"

[[form.steps]]
id = "plot"
title = {{ de = "Das Grundstück", en = "The plot" }}

[[form.steps.fields]]
name = "plot_address"
type = "address"
label = {{ de = "Anschrift des Grundstücks", en = "Address of the plot" }}
required = true
purpose = {{ de = "Die Lage bestimmt die Bauaufsicht.", en = "The location decides the authority." }}
legal_basis = "§ 68 HBauO"

[[form.steps.fields]]
name = "plot_district"
type = "text"
label = {{ de = "Gemarkung", en = "Cadastral district" }}
purpose = {{ de = "Bezeichnet das Grundstück.", en = "Identifies the plot." }}
legal_basis = "§ 68 HBauO"
"#
        )
    };
    let path = Path::new("services/plot.toml");
    let parsed = rathaus_forms::parse_form(path, &form("plot_address"))
        .unwrap()
        .unwrap();
    assert_eq!(
        parsed.responsible_address.as_ref().map(|n| n.as_str()),
        Some("plot_address")
    );
    for wrong in ["plot_district", "plot_adress"] {
        let error = rathaus_forms::parse_form(path, &form(wrong))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`responsible_address`") && error.contains(wrong),
            "{error}"
        );
    }
}
