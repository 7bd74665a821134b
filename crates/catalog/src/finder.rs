//! The responsibility finder (Zuständigkeitsfinder): which authority handles a service for an
//! address. Resolved in memory from the tenant's directory; no personal data is stored.

use rathaus_domain::service::Responsibility;
use rathaus_domain::tenant::{Authority, District, Scope};
use rathaus_domain::{Postcode, TenantDirectory};

/// The finder's answer for one service and postcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Responsible<'a> {
    /// The responsible authority; several when the postcode lies in several districts.
    Found(Vec<Found<'a>>),
    /// The postcode is not in this tenant's area.
    OutsideArea,
    /// The service names no responsible authority (national catalogue entries without a
    /// definition, for example).
    NotRecorded,
    /// The service names a kind of authority this tenant does not have.
    NotOffered,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    /// The district the postcode lies in; `None` for authorities serving the whole tenant.
    pub district: Option<&'a District>,
    pub authority: &'a Authority,
}

pub fn find_responsible<'a>(
    tenant: &'a TenantDirectory,
    responsibility: Option<&Responsibility>,
    postcode: Postcode,
) -> Responsible<'a> {
    let districts = tenant.districts_for(postcode);
    if districts.is_empty() {
        return Responsible::OutsideArea;
    }
    let Some(responsibility) = responsibility else {
        return Responsible::NotRecorded;
    };
    let Some(kind) = tenant.kind(&responsibility.authority_kind) else {
        return Responsible::NotOffered;
    };
    let of_kind = |district: Option<&District>| {
        tenant
            .authorities
            .iter()
            .find(|a| a.kind == kind.id && a.district.as_ref() == district.map(|d| &d.id))
    };
    let found: Vec<Found<'a>> = match kind.scope {
        Scope::Tenant => of_kind(None)
            .map(|authority| Found {
                district: None,
                authority,
            })
            .into_iter()
            .collect(),
        Scope::District => districts
            .into_iter()
            .filter_map(|district| {
                of_kind(Some(district)).map(|authority| Found {
                    district: Some(district),
                    authority,
                })
            })
            .collect(),
    };
    if found.is_empty() {
        Responsible::NotOffered
    } else {
        Responsible::Found(found)
    }
}
