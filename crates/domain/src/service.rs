//! Service definitions: one declarative file per service (DESIGN.md R2).
//!
//! The format is documented for service authors in `docs/service-definitions.md`. Parsing is
//! strict: unknown keys, wrong types, empty texts and missing translations are errors that
//! name the line to fix.

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::assurance::AssuranceLevel;
use crate::keys::{ServiceKey, slug_id};
use crate::lang::{Lang, Localized, Text};
use crate::life_situation::LifeSituation;
use crate::money::{Euros, Fee};
use crate::source::{Position, SourceError};

slug_id!(
    /// The kind of authority responsible for a service (for example `kundenzentrum`); a tenant
    /// binds each kind to its own authorities, which is what lets another state reuse a module.
    AuthorityKindId
);

/// The newest definition format this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// Who a service is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceAudience {
    #[default]
    Citizens,
    Businesses,
    Both,
}

/// A law or regulation a service rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalBasis {
    pub title: String,
    pub url: Option<String>,
}

/// Which kind of authority handles the service; the tenant's directory resolves it to one
/// authority per district (or one for the whole tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Responsibility {
    pub authority_kind: AuthorityKindId,
}

/// A further authority that gets its own copy of every application, besides the responsible
/// one (residence registration: the ID card office, for the new address on the card). It is
/// found the way the responsible authority is, from the same address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub authority_kind: AuthorityKindId,
    /// Why this authority receives the application; shown to the citizen before submitting.
    pub purpose: Text,
    #[serde(skip)]
    pub position: Option<Position>,
}

/// At most this many further recipients: each costs an encryption and a delivery per
/// application.
pub const MAX_RECIPIENTS: usize = 5;

/// How long the records of this service's applications are kept (R4, `[retention]`), in days.
/// A period left out falls back to the node's or portal's configured default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Retention {
    /// At the authority node: a decided case is deleted this long after its decision.
    /// Undecided cases are never deleted by the schedule.
    pub case_days: Option<u32>,
    /// At the portal: an application's metadata (reference, status, times) is deleted this
    /// long after its last change, once every copy has reached its authority. Its mailbox
    /// messages go with it at the latest.
    pub record_days: Option<u32>,
    /// At the portal: a mailbox message about an application is deleted this long after it
    /// arrived.
    pub message_days: Option<u32>,
}

/// The longest period a definition may set: 100 years (registers of births and the like are
/// not applications; nothing submitted here needs longer).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// A validated service definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceDefinition {
    pub key: ServiceKey,
    pub name: Text,
    pub summary: Text,
    /// Paragraphs separated by blank lines; plain text, never HTML.
    pub description: Text,
    pub audience: ServiceAudience,
    pub life_situations: Vec<LifeSituation>,
    pub keywords: Localized<Vec<String>>,
    pub assurance_level: AssuranceLevel,
    /// Whether the service can be applied for online in this portal.
    pub online: bool,
    pub fees: Vec<Fee>,
    pub documents: Vec<Text>,
    pub legal_basis: Vec<LegalBasis>,
    pub processing_time: Option<Text>,
    pub responsibility: Option<Responsibility>,
    /// Further authorities receiving every application (`[[recipients]]`); empty for most.
    pub recipients: Vec<Recipient>,
    /// How long applications' records are kept, at the authority and at the portal.
    pub retention: Retention,
    #[serde(skip)]
    pub positions: DefinitionPositions,
}

/// Where parts of the definition stand in its file, for checks that look across files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DefinitionPositions {
    pub key: Option<Position>,
    pub authority_kind: Option<Position>,
    /// Where the `[form]` table starts, if the definition has one.
    pub form: Option<Position>,
}

impl ServiceDefinition {
    /// Parses and validates one definition. `file` is only used in error messages.
    pub fn parse(file: &Path, source: &str) -> Result<Self, SourceError> {
        let raw: RawDefinition =
            toml::from_str(source).map_err(|e| SourceError::from_toml(file, source, &e))?;
        raw.into_definition(file, source)
    }

    pub fn keywords(&self, lang: Lang) -> &[String] {
        self.keywords.get(lang)
    }

    /// The description split into paragraphs at blank lines.
    pub fn paragraphs(&self, lang: Lang) -> impl Iterator<Item = &str> {
        self.description
            .get(lang)
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }
}

// ---- the file format ------------------------------------------------------------------------

