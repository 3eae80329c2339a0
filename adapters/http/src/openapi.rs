//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the
//! types in [`schema`].

use crate::api::{accounts, feed, index, jobs, members, session, tokens};
use std::sync::OnceLock;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tally",
        description = "An event-sourced credits marketplace. Every error is application/problem+json with a stable `code`. Authenticate with `Authorization: Bearer <token>` (an API token or a session token) or the session cookie.",
    ),
    paths(
        index::root, index::index, index::openapi, index::live, index::ready,
        members::register, members::list, members::wallet, members::grant, members::history,
        members::state_as_of,
        jobs::board, jobs::launch, jobs::participant_view, jobs::owner_view, jobs::apply,
        jobs::withdraw, jobs::accept, jobs::complete, jobs::cancel, jobs::history,
        jobs::state_as_of,
        feed::feed,
        session::log_in, session::who_am_i, session::log_out, session::sign_up,
        tokens::create, tokens::list, tokens::revoke,
        accounts::create,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&Security),
    security(("bearer" = []), ("cookie" = []), ()),
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The OpenAPI document of the whole service.
pub fn document() -> Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi).clone()
}

pub mod schema;
