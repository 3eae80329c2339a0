//! Every path of the JSON API. Templates (`{id}`, `{handle}`) are what routes are registered
//! with and what the OpenAPI document shows; the builders fill them in for links and for the
//! client, so routes, documents and links cannot disagree.

use tally_domain::{CommandKind, EntityKind, Target};

/// The API's root.
pub const API: &str = "/api/v1";
/// The OpenAPI document.
pub const OPENAPI: &str = "/api/v1/openapi.json";
/// The members (admins list them; a command registers one).
pub const MEMBERS: &str = "/api/v1/members";
/// A member's wallet.
pub const WALLET: &str = "/api/v1/members/{handle}/wallet";
/// A member's history.
pub const MEMBER_HISTORY: &str = "/api/v1/members/{handle}/history";
/// A member's wallet as it was.
pub const MEMBER_STATE: &str = "/api/v1/members/{handle}/state";
/// The job board (a command launches a job).
pub const JOBS: &str = "/api/v1/jobs";
/// A job as a participant sees it.
pub const JOB: &str = "/api/v1/jobs/{id}";
/// A job as its owner sees it.
pub const JOB_OWNER: &str = "/api/v1/jobs/{id}/owner-view";
/// A job's history.
pub const JOB_HISTORY: &str = "/api/v1/jobs/{id}/history";
/// A job as it was.
pub const JOB_STATE: &str = "/api/v1/jobs/{id}/state";
/// The global history feed.
pub const FEED: &str = "/api/v1/feed";
/// The reports: daily totals and fraud signals (admins).
pub const REPORTS: &str = "/api/v1/reports";
/// The published event schemas.
pub const SCHEMAS: &str = "/api/v1/schemas";
/// One event type's schema at one version.
pub const SCHEMA: &str = "/api/v1/schemas/{type}/{version}";
/// The caller's session.
pub const SESSION: &str = "/api/v1/session";
/// Signing up.
pub const SIGNUP: &str = "/api/v1/signup";
/// The caller's API tokens.
pub const TOKENS: &str = "/api/v1/tokens";
/// One API token.
pub const TOKEN: &str = "/api/v1/tokens/{id}";
/// Accounts (admins create them).
pub const ACCOUNTS: &str = "/api/v1/accounts";
/// The signed-in member's notifications.
pub const NOTIFICATIONS: &str = "/api/v1/notifications";
/// Marking every notification read.
pub const NOTIFICATIONS_READ: &str = "/api/v1/notifications/read";
/// Marking one notification read.
pub const NOTIFICATION_READ: &str = "/api/v1/notifications/{id}/read";

/// Webhook endpoints (the caller's own; an admin's: all).
pub const WEBHOOKS: &str = "/api/v1/webhooks";
/// One webhook endpoint.
pub const WEBHOOK: &str = "/api/v1/webhooks/{id}";
/// Pausing a webhook endpoint.
pub const WEBHOOK_PAUSE: &str = "/api/v1/webhooks/{id}/pause";
/// Resuming a webhook endpoint.
pub const WEBHOOK_RESUME: &str = "/api/v1/webhooks/{id}/resume";
/// Webhook deliveries (admins).
pub const DELIVERIES: &str = "/api/v1/webhook-deliveries";
/// Sending a webhook delivery again (admins).
pub const REDELIVER: &str = "/api/v1/webhook-deliveries/{id}/redeliver";

/// `template` with its `{id}` filled in.
pub fn with_id(template: &str, id: &str) -> String {
    template.replace("{id}", id)
}

/// Marking notification `id` read.
pub fn notification_read(id: &str) -> String {
    NOTIFICATION_READ.replace("{id}", id)
}

/// The published schema of an event type at a version.
pub fn schema(event_type: &str, version: u32) -> String {
    format!("{SCHEMAS}/{event_type}/{version}")
}

/// The name of the path parameter that holds an entity's key.
pub fn key_param(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Member => "handle",
        EntityKind::Job => "id",
    }
}

fn collection(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Member => MEMBERS,
        EntityKind::Job => JOBS,
    }
}

/// The last segment of a command on an entity: its name, with dashes (`cancel-job`).
pub fn slug(kind: CommandKind) -> String {
    kind.name().replace('_', "-")
}

/// The route template of a command: `POST` to the collection for one that creates an entity
/// (`/api/v1/jobs`), `POST` to the entity's own path for one that acts on it
/// (`/api/v1/jobs/{id}/cancel-job`).
pub fn command(kind: CommandKind) -> String {
    match kind.target() {
        Target::New(k) => collection(k).to_owned(),
        Target::On(k) => format!("{}/{{{}}}/{}", collection(k), key_param(k), slug(kind)),
    }
}

/// The path of a command on the entity `key` (ignored for commands that create one).
pub fn command_on(kind: CommandKind, key: &str) -> String {
    match kind.target() {
        Target::New(_) => command(kind),
        Target::On(k) => fill(&command(kind), &[(key_param(k), key)]),
    }
}

/// A path segment, percent-encoded, so that a key can never escape its place in a path.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `template` with each `{name}` replaced by its value, percent-encoded.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), &segment(value));
    }
    out
}

/// A member's wallet's statement.
pub const STATEMENT: &str = "/api/v1/members/{handle}/statement";

/// A member's wallet's statement.
pub fn statement(handle: &str) -> String {
    fill(STATEMENT, &[("handle", handle)])
}

/// A member's wallet.
pub fn wallet(handle: &str) -> String {
    fill(WALLET, &[("handle", handle)])
}

/// A job as a participant sees it.
pub fn job(id: &str) -> String {
    fill(JOB, &[("id", id)])
}

/// A job as its owner sees it.
pub fn job_owner(id: &str) -> String {
    fill(JOB_OWNER, &[("id", id)])
}

/// An entity's history.
pub fn history(kind: EntityKind, key: &str) -> String {
    match kind {
        EntityKind::Member => fill(MEMBER_HISTORY, &[("handle", key)]),
        EntityKind::Job => fill(JOB_HISTORY, &[("id", key)]),
    }
}

/// An entity as it was.
pub fn state(kind: EntityKind, key: &str) -> String {
    match kind {
        EntityKind::Member => fill(MEMBER_STATE, &[("handle", key)]),
        EntityKind::Job => fill(JOB_STATE, &[("id", key)]),
    }
}

/// One API token.
pub fn token(id: &str) -> String {
    fill(TOKEN, &[("id", id)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_post_to_their_collection_or_to_their_entity() {
        assert_eq!(command(CommandKind::LaunchJob), "/api/v1/jobs");
        assert_eq!(command(CommandKind::RegisterMember), "/api/v1/members");
        assert_eq!(
            command(CommandKind::CancelJob),
            "/api/v1/jobs/{id}/cancel-job"
        );
        assert_eq!(
            command_on(CommandKind::GrantCredits, "alice"),
            "/api/v1/members/alice/grant-credits"
        );
    }

    #[test]
    fn keys_cannot_escape_their_segment() {
        assert_eq!(job("../members"), "/api/v1/jobs/..%2Fmembers");
    }
}
