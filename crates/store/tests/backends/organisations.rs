//! Business accounts on every backend: members and roles, invitations, the last owner, the
//! applications made in an organisation's name, and what deleting an account does to them.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, Email, OrganisationId, OrganisationName, OrganisationRole};
use rathaus_store::organisations::{Acceptance, MemberChange, NewInvitation};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{NewApplication, Store};

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

async fn account(store: &dyn Store, address: &str) -> AccountId {
    let id = AccountId::random();
    store
        .create_account(id, &Email::parse(address).unwrap(), "$argon2id$x", t(0))
        .await
        .unwrap();
    id
}

fn invitation(org: OrganisationId, token: &str, to: &str, role: OrganisationRole) -> NewInvitation {
    NewInvitation {
        id: uuid::Uuid::new_v4(),
        token_hash: token.to_owned(),
        organisation: org,
        email: Email::parse(to).unwrap(),
        role,
        created_at: t(1),
        expires_at: t(1) + Duration::days(14),
    }
}

pub(crate) async fn organisations_keep_an_owner_and_invitations_fit_one_address(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let store = store.as_ref();
    let anna = account(store, "anna@example.org").await;
    let bob = account(store, "Bob@Example.org").await;
    let carl = account(store, "carl@example.org").await;
    let org = OrganisationId::random();
    let name = OrganisationName::parse("Bäckerei Müller GmbH").unwrap();
    store
        .create_organisation(&org, &name, &anna, t(0))
        .await
        .unwrap();

    let mine = store.organisations_of(&anna).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].organisation.name, name);
    assert_eq!(mine[0].role, OrganisationRole::Owner);
    assert!(store.membership_of(&org, &bob).await.unwrap().is_none());
    assert!(store.organisations_of(&bob).await.unwrap().is_empty());

    // An invitation is for an address (in any case), single-use, and replaced by a new one.
    assert!(
        store
            .invite_member(&invitation(
                org,
                "old",
                "bob@example.org",
                OrganisationRole::Owner
            ))
            .await
            .unwrap()
    );
    assert!(
        store
            .invite_member(&invitation(
                org,
                "new",
                "BOB@example.org",
                OrganisationRole::Member
            ))
            .await
            .unwrap()
    );
    assert!(
        !store
            .invite_member(&invitation(
                OrganisationId::random(),
                "x",
                "bob@example.org",
                OrganisationRole::Member
            ))
            .await
            .unwrap()
    );
    let open = store.open_invitations(&org, t(2)).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].role, OrganisationRole::Member);
    assert!(store.invitation("old", t(2)).await.unwrap().is_none());
    let carl_email = Email::parse("carl@example.org").unwrap();
    let bob_email = Email::parse("Bob@Example.org").unwrap();
    assert_eq!(
        store
            .accept_invitation("new", &carl, &carl_email, t(2))
            .await
            .unwrap(),
        Acceptance::OtherAddress
    );
    assert_eq!(
        store
            .accept_invitation("new", &bob, &bob_email, t(2))
            .await
            .unwrap(),
        Acceptance::Joined {
            organisation: org,
            role: OrganisationRole::Member
        }
    );
    assert_eq!(
        store
            .accept_invitation("new", &bob, &bob_email, t(3))
            .await
            .unwrap(),
        Acceptance::Invalid
    );
    let members = store.organisation_members(&org).await.unwrap();
    assert_eq!(
        members
            .iter()
            .map(|m| (m.account_id, m.role))
            .collect::<Vec<_>>(),
        vec![
            (anna, OrganisationRole::Owner),
            (bob, OrganisationRole::Member)
        ]
    );

    // Expired and withdrawn invitations do nothing.
    store
        .invite_member(&invitation(
            org,
            "late",
            "carl@example.org",
            OrganisationRole::Member,
        ))
        .await
        .unwrap();
    assert_eq!(
        store
            .accept_invitation("late", &carl, &carl_email, t(1) + Duration::days(14))
            .await
            .unwrap(),
        Acceptance::Invalid
    );
    let withdrawn = invitation(
        org,
        "withdrawn",
        "carl@example.org",
        OrganisationRole::Member,
    );
    store.invite_member(&withdrawn).await.unwrap();
    assert!(
        !store
            .revoke_invitation(&OrganisationId::random(), withdrawn.id)
            .await
            .unwrap()
    );
    assert!(store.revoke_invitation(&org, withdrawn.id).await.unwrap());
    assert_eq!(
        store
            .accept_invitation("withdrawn", &carl, &carl_email, t(2))
            .await
            .unwrap(),
        Acceptance::Invalid
    );

    // The last owner can neither leave nor be demoted; with a second owner both work.
    assert_eq!(
        store.remove_member(&org, &anna).await.unwrap(),
        MemberChange::LastOwner
    );
    assert_eq!(
        store
            .set_member_role(&org, &anna, OrganisationRole::Member)
            .await
            .unwrap(),
        MemberChange::LastOwner
    );
    assert_eq!(
        store.sole_owned_organisations(&anna).await.unwrap().len(),
        1
    );
    assert_eq!(
        store
            .set_member_role(&org, &bob, OrganisationRole::Owner)
            .await
            .unwrap(),
        MemberChange::Done
    );
    assert!(
        store
            .sole_owned_organisations(&anna)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .set_member_role(&org, &anna, OrganisationRole::Member)
            .await
            .unwrap(),
        MemberChange::Done
    );
    assert_eq!(
        store.remove_member(&org, &carl).await.unwrap(),
        MemberChange::NotMember
    );
    assert_eq!(
        store
            .remove_member(&OrganisationId::random(), &anna)
            .await
            .unwrap(),
        MemberChange::NotMember
    );
    assert_eq!(
        store.remove_member(&org, &anna).await.unwrap(),
        MemberChange::Done
    );
    assert!(store.membership_of(&org, &anna).await.unwrap().is_none());
}

pub(crate) async fn applications_in_an_organisations_name_are_listed_for_it(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let store = store.as_ref();
    let anna = account(store, "anna@example.org").await;
    let org = OrganisationId::random();
    let name = OrganisationName::parse("Imbiss am Markt").unwrap();
    store
        .create_organisation(&org, &name, &anna, t(0))
        .await
        .unwrap();
    for (reference, organisation) in [("MU-1", Some((org, name.clone()))), ("MU-2", None)] {
        store
            .submit_application(&NewApplication {
                reference: reference.to_owned(),
                submission_id: uuid::Uuid::new_v4(),
                account: anna,
                service_key: "food-business-registration".to_owned(),
                submitted_at: t(5),
                deliveries: Vec::new(),
                organisation,
                receipt: None,
            })
            .await
            .unwrap();
    }
    let listed = store.organisation_applications(&org).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].application.reference, "MU-1");
    assert_eq!(
        listed[0].application.organisation.as_deref(),
        Some("Imbiss am Markt")
    );
    assert_eq!(
        listed[0].submitted_by.as_ref().map(Email::as_str),
        Some("anna@example.org")
    );
    let own = store.applications(&anna).await.unwrap();
    assert_eq!(own.iter().filter(|a| a.organisation.is_some()).count(), 1);

    // The only member's account goes: so does the organisation; the application stays with
    // its own rules (here: no delivery under way, so it goes too).
    store.delete_account(&anna).await.unwrap().unwrap();
    assert!(
        store
            .organisation_applications(&org)
            .await
            .unwrap()
            .is_empty()
    );
    let again = invitation(org, "after", "bob@example.org", OrganisationRole::Member);
    assert!(
        !store.invite_member(&again).await.unwrap(),
        "the organisation is gone"
    );
}
