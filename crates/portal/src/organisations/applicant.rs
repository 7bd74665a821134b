//! Applying in an organisation's name: for a service whose audience includes businesses, the
//! review page lets a member of business accounts choose for whom the application is made.
//! The choice is checked against the account's memberships again at submit, so a posted id of
//! an organisation the account does not belong to is refused, never stored.

use rathaus_domain::{OrganisationId, OrganisationName, ServiceAudience};
use rathaus_store::StoreError;

use super::texts::{OrganisationTexts, texts};
use crate::accounts::AuthUser;
use crate::applications::OnlineService;
use crate::state::PortalState;

/// The value of the choice "for myself".
pub(crate) const MYSELF: &str = "self";

#[derive(Debug)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// The choice on the review page: empty when the service is for citizens only or the account
/// belongs to no organisation (then nothing is shown and the application is the person's).
#[derive(Debug, Default)]
pub(crate) struct Applicants {
    pub choices: Vec<Choice>,
    pub texts: Option<&'static OrganisationTexts>,
}

fn for_businesses(service: &OnlineService) -> bool {
    matches!(
        service.definition.audience,
        ServiceAudience::Businesses | ServiceAudience::Both
    )
}

/// The choices for the review page, `selected` (a posted value) checked, else "myself".
pub(crate) async fn choices(
    state: &PortalState,
    user: &AuthUser,
    service: &OnlineService,
    lang: rathaus_domain::Lang,
    selected: &str,
) -> Result<Applicants, StoreError> {
    if !for_businesses(service) {
        return Ok(Applicants::default());
    }
    let memberships = state.store.organisations_of(&user.account.id).await?;
    if memberships.is_empty() {
        return Ok(Applicants::default());
    }
    let o = texts(lang);
    let mut choices = vec![Choice {
        value: MYSELF.to_owned(),
        label: o.applicant_self.to_owned(),
        checked: true,
    }];
    for m in memberships {
        let value = m.organisation.id.to_string();
        let checked = value == selected;
        choices[0].checked &= !checked;
        choices.push(Choice {
            value,
            label: m.organisation.name.as_str().to_owned(),
            checked,
        });
    }
    Ok(Applicants {
        choices,
        texts: Some(o),
    })
}

/// What was chosen at submit: `Ok(None)` for the person, `Ok(Some(..))` for an organisation the
/// account is a member of now, `Err(())` for anything else (a tampered or stale form).
pub(crate) async fn chosen(
    state: &PortalState,
    user: &AuthUser,
    service: &OnlineService,
    posted: &str,
) -> Result<Result<Option<(OrganisationId, OrganisationName)>, ()>, StoreError> {
    if posted.is_empty() || posted == MYSELF {
        return Ok(Ok(None));
    }
    if !for_businesses(service) {
        return Ok(Err(()));
    }
    let Ok(id) = posted.parse::<OrganisationId>() else {
        return Ok(Err(()));
    };
    Ok(
        match state.store.membership_of(&id, &user.account.id).await? {
            Some(m) => Ok(Some((m.organisation.id, m.organisation.name))),
            None => Err(()),
        },
    )
}
