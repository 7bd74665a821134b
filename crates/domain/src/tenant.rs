//! A tenant's directory: its districts, the kinds of authority it has, its authorities and the
//! nodes they run on. It is what turns a service's `authority_kind` into one real authority
//! for a given address (the responsibility finder, "Zuständigkeitsfinder").

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::keys::slug_id;
use crate::lang::Text;
use crate::postcode::Postcode;
use crate::service::{AuthorityKindId, is_web_address};
use crate::source::{Position, SourceError};

slug_id!(
    /// A tenant, for example `hamburg`.
    TenantId
);
slug_id!(
    /// A district of a tenant (Bezirk), for example `altona`.
    DistrictId
);
slug_id!(
    /// An authority (Behörde, Dienststelle), for example `kundenzentrum-altona`.
    AuthorityId
);
slug_id!(
    /// An authority node: a process with its own database that receives applications for the
    /// authorities it hosts.
    NodeId
);

/// Whether a kind of authority exists once per district or once for the whole tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    District,
    Tenant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct District {
    pub id: DistrictId,
    pub name: Text,
    pub postcodes: Vec<Postcode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityKind {
    pub id: AuthorityKindId,
    pub name: Text,
    pub scope: Scope,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    pub street: String,
    pub postcode: Postcode,
    pub city: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    pub id: AuthorityId,
    pub kind: AuthorityKindId,
    /// Set for district-scoped kinds: the district this authority serves.
    #[serde(default)]
    pub district: Option<DistrictId>,
    pub name: Text,
    pub address: PostalAddress,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub opening_hours: Option<Text>,
    pub node: NodeId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: NodeId,
    pub name: Text,
}

/// A validated tenant directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantDirectory {
    pub id: TenantId,
    pub name: Text,
    pub districts: Vec<District>,
    pub authority_kinds: Vec<AuthorityKind>,
    pub authorities: Vec<Authority>,
    pub nodes: Vec<Node>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    id: TenantId,
    name: Text,
    #[serde(default)]
    districts: Vec<Spanned<District>>,
    #[serde(default)]
    authority_kinds: Vec<Spanned<AuthorityKind>>,
    #[serde(default)]
    authorities: Vec<Spanned<Authority>>,
    #[serde(default)]
    nodes: Vec<Spanned<Node>>,
}

impl TenantDirectory {
    /// Parses and cross-checks a tenant file. `file` is only used in error messages.
    pub fn parse(file: &Path, source: &str) -> Result<Self, SourceError> {
        let raw: RawTenant =
            toml::from_str(source).map_err(|e| SourceError::from_toml(file, source, &e))?;
        let fail = |span: std::ops::Range<usize>, message: String| {
            Err(SourceError::new(
                file,
                Some(Position::of_span(source, &span)),
                message,
            ))
        };

        let mut seen = HashSet::new();
        for node in &raw.nodes {
            if !seen.insert(node.get_ref().id.clone()) {
                return fail(
                    node.span(),
                    format!("node `{}` is defined twice", node.get_ref().id),
                );
            }
        }
        let mut district_ids = HashSet::new();
        for district in &raw.districts {
            let d = district.get_ref();
            if !district_ids.insert(d.id.clone()) {
                return fail(
                    district.span(),
                    format!("district `{}` is defined twice", d.id),
                );
            }
            if d.postcodes.is_empty() {
                return fail(
                    district.span(),
                    format!("district `{}` lists no postcodes", d.id),
                );
            }
        }
        let mut kinds = HashMap::new();
        for kind in &raw.authority_kinds {
            let k = kind.get_ref();
            if kinds.insert(k.id.clone(), k.scope).is_some() {
                return fail(
                    kind.span(),
                    format!("authority kind `{}` is defined twice", k.id),
                );
            }
        }

        let mut authority_ids = HashSet::new();
        let mut coverage: HashMap<(AuthorityKindId, Option<DistrictId>), AuthorityId> =
            HashMap::new();
        for authority in &raw.authorities {
            let span = authority.span();
            let a = authority.get_ref();
            if !authority_ids.insert(a.id.clone()) {
                return fail(span, format!("authority `{}` is defined twice", a.id));
            }
            let Some(scope) = kinds.get(&a.kind) else {
                return fail(
                    span,
                    format!(
                        "authority `{}` has the unknown kind `{}`; add it under [[authority_kinds]]",
                        a.id, a.kind
                    ),
                );
            };
            match (scope, &a.district) {
                (Scope::District, None) => {
                    return fail(
                        span,
                        format!(
                            "authority `{}` is of the district-scoped kind `{}` and needs a `district`",
                            a.id, a.kind
                        ),
                    );
                }
                (Scope::Tenant, Some(_)) => {
                    return fail(
                        span,
                        format!(
                            "authority `{}` is of the tenant-wide kind `{}` and must not name a `district`",
                            a.id, a.kind
                        ),
                    );
                }
                (_, Some(district)) if !district_ids.contains(district) => {
                    return fail(
                        span,
                        format!(
                            "authority `{}` names the unknown district `{district}`",
                            a.id
                        ),
                    );
                }
                _ => {}
            }
            if !seen.contains(&a.node) {
                return fail(
                    span,
                    format!(
                        "authority `{}` runs on the unknown node `{}`; add it under [[nodes]]",
                        a.id, a.node
                    ),
                );
            }
            if let Some(url) = &a.website
                && !is_web_address(url)
            {
                return fail(
                    span,
                    format!(
                        "authority `{}` has a website that is not an http(s) address",
                        a.id
                    ),
                );
            }
            for text in [&a.address.street, &a.address.city]
                .into_iter()
                .chain(a.phone.as_ref())
                .chain(a.email.as_ref())
            {
                if text.trim().is_empty() || text.chars().any(char::is_control) || text.len() > 200
                {
                    return fail(
                        span,
                        format!(
                            "authority `{}` has an empty or malformed address or contact field",
                            a.id
                        ),
                    );
                }
            }
            if let Some(other) = coverage.insert((a.kind.clone(), a.district.clone()), a.id.clone())
            {
                return fail(
                    span,
                    format!(
                        "authorities `{other}` and `{}` are both the `{}`{}; responsibility would be ambiguous",
                        a.id,
                        a.kind,
                        a.district
                            .as_ref()
                            .map(|d| format!(" for district `{d}`"))
                            .unwrap_or_default()
                    ),
                );
            }
        }

        Ok(Self {
            id: raw.id,
            name: raw.name,
            districts: raw.districts.into_iter().map(Spanned::into_inner).collect(),
            authority_kinds: raw
                .authority_kinds
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            authorities: raw
                .authorities
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            nodes: raw.nodes.into_iter().map(Spanned::into_inner).collect(),
        })
    }

