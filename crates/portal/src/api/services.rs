//! Catalogue search, service details and the responsibility finder as JSON.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use rathaus_catalog::{Entry, Responsible, find_responsible};
use rathaus_domain::{Lang, LifeSituation, Postcode, ServiceKey};
use rathaus_web::ApiError;
use serde::Serialize;

use crate::params::Params;
use crate::state::PortalState;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
const MAX_OFFSET: usize = 10_000;

#[derive(Debug, Serialize)]
pub struct ServiceList {
    pub total: usize,
    pub items: Vec<ServiceItem>,
    pub facets: Vec<Facet>,
}

#[derive(Debug, Serialize)]
pub struct ServiceItem {
    pub id: String,
    pub name: String,
    /// The language `name` is written in; catalogue-only entries are German only.
    pub name_lang: Lang,
    pub summary: Option<String>,
    pub online: bool,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct Facet {
    pub life_situation: &'static str,
    pub name: &'static str,
    pub count: usize,
}

fn item(entry: &Entry, lang: Lang) -> ServiceItem {
    let name = entry.name(lang);
    ServiceItem {
        id: entry.key.to_string(),
        name: name.text.to_owned(),
        name_lang: name.lang,
        summary: entry.summary(lang).map(str::to_owned),
        online: entry.online(),
        url: format!("/services/{}?lang={}", entry.key, lang.code()),
    }
}

fn lang_param(params: &Params) -> Result<Lang, ApiError> {
    match params.get("lang") {
        None | Some("") => Ok(Lang::De),
        Some(raw) => raw
            .parse()
            .map_err(|_| ApiError::invalid_parameter("lang", "use `de` or `en`")),
    }
}

fn number_param(
    params: &Params,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match params.get(name).map(str::trim) {
        None | Some("") => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                ApiError::invalid_parameter(name, format!("use a whole number from 0 to {max}"))
            }),
    }
}