const MAX_NAME: usize = 200;
const MAX_SUMMARY: usize = 600;
const MAX_DESCRIPTION: usize = 20_000;
const MAX_KEYWORDS: usize = 60;
const MAX_KEYWORD: usize = 100;
const MAX_LIST: usize = 40;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    #[serde(default = "default_format")]
    format: Spanned<u32>,
    key: Spanned<ServiceKey>,
    name: Spanned<Text>,
    summary: Spanned<Text>,
    description: Spanned<Text>,
    #[serde(default)]
    audience: ServiceAudience,
    life_situations: Spanned<Vec<LifeSituation>>,
    #[serde(default)]
    keywords: Option<Spanned<Localized<Vec<String>>>>,
    assurance_level: AssuranceLevel,
    online: Spanned<bool>,
    #[serde(default)]
    fees: Vec<Spanned<RawFee>>,
    #[serde(default = "empty_spanned")]
    documents: Spanned<Vec<Text>>,
    #[serde(default = "empty_spanned")]
    legal_basis: Spanned<Vec<Spanned<RawLegalBasis>>>,
    #[serde(default)]
    processing_time: Option<Text>,
    #[serde(default)]
    responsibility: Option<RawResponsibility>,
    #[serde(default)]
    recipients: Vec<Spanned<RawRecipient>>,
    #[serde(default)]
    retention: Option<Spanned<RawRetention>>,
    /// The online form; read and checked by the forms engine (`rathaus-forms`), which knows
    /// its format. Here only its presence matters.
    #[serde(default)]
    form: Option<Spanned<serde::de::IgnoredAny>>,
}

fn empty_spanned<T>() -> Spanned<Vec<T>> {
    Spanned::new(0..0, Vec::new())
}

