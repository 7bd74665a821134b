//! Every route of the portal is added with who may use it, so that the table of routes and
//! their access is complete by construction; a test (`z1_every_route_has_an_authorization_expectation`)
//! compares it with its own expectations and checks each one anonymously.

use std::fmt;

use axum::Router;
use axum::routing::MethodRouter;

use crate::state::PortalState;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Only a signed-in person: pages redirect others to the sign-in page, the API answers 401.
    SignedIn,
    /// Only an operator (`portal.operators`): others are sent to the sign-in page, or, when
    /// signed in, get 404.
    Operator,
}

/// A router under construction plus the table of its routes.
pub(crate) struct Routes {
    router: Router<PortalState>,
    table: Vec<(&'static str, Access)>,
}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routes")
            .field("table", &self.table)
            .finish()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    pub fn public(self, path: &'static str, handler: MethodRouter<PortalState>) -> Self {
        self.add(path, Access::Public, handler)
    }

    pub fn signed_in(self, path: &'static str, handler: MethodRouter<PortalState>) -> Self {
        self.add(path, Access::SignedIn, handler)
    }

    pub fn operator(self, path: &'static str, handler: MethodRouter<PortalState>) -> Self {
        self.add(path, Access::Operator, handler)
    }

    fn add(
        mut self,
        path: &'static str,
        access: Access,
        handler: MethodRouter<PortalState>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.table.push((path, access));
        self
    }

    pub fn table(&self) -> &[(&'static str, Access)] {
        &self.table
    }

    pub fn into_router(self) -> Router<PortalState> {
        self.router
    }
}
