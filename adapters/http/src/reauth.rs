//! What an irreversible request asks again: a member who asks to be forgotten re-enters
//! their password (a stolen session or token alone cannot erase an account). Admins act with
//! their own signed-in account; the domain refuses a member forgetting someone else.

use tally_ports::identity::Identity;
use tally_ports::{Actor, CommandKind, Ctx, Error};

/// The field that carries the password.
pub(crate) const FIELD: &str = "password";

/// Whether `kind` on `key` by `ctx` needs the password again.
pub(crate) fn needed(ctx: &Ctx, kind: CommandKind, key: Option<&str>) -> bool {
    kind == CommandKind::ForgetMember
        && matches!(&ctx.actor, Actor::Member(h) if Some(h.as_str()) == key)
}

/// Checks the password when it is needed.
///
/// # Errors
/// `password_required` when it is missing; `unauthorized` when it is wrong.
pub(crate) async fn check(
    identity: &dyn Identity,
    ctx: &Ctx,
    kind: CommandKind,
    key: Option<&str>,
    password: Option<&str>,
) -> Result<(), Error> {
    if !needed(ctx, kind, key) {
        return Ok(());
    }
    match password.filter(|p| !p.is_empty()) {
        None => Err(Error::invalid(
            FIELD,
            "password_required",
            "password: re-enter your password to be forgotten (it cannot be undone)",
        )),
        Some(p) => identity.confirm_password(key.unwrap_or_default(), p).await,
    }
}