fn default_format() -> Spanned<u32> {
    Spanned::new(0..0, FORMAT_VERSION)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFee {
    label: Text,
    amount: Euros,
    #[serde(default)]
    amount_max: Option<Euros>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLegalBasis {
    title: String,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponsibility {
    authority_kind: Spanned<AuthorityKindId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    #[serde(default)]
    case_days: Option<u32>,
    #[serde(default)]
    record_days: Option<u32>,
    #[serde(default)]
    message_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipient {
    authority_kind: Spanned<AuthorityKindId>,
    purpose: Text,
}

impl RawDefinition {
    fn into_definition(self, file: &Path, source: &str) -> Result<ServiceDefinition, SourceError> {
        let at = |span: std::ops::Range<usize>| Some(Position::of_span(source, &span));
        let fail = |span, message: String| Err(SourceError::new(file, at(span), message));

        if *self.format.get_ref() != FORMAT_VERSION {
            return fail(
                self.format.span(),
                format!(
                    "unsupported definition format {}; this version of rathaus reads format {FORMAT_VERSION}",
                    self.format.get_ref()
                ),
            );
        }
        for (field, text, max) in [
            ("name", &self.name, MAX_NAME),
            ("summary", &self.summary, MAX_SUMMARY),
            ("description", &self.description, MAX_DESCRIPTION),
        ] {
            for lang in Lang::ALL {
                if text.get_ref().get(lang).chars().count() > max {
                    return fail(
                        text.span(),
                        format!("the {lang} {field} is longer than {max} characters"),
                    );
                }
            }
        }
        if self.life_situations.get_ref().is_empty() {
            return fail(
                self.life_situations.span(),
                "name at least one life situation, so people can find the service by browsing"
                    .into(),
            );
        }
        let keywords = match self.keywords {
            Some(keywords) => {
                let span = keywords.span();
                let keywords = keywords.into_inner();
                for lang in Lang::ALL {
                    let list = keywords.get(lang);
                    if list.len() > MAX_KEYWORDS {
                        return fail(span, format!("more than {MAX_KEYWORDS} {lang} keywords"));
                    }
                    if let Some(bad) = list.iter().find(|k| {
                        k.trim().is_empty()
                            || k.chars().count() > MAX_KEYWORD
                            || k.chars().any(char::is_control)
                    }) {
                        return fail(
                            span,
                            format!(
                                "the {lang} keyword {:?} must be 1 to {MAX_KEYWORD} characters without control characters",
                                crate::keys::truncate_for_message(bad)
                            ),
                        );
                    }
                }
                keywords.map(|list| list.iter().map(|k| k.trim().to_owned()).collect())
            }
            None => Localized {
                de: Vec::new(),
                en: Vec::new(),
            },
        };

        let mut fees = Vec::with_capacity(self.fees.len());
        for fee in self.fees {
            let span = fee.span();
            let fee = fee.into_inner();
            if fee.amount_max.is_some_and(|max| max <= fee.amount) {
                return fail(
                    span,
                    "`amount_max` must be larger than `amount` (a fee range goes from amount to amount_max)".into(),
                );
            }
            fees.push(Fee {
                label: fee.label,
                amount: fee.amount,
                amount_max: fee.amount_max,
            });
        }
        if fees.len() > MAX_LIST {
            return fail(0..0, format!("more than {MAX_LIST} fees"));
        }
        if self.documents.get_ref().len() > MAX_LIST {
            return fail(
                self.documents.span(),
                format!("more than {MAX_LIST} documents"),
            );
        }

        let mut legal_basis = Vec::new();
        for basis in self.legal_basis.into_inner() {
            let span = basis.span();
            let basis = basis.into_inner();
            let title = basis.title.trim();
            if title.is_empty() || title.chars().any(char::is_control) || title.len() > 300 {
                return fail(
                    span,
                    "a legal basis needs a title of 1 to 300 characters".into(),
                );
            }
            if let Some(url) = &basis.url
                && !is_web_address(url)
            {
                return fail(
                    span,
                    format!(
                        "the legal basis link {:?} must be an https:// or http:// address without spaces",
                        crate::keys::truncate_for_message(url)
                    ),
                );
            }
            legal_basis.push(LegalBasis {
                title: title.to_owned(),
                url: basis.url,
            });
        }

        let authority_kind_position = self
            .responsibility
            .as_ref()
            .and_then(|r| at(r.authority_kind.span()));
        let responsibility = self.responsibility.map(|r| Responsibility {
            authority_kind: r.authority_kind.into_inner(),
        });
        if *self.online.get_ref() && responsibility.is_none() {
            return fail(
                self.online.span(),
                "a service offered online needs a [responsibility] section naming the authority_kind that receives applications".into(),
            );
        }
        if let Some(form) = &self.form
            && !*self.online.get_ref()
        {
            return fail(
                form.span(),
                "a service with a [form] is offered online: set `online = true`".into(),
            );
        }

        let mut recipients: Vec<Recipient> = Vec::new();
        for raw in self.recipients {
            let span = raw.span();
            let raw = raw.into_inner();
            let kind_span = raw.authority_kind.span();
            let kind = raw.authority_kind.into_inner();
            if !*self.online.get_ref() {
                return fail(
                    span,
                    "[[recipients]] receive online applications: the service needs `online = true`"
                        .into(),
                );
            }
            if recipients.len() == MAX_RECIPIENTS {
                return fail(
                    span,
                    format!("at most {MAX_RECIPIENTS} further [[recipients]] are allowed"),
                );
            }
            if responsibility
                .as_ref()
                .is_some_and(|r| r.authority_kind == kind)
            {
                return fail(
                    kind_span,
                    format!(
                        "`{kind}` is already the responsible authority kind of [responsibility]; a recipient names another kind"
                    ),
                );
            }
            if recipients.iter().any(|r| r.authority_kind == kind) {
                return fail(kind_span, format!("the recipient `{kind}` is named twice"));
            }
            recipients.push(Recipient {
                authority_kind: kind,
                purpose: raw.purpose,
                position: at(kind_span),
            });
        }

        let retention = match self.retention {
            None => Retention::default(),
            Some(raw) => {
                let span = raw.span();
                let raw = raw.into_inner();
                if !*self.online.get_ref() {
                    return fail(
                        span,
                        "[retention] sets how long online applications are kept: the service needs `online = true`".into(),
                    );
                }
                for (name, days) in [
                    ("case_days", raw.case_days),
                    ("record_days", raw.record_days),
                    ("message_days", raw.message_days),
                ] {
                    if days.is_some_and(|d| !(1..=MAX_RETENTION_DAYS).contains(&d)) {
                        return fail(
                            span,
                            format!("`{name}` must be between 1 and {MAX_RETENTION_DAYS} days"),
                        );
                    }
                }
                if let (Some(messages), Some(record)) = (raw.message_days, raw.record_days)
                    && messages > record
                {
                    return fail(
                        span,
                        format!(
                            "`message_days` ({messages}) is longer than `record_days` ({record}): messages are deleted with their application's record at the latest"
                        ),
                    );
                }
                Retention {
                    case_days: raw.case_days,
                    record_days: raw.record_days,
                    message_days: raw.message_days,
                }
            }
        };

        Ok(ServiceDefinition {
            recipients,
            retention,
            positions: DefinitionPositions {
                key: at(self.key.span()),
                authority_kind: authority_kind_position,
                form: self.form.as_ref().and_then(|f| at(f.span())),
            },
            key: self.key.into_inner(),
            name: self.name.into_inner(),
            summary: self.summary.into_inner(),
            description: self.description.into_inner(),
            audience: self.audience,
            life_situations: self.life_situations.into_inner(),
            keywords,
            assurance_level: self.assurance_level,
            online: self.online.into_inner(),
            fees,
            documents: self.documents.into_inner(),
            legal_basis,
            processing_time: self.processing_time,
            responsibility,
        })
    }
}

/// A link a person can follow: `https://` or `http://`, a host, no whitespace or controls.
pub fn is_web_address(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        !rest.is_empty()
            && url.len() <= 2000
            && !rest.starts_with('/')
            && !url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) const EXAMPLE: &str = r#"
key = "local-dog-registration"
name = { de = "Hund anmelden", en = "Register a dog" }
summary = { de = "Melden Sie Ihren Hund zur Hundesteuer an.", en = "Register your dog for dog tax." }
description = { de = "Absatz eins.\n\nAbsatz zwei.", en = "Paragraph one.\n\nParagraph two." }
life_situations = ["pets"]
keywords = { de = ["Hundesteuer"], en = ["dog tax"] }
assurance_level = "basic"
online = true
documents = [{ de = "Nachweis der Haftpflichtversicherung", en = "Proof of liability insurance" }]

[[fees]]
label = { de = "Hundesteuer pro Jahr", en = "Dog tax per year" }
amount = "90.00"

[[legal_basis]]
title = "Hundesteuergesetz"
url = "https://example.org/hundesteuergesetz"

[responsibility]
authority_kind = "finanzamt"
"#;

    fn parse(src: &str) -> Result<ServiceDefinition, SourceError> {
        ServiceDefinition::parse(Path::new("dog.toml"), src)
    }

    #[test]
    fn a_complete_definition_parses() {
        let def = parse(EXAMPLE).unwrap();
        assert_eq!(def.key.to_string(), "local-dog-registration");
        assert_eq!(def.name.get(Lang::En), "Register a dog");
        assert_eq!(
            def.paragraphs(Lang::De).collect::<Vec<_>>(),
            ["Absatz eins.", "Absatz zwei."]
        );
        assert_eq!(def.fees[0].amount.cents(), 9000);
        assert_eq!(
            def.responsibility.unwrap().authority_kind.as_str(),
            "finanzamt"
        );
        assert_eq!(def.positions.key.unwrap().line, 2);
        assert_eq!(def.positions.authority_kind.unwrap().line, 21);
    }

    const RECIPIENT: &str = "\n[[recipients]]\nauthority_kind = \"kasse\"\npurpose = { de = \"Die Kasse bucht die Steuer.\", en = \"The cash office books the tax.\" }\n";

    #[test]
    fn r1_retention_periods_parse_and_default_to_the_configuration() {
        assert_eq!(parse(EXAMPLE).unwrap().retention, Retention::default());
        let def = parse(&format!(
            "{EXAMPLE}\n[retention]\ncase_days = 1825\nrecord_days = 365\nmessage_days = 180\n"
        ))
        .unwrap();
        assert_eq!(
            def.retention,
            Retention {
                case_days: Some(1825),
                record_days: Some(365),
                message_days: Some(180),
            }
        );
        let only_cases = parse(&format!("{EXAMPLE}\n[retention]\ncase_days = 90\n")).unwrap();
        assert_eq!(only_cases.retention.record_days, None);
    }

    #[test]
    fn r1_bad_retention_periods_are_errors_with_their_line() {
        for (table, expected) in [
            ("case_days = 0", "between 1 and"),
            ("record_days = 36501", "between 1 and"),
            (
                "message_days = 400\nrecord_days = 365",
                "longer than `record_days`",
            ),
            ("case_years = 5", "unknown field"),
        ] {
            let err = parse(&format!("{EXAMPLE}\n[retention]\n{table}\n")).unwrap_err();
            assert!(err.message.contains(expected), "{table}: {err}");
            // The [retention] header, or the offending key for a parse error.
            let line = err.position.unwrap().line;
            assert!((23..=24).contains(&line), "{table}: {err}");
        }
        let offline = format!("{EXAMPLE}\n[retention]\ncase_days = 30\n")
            .replace("online = true", "online = false");
        assert!(
            parse(&offline)
                .unwrap_err()
                .message
                .contains("online = true")
        );
    }

    #[test]
    fn without_recipients_the_responsible_authority_is_the_only_one() {
        assert!(parse(EXAMPLE).unwrap().recipients.is_empty());
    }

    #[test]
    fn further_recipients_parse_with_purpose_and_line() {
        let def = parse(&format!("{EXAMPLE}{RECIPIENT}")).unwrap();
        assert_eq!(def.recipients.len(), 1);
        let recipient = &def.recipients[0];
        assert_eq!(recipient.authority_kind.as_str(), "kasse");
        assert_eq!(
            recipient.purpose.get(Lang::En),
            "The cash office books the tax."
        );
        assert_eq!(recipient.position.unwrap().line, 24);
    }

    #[test]
    fn bad_recipients_are_errors_with_their_line() {
        let twice = format!("{EXAMPLE}{RECIPIENT}{RECIPIENT}");
        let err = parse(&twice).unwrap_err();
        assert!(err.message.contains("named twice"), "{err}");
        assert_eq!(err.position.unwrap().line, 28, "{err}");

        let responsible = format!("{EXAMPLE}{}", RECIPIENT.replace("kasse", "finanzamt"));
        let err = parse(&responsible).unwrap_err();
        assert!(err.message.contains("already the responsible"), "{err}");
        assert_eq!(err.position.unwrap().line, 24, "{err}");

        let offline = format!("{EXAMPLE}{RECIPIENT}").replace("online = true", "online = false");
        let err = parse(&offline).unwrap_err();
        assert!(err.message.contains("online = true"), "{err}");

        let no_purpose = format!("{EXAMPLE}\n[[recipients]]\nauthority_kind = \"kasse\"\n");
        let err = parse(&no_purpose).unwrap_err();
        assert!(err.message.contains("purpose"), "{err}");

        let many: String = (0..=MAX_RECIPIENTS)
            .map(|i| RECIPIENT.replace("kasse", &format!("kasse{i}")))
            .collect();
        let err = parse(&format!("{EXAMPLE}{many}")).unwrap_err();
        assert!(err.message.contains("at most"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let src = EXAMPLE.replace("online = true", "online = true\ncolour = \"blue\"");
        let err = parse(&src).unwrap_err();
        assert_eq!(err.position.unwrap().line, 10, "{err}");
        assert!(err.message.contains("colour"), "{err}");
        assert!(err.to_string().starts_with("dog.toml:10:"), "{err}");
    }

    #[test]
    fn wrong_types_and_values_are_errors_with_their_line() {
        let cases = [
            ("online = true", "online = \"yes\"", 9, "bool"),
            (
                "assurance_level = \"basic\"",
                "assurance_level = \"medium\"",
                8,
                "medium",
            ),
            ("[\"pets\"]", "[\"kittens\"]", 6, "unknown life situation"),
            ("\"90.00\"", "\"90,00\"", 14, "two decimals"),
            ("local-dog-registration", "dog", 2, "not a service key"),
            (
                "en = \"Register a dog\"",
                "en = \" \"",
                3,
                "en text is empty",
            ),
            ("de = \"Hund anmelden\", ", "", 3, "missing field `de`"),
        ];
        for (from, to, line, needle) in cases {
            let src = EXAMPLE.replacen(from, to, 1);
            let err = parse(&src).unwrap_err();
            assert_eq!(
                err.position.map(|p| p.line),
                Some(line),
                "{from} -> {to}: {err}"
            );
            assert!(err.message.contains(needle), "{from} -> {to}: {err}");
        }
    }

    #[test]
    fn online_services_need_a_responsible_authority() {
        let src = EXAMPLE.replace("[responsibility]\nauthority_kind = \"finanzamt\"", "");
        let err = parse(&src).unwrap_err();
        assert!(err.message.contains("[responsibility]"), "{err}");
        assert_eq!(err.position.unwrap().line, 9);
    }

    #[test]
    fn fee_ranges_must_rise_and_links_must_be_web_addresses() {
        let src = EXAMPLE.replace(
            "amount = \"90.00\"",
            "amount = \"90.00\"\namount_max = \"10.00\"",
        );
        assert!(parse(&src).unwrap_err().message.contains("amount_max"));
        let src = EXAMPLE.replace(
            "https://example.org/hundesteuergesetz",
            "javascript:alert(1)",
        );
        assert!(parse(&src).unwrap_err().message.contains("https://"));
    }

    #[test]
    fn future_formats_are_refused() {
        let src = format!("format = 2\n{EXAMPLE}");
        let err = parse(&src).unwrap_err();
        assert!(
            err.message.contains("unsupported definition format 2"),
            "{err}"
        );
        assert_eq!(err.position.unwrap().line, 1);
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(src in "\\PC{0,400}") {
            let _ = parse(&src);
        }

        #[test]
        fn mutating_a_valid_definition_never_panics(at in 0usize..700, insert in "\\PC{0,8}") {
            let mut src = EXAMPLE.to_owned();
            let at = (0..=at.min(src.len())).rev().find(|i| src.is_char_boundary(*i)).unwrap_or(0);
            src.insert_str(at, &insert);
            let _ = parse(&src);
        }
    }
}