/// `GET /api/v1/services?q=&lang=&life_situation=&limit=&offset=`
pub async fn list(
    State(state): State<PortalState>,
    RawQuery(query): RawQuery,
) -> Result<Json<ServiceList>, ApiError> {
    let params = Params::parse(query.as_deref());
    let lang = lang_param(&params)?;
    let limit = number_param(&params, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let offset = number_param(&params, "offset", 0, MAX_OFFSET)?;
    let life_situation = params.life_situation().map_err(|_| {
        ApiError::invalid_parameter(
            "life_situation",
            "unknown life situation; see /api/v1/life-situations",
        )
    })?;
    let results = crate::search::search(
        &state,
        params.get("q").unwrap_or_default(),
        lang,
        life_situation,
        offset,
        limit,
    )
    .await
    .map_err(|_| ApiError::TooManyRequests {
        retry_after_secs: 1,
    })?;
    Ok(Json(ServiceList {
        total: results.total,
        items: results.items.iter().map(|e| item(e, lang)).collect(),
        facets: results
            .facets
            .iter()
            .map(|(ls, count)| Facet {
                life_situation: ls.slug(),
                name: ls.name(lang),
                count: *count,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize)]
pub struct ServiceDetail {
    pub id: String,
    pub name: String,
    pub name_lang: Lang,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub online: bool,
    pub assurance_level: Option<&'static str>,
    pub life_situations: Vec<&'static str>,
    pub fees: Vec<FeeDetail>,
    pub documents: Vec<String>,
    pub legal_basis: Vec<LawDetail>,
    pub processing_time: Option<String>,
    pub authority_kind: Option<String>,
    pub leika: Option<LeikaDetail>,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct FeeDetail {
    pub label: String,
    pub amount: String,
    pub amount_max: Option<String>,
    pub currency: &'static str,
}

#[derive(Debug, Serialize)]
pub struct LawDetail {
    pub title: String,
    pub url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LeikaDetail {
    pub key: String,
    pub name: String,
    pub ozg_service: String,
    pub topic: String,
}

fn parse_id(raw: Result<Path<String>, PathRejection>) -> Result<ServiceKey, ApiError> {
    let Path(raw) = raw.map_err(|_| ApiError::bad_request("the service id is not valid text"))?;
    raw.parse().map_err(|e: rathaus_domain::keys::KeyError| {
        ApiError::invalid_parameter("id", e.to_string())
    })
}

/// `GET /api/v1/services/{id}?lang=`
pub async fn detail(
    State(state): State<PortalState>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<ServiceDetail>, ApiError> {
    let params = Params::parse(query.as_deref());
    let lang = lang_param(&params)?;
    let key = parse_id(id)?;
    let entry = state
        .catalog
        .get(&key)
        .ok_or_else(|| ApiError::not_found(format!("no service with id {key}")))?;
    let def = entry.definition.as_deref();
    let name = entry.name(lang);
    let legal_basis = match (def, entry.record.as_deref()) {
        (Some(d), _) if !d.legal_basis.is_empty() => d
            .legal_basis
            .iter()
            .map(|l| LawDetail {
                title: l.title.clone(),
                url: l.url.clone(),
            })
            .collect(),
        (_, Some(r)) => r
            .legal_basis
            .iter()
            .map(|l| LawDetail {
                title: l.title.clone(),
                url: l.url.clone(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Json(ServiceDetail {
        id: entry.key.to_string(),
        name: name.text.to_owned(),
        name_lang: name.lang,
        summary: entry.summary(lang).map(str::to_owned),
        description: def.map(|d| d.description.get(lang).to_owned()),
        online: entry.online(),
        assurance_level: entry.assurance_level().map(|l| l.as_str()),
        life_situations: entry.life_situations().iter().map(|ls| ls.slug()).collect(),
        fees: def
            .map(|d| {
                d.fees
                    .iter()
                    .map(|f| FeeDetail {
                        label: f.label.get(lang).to_owned(),
                        amount: f.amount.to_string(),
                        amount_max: f.amount_max.map(|a| a.to_string()),
                        currency: "EUR",
                    })
                    .collect()
            })
            .unwrap_or_default(),
        documents: def
            .map(|d| d.documents.iter().map(|t| t.get(lang).to_owned()).collect())
            .unwrap_or_default(),
        legal_basis,
        processing_time: def
            .and_then(|d| d.processing_time.as_ref())
            .map(|t| t.get(lang).to_owned()),
        authority_kind: def
            .and_then(|d| d.responsibility.as_ref())
            .map(|r| r.authority_kind.to_string()),
        leika: entry.record.as_deref().map(|r| LeikaDetail {
            key: r.key.to_string(),
            name: r.name.clone(),
            ozg_service: r.ozg_service.clone(),
            topic: r.topic.clone(),
        }),
        url: format!("/services/{}?lang={}", entry.key, lang.code()),
    }))
}

#[derive(Debug, Serialize)]
pub struct ResponsibilityAnswer {
    pub service: String,
    pub postcode: String,
    /// `found`, `outside_area`, `not_recorded` or `not_offered`.
    pub status: &'static str,
    pub authorities: Vec<AuthorityDetail>,
}

#[derive(Debug, Serialize)]
pub struct AuthorityDetail {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub district: Option<DistrictDetail>,
    pub address: AddressDetail,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub opening_hours: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DistrictDetail {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct AddressDetail {
    pub street: String,
    pub postcode: String,
    pub city: String,
}

/// `GET /api/v1/responsibility?service={id}&postcode={plz}&lang=`
pub async fn responsibility(
    State(state): State<PortalState>,
    RawQuery(query): RawQuery,
) -> Result<Json<ResponsibilityAnswer>, ApiError> {
    let params = Params::parse(query.as_deref());
    let lang = lang_param(&params)?;
    let service: ServiceKey = params
        .get("service")
        .ok_or_else(|| ApiError::invalid_parameter("service", "required: the service id"))?
        .parse()
        .map_err(|e: rathaus_domain::keys::KeyError| {
            ApiError::invalid_parameter("service", e.to_string())
        })?;
    let postcode: Postcode = params
        .get("postcode")
        .ok_or_else(|| {
            ApiError::invalid_parameter("postcode", "required: a German postcode with five digits")
        })?
        .parse()
        .map_err(|e: rathaus_domain::postcode::InvalidPostcode| {
            ApiError::invalid_parameter("postcode", e.to_string())
        })?;
    let entry = state
        .catalog
        .get(&service)
        .ok_or_else(|| ApiError::not_found(format!("no service with id {service}")))?;
    let rule = entry
        .definition
        .as_deref()
        .and_then(|d| d.responsibility.as_ref());
    let (status, authorities) = match find_responsible(&state.tenant, rule, postcode) {
        Responsible::Found(found) => (
            "found",
            found
                .into_iter()
                .map(|f| AuthorityDetail {
                    id: f.authority.id.to_string(),
                    name: f.authority.name.get(lang).to_owned(),
                    kind: f.authority.kind.to_string(),
                    district: f.district.map(|d| DistrictDetail {
                        id: d.id.to_string(),
                        name: d.name.get(lang).to_owned(),
                    }),
                    address: AddressDetail {
                        street: f.authority.address.street.clone(),
                        postcode: f.authority.address.postcode.to_string(),
                        city: f.authority.address.city.clone(),
                    },
                    phone: f.authority.phone.clone(),
                    email: f.authority.email.clone(),
                    website: f.authority.website.clone(),
                    opening_hours: f
                        .authority
                        .opening_hours
                        .as_ref()
                        .map(|t| t.get(lang).to_owned()),
                })
                .collect(),
        ),
        Responsible::OutsideArea => ("outside_area", Vec::new()),
        Responsible::NotRecorded => ("not_recorded", Vec::new()),
        Responsible::NotOffered => ("not_offered", Vec::new()),
    };
    Ok(Json(ResponsibilityAnswer {
        service: service.to_string(),
        postcode: postcode.to_string(),
        status,
        authorities,
    }))
}

#[derive(Debug, Serialize)]
pub struct LifeSituationItem {
    pub id: &'static str,
    pub name: &'static str,
    pub audience: rathaus_domain::Audience,
    pub count: usize,
}

/// `GET /api/v1/life-situations?lang=`
pub async fn life_situations(
    State(state): State<PortalState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<LifeSituationItem>>, ApiError> {
    let lang = lang_param(&Params::parse(query.as_deref()))?;
    let counts = state.catalog.life_situation_counts();
    Ok(Json(
        LifeSituation::ALL
            .iter()
            .map(|ls| LifeSituationItem {
                id: ls.slug(),
                name: ls.name(lang),
                audience: ls.audience(),
                count: counts.iter().find(|(l, _)| l == ls).map_or(0, |(_, c)| *c),
            })
            .collect(),
    ))
}

/// `GET /api/v1/services/{id}/schema`: the JSON Schema of the submission document an
/// authority receives for this service, derived from its form definition.
pub async fn schema(
    State(state): State<PortalState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::response::Response, ApiError> {
    let key = parse_id(id)?;
    let entry = state
        .catalog
        .get(&key)
        .ok_or_else(|| ApiError::not_found(format!("no service with id {key}")))?;
    let (Some(definition), Some(form)) = (entry.definition.as_deref(), entry.form.as_deref())
    else {
        return Err(ApiError::not_found(format!(
            "the service {key} has no online form, so it has no submission schema"
        )));
    };
    let schema = rathaus_forms::schema::submission_schema(&key, definition.name.de(), form);
    let mut response = axum::response::IntoResponse::into_response(Json(schema));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/schema+json"),
    );
    Ok(response)
}