    pub fn authority(&self, id: &AuthorityId) -> Option<&Authority> {
        self.authorities.iter().find(|a| &a.id == id)
    }

    pub fn kind(&self, id: &AuthorityKindId) -> Option<&AuthorityKind> {
        self.authority_kinds.iter().find(|k| &k.id == id)
    }

    pub fn district(&self, id: &DistrictId) -> Option<&District> {
        self.districts.iter().find(|d| &d.id == id)
    }

    /// The districts a postcode lies in; a postcode on a district border can lie in several.
    pub fn districts_for(&self, postcode: Postcode) -> Vec<&District> {
        self.districts
            .iter()
            .filter(|d| d.postcodes.contains(&postcode))
            .collect()
    }

    pub fn authorities_on(&self, node: &NodeId) -> impl Iterator<Item = &Authority> {
        self.authorities.iter().filter(move |a| &a.node == node)
    }

    /// Postcode → districts, for fast lookups.
    pub fn postcode_index(&self) -> BTreeMap<Postcode, Vec<DistrictId>> {
        let mut index: BTreeMap<Postcode, Vec<DistrictId>> = BTreeMap::new();
        for district in &self.districts {
            for postcode in &district.postcodes {
                index
                    .entry(*postcode)
                    .or_default()
                    .push(district.id.clone());
            }
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = r#"
id = "musterstadt"
name = { de = "Musterstadt", en = "Sample City" }

[[districts]]
id = "nord"
name = { de = "Nord", en = "North" }
postcodes = ["12345", "12346"]

[[districts]]
id = "sued"
name = { de = "Süd", en = "South" }
postcodes = ["12346", "12347"]

[[authority_kinds]]
id = "kundenzentrum"
name = { de = "Kundenzentrum", en = "Customer centre" }
scope = "district"

[[authority_kinds]]
id = "finanzamt"
name = { de = "Finanzamt", en = "Tax office" }
scope = "tenant"

[[nodes]]
id = "bezirke"
name = { de = "Bezirke", en = "Districts" }

[[authorities]]
id = "kz-nord"
kind = "kundenzentrum"
district = "nord"
name = { de = "Kundenzentrum Nord", en = "Customer centre North" }
address = { street = "Hauptstraße 1", postcode = "12345", city = "Musterstadt" }
node = "bezirke"

[[authorities]]
id = "finanzamt"
kind = "finanzamt"
name = { de = "Finanzamt", en = "Tax office" }
address = { street = "Steuerweg 2", postcode = "12347", city = "Musterstadt" }
node = "bezirke"
"#;

    fn parse(src: &str) -> Result<TenantDirectory, SourceError> {
        TenantDirectory::parse(Path::new("tenant.toml"), src)
    }

    #[test]
    fn a_tenant_parses_and_answers_lookups() {
        let tenant = parse(TENANT).unwrap();
        let border: Postcode = "12346".parse().unwrap();
        let names: Vec<_> = tenant
            .districts_for(border)
            .iter()
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(names, ["nord", "sued"]);
        assert_eq!(tenant.postcode_index().len(), 3);
    }

    #[test]
    fn broken_references_name_the_line() {
        let cases = [
            (
                "district = \"nord\"",
                "district = \"west\"",
                "unknown district `west`",
            ),
            (
                "kind = \"finanzamt\"\nname",
                "kind = \"finanzamt\"\ndistrict = \"nord\"\nname",
                "must not name a `district`",
            ),
            (
                "node = \"bezirke\"\n\n[[authorities]]",
                "node = \"rathaus\"\n\n[[authorities]]",
                "unknown node `rathaus`",
            ),
            (
                "kind = \"kundenzentrum\"",
                "kind = \"bauamt\"",
                "unknown kind `bauamt`",
            ),
        ];
        for (from, to, needle) in cases {
            let src = TENANT.replacen(from, to, 1);
            let err = parse(&src).unwrap_err();
            assert!(err.message.contains(needle), "{to}: {err}");
            assert!(err.position.is_some_and(|p| p.line > 25), "{to}: {err}");
        }
    }

    #[test]
    fn two_authorities_for_the_same_place_are_ambiguous() {
        let src = format!(
            "{TENANT}\n[[authorities]]\nid = \"finanzamt-2\"\nkind = \"finanzamt\"\nname = {{ de = \"F\", en = \"F\" }}\naddress = {{ street = \"S\", postcode = \"12347\", city = \"M\" }}\nnode = \"bezirke\"\n"
        );
        let err = parse(&src).unwrap_err();
        assert!(err.message.contains("ambiguous"), "{err}");
    }
}
