//! The JSON Schema (2020-12) of a service's submission document, derived from its definition
//! and published at `/api/v1/services/{key}/schema`, so an authority's software can check what
//! it receives.

use rathaus_domain::ServiceKey;
use serde_json::{Map, Value as Json, json};

use crate::computed::ComputedType;
use crate::definition::{Field, FieldKind, FormDefinition, Requirement};

/// The schema of the whole submission document of `key`.
pub fn submission_schema(key: &ServiceKey, name: &str, form: &FormDefinition) -> Json {
    let fields: Vec<&Field> = form.steps.iter().flat_map(|s| &s.fields).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("urn:rathaus:service:{key}:submission"),
        "title": name,
        "type": "object",
        "additionalProperties": false,
        "required": ["format", "service", "reference", "submitted_at", "language", "answers", "attachments", "verified"],
        "properties": {
            "format": { "const": crate::document::FORMAT },
            "service": {
                "type": "object",
                "additionalProperties": false,
                "required": ["key", "name"],
                "properties": {
                    "key": { "const": key.to_string() },
                    "name": { "type": "string" }
                }
            },
            "reference": { "type": "string", "pattern": "^[A-Z0-9-]{8,40}$" },
            "submitted_at": { "type": "string", "format": "date-time" },
            "language": { "enum": ["de", "en"] },
            "answers": with_computed(object_of(&fields), form),
            "attachments": { "type": "array", "items": file_schema() },
            "verified": verified_schema(form)
        }
    })
}

/// Fields that are always required are required here; fields required only under a
/// condition, or shown only under one, are optional in the schema.
fn object_of(fields: &[&Field]) -> Json {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields {
        let mut schema = field_schema(field);
        if let Json::Object(object) = &mut schema {
            object.insert("title".into(), Json::String(field.label.de().to_owned()));
            object.insert(
                "description".into(),
                Json::String(format!(
                    "{} — Rechtsgrundlage: {}",
                    field.purpose.de(),
                    field.legal_basis
                )),
            );
        }
        properties.insert(field.name.to_string(), schema);
        if matches!(field.required, Requirement::Required) && field.when.is_none() {
            required.push(Json::String(field.name.to_string()));
        }
    }
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

fn field_schema(field: &Field) -> Json {
    match &field.kind {
        FieldKind::Text { max_length, .. } | FieldKind::LongText { max_length } => {
            json!({ "type": "string", "minLength": 1, "maxLength": max_length })
        }
        FieldKind::Number {
            min, max, decimals, ..
        } => {
            let mut schema = Map::new();
            schema.insert(
                "type".into(),
                Json::String(if *decimals == 0 { "integer" } else { "number" }.into()),
            );
            if let Some(min) = min {
                schema.insert("minimum".into(), json!(min));
            }
            if let Some(max) = max {
                schema.insert("maximum".into(), json!(max));
            }
            Json::Object(schema)
        }
        FieldKind::Date { .. } | FieldKind::DateOfBirth => {
            json!({ "type": "string", "format": "date" })
        }
        FieldKind::YesNo => json!({ "type": "boolean" }),
        FieldKind::Choice { options } => {
            json!({ "enum": options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>() })
        }
        FieldKind::MultiChoice { options, min, max } => json!({
            "type": "array",
            "uniqueItems": true,
            "minItems": (*min).max(1),
            "maxItems": max,
            "items": { "enum": options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>() }
        }),
        FieldKind::Email => json!({ "type": "string", "format": "email" }),
        FieldKind::Phone => json!({ "type": "string", "pattern": "^[0-9 +()/-]{5,40}$" }),
        FieldKind::Postcode => json!({ "type": "string", "pattern": "^[0-9]{5}$" }),
        FieldKind::Iban => {
            json!({ "type": "string", "pattern": "^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$" })
        }
        FieldKind::Address | FieldKind::PersonName => {
            let parts = field.kind.parts();
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": parts,
                "properties": parts.iter().map(|p| ((*p).to_owned(), json!({ "type": "string", "minLength": 1 }))).collect::<Map<_, _>>()
            })
        }
        FieldKind::File { max_files, .. } => json!({
            "type": "array",
            "minItems": 1,
            "maxItems": max_files,
            "items": file_schema()
        }),
        FieldKind::Group {
            fields,
            min_items,
            max_items,
            ..
        } => {
            let inner: Vec<&Field> = fields.iter().collect();
            json!({
                "type": "array",
                "minItems": min_items,
                "maxItems": max_items,
                "items": object_of(&inner)
            })
        }
    }
}

/// Which answers came verified from an identity check: only fields that declare `prefill`.
fn verified_schema(form: &FormDefinition) -> Json {
    let mark = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["source", "verified_at"],
        "properties": {
            "source": { "enum": ["eid", "counter", "account"] },
            "verified_at": { "type": "string", "format": "date-time" }
        }
    });
    let properties: Map<String, Json> = form
        .fields()
        .filter(|(_, f)| f.prefill.is_some())
        .map(|(_, f)| (f.name.to_string(), mark.clone()))
        .collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
    })
}

/// Computed values travel with the answers; the portal works them out, so they are
/// `readOnly` and never required (a value can be undetermined, a lookup can find nothing).
fn with_computed(mut answers: Json, form: &FormDefinition) -> Json {
    if let Some(properties) = answers.get_mut("properties").and_then(Json::as_object_mut) {
        for value in &form.computed {
            let mut schema = match value.ty {
                ComputedType::Text => json!({ "type": "string", "minLength": 1 }),
                ComputedType::Number => json!({ "type": "number" }),
                ComputedType::Money => {
                    json!({ "type": "number", "minimum": 0, "multipleOf": 0.01 })
                }
            };
            if let Json::Object(object) = &mut schema {
                object.insert("title".into(), Json::String(value.label.de().to_owned()));
                object.insert(
                    "description".into(),
                    Json::String(format!(
                        "Vom Portal berechnet{}. {} — Rechtsgrundlage: {}",
                        if value.ty == ComputedType::Money {
                            " (Euro)"
                        } else {
                            ""
                        },
                        value.purpose.de(),
                        value.legal_basis
                    )),
                );
                object.insert("readOnly".into(), Json::Bool(true));
            }
            properties.insert(value.name.to_string(), schema);
        }
    }
    answers
}

fn file_schema() -> Json {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "name", "media_type", "size", "sha256"],
        "properties": {
            "id": { "type": "string", "format": "uuid" },
            "name": { "type": "string" },
            "media_type": { "enum": ["application/pdf", "image/png", "image/jpeg", "image/tiff", "application/zip"] },
            "size": { "type": "integer", "minimum": 1 },
            "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$" }
        }
    })
}
