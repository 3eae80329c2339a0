//! The identity port: who may log in, and as whom they act. Sign-up, accounts, log-in,
//! sessions and API tokens are use cases like the commands (the API and the pages both call
//! [`Identity`]), but plain CRUD on the [`Accounts`] store, not event-sourced; only sign-up
//! and registering a member with an account also run a command (`register_member`).
//!
//! Secrets never reach the store in the clear: passwords are Argon2id hashes, session and
//! API tokens 256 random bits stored as hashes.

mod secrets;

pub use secrets::{
    PASSWORD_MAX, PASSWORD_MIN, PasswordCost, check_password, derived, hash_password, hex,
    new_secret, secret_hash, verify_password,
};

use crate::accounts::{
    Account, Accounts, ApiToken, Principal, Role, Scope, Session, account_exists,
};
use crate::ctx::Ctx;
use crate::driven::{Clock, IdGenerator, SystemClock, UuidV7};
use crate::driving::{Receipt, Tally};
use crate::error::{Error, Result, Unauthorized};
use crate::service::TallyService;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tally_domain::{Actor, DisplayName, Handle, Raw, RegisterMember, Rejection, Rule};
use utoipa::ToSchema;
use uuid::Uuid;

/// Prefix of session tokens (cookie value or bearer token).
pub const SESSION_PREFIX: &str = "tly_ses_";
/// Prefix of API tokens.
pub const API_TOKEN_PREFIX: &str = "tly_pat_";
/// The name of the first admin's account.
pub const ADMIN: &str = "admin";

/// An admin's name: the rules of the domain's text values (visible first and last, no control
/// characters), 1 to 64 characters.
pub const ADMIN_NAME: Rule = Rule::line(
    "invalid_name",
    "an admin's name",
    1,
    64,
    "1 to 64 characters",
);

/// An API token's name, by the same rules: 1 to 64 characters.
pub const TOKEN_NAME: Rule = Rule::line(
    "invalid_token_name",
    "a token name",
    1,
    64,
    "1 to 64 characters",
);

/// The most days an API token may last.
pub const TOKEN_DAYS_MAX: u64 = 3650;

/// Becoming a member: the handle (public and permanent), the name shown, a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    /// 3-32 characters of `a-z 0-9 - _`, starting with a letter. Public and permanent.
    #[schema(schema_with = crate::schema::handle)]
    pub handle: String,
    /// The name shown: 1-80 characters.
    #[schema(schema_with = crate::schema::display_name)]
    pub display_name: String,
    /// 8 to 256 characters.
    #[schema(schema_with = crate::schema::password)]
    pub password: String,
}

/// An account for a registered member, or for a new admin.
///
/// Its schema is one of two shapes, since the role decides the name's rule: a member's
/// account is named by the member's handle, an admin's by an admin name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// A registered member's handle, or (role `admin`) an admin's name.
    pub name: String,
    /// 8 to 256 characters.
    pub password: String,
    /// `member` (the default) or `admin`.
    #[serde(default)]
    pub role: Option<String>,
}

impl utoipa::PartialSchema for NewAccount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::schema::new_account()
    }
}

impl utoipa::ToSchema for NewAccount {}

/// A new API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A label, e.g. `ci`: 1-64 characters.
    #[schema(schema_with = crate::schema::token_name)]
    pub name: String,
    /// Days until it expires (1-3650); never, if absent.
    #[serde(default, deserialize_with = "days")]
    #[schema(schema_with = crate::schema::expiry)]
    pub expires_in_days: Option<u64>,
    /// `account` (the default: everything the account may do) or `feed:read` (reading the
    /// history feed and nothing else: a service account; admins only).
    #[serde(default)]
    #[schema(schema_with = crate::schema::token_scope)]
    pub scope: Option<String>,
}

/// `expires_in_days`: absent or `null` (never), or a whole number (`30` or `30.0`); its range
/// is checked where the token is made, with a message saying it.
fn days<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    let n: Option<serde_json::Number> = serde::Deserialize::deserialize(d)?;
    n.map(|n| {
        crate::whole_number(&n)
            .map(|i| u64::try_from(i).unwrap_or(0))
            .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number, got {n}")))
    })
    .transpose()
}

/// A session just opened: its token works as a bearer token and as the session cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewSession {
    /// The account.
    pub name: String,
    /// `admin` or `member`.
    #[schema(value_type = String)]
    pub role: Role,
    /// The actor the events record.
    #[schema(value_type = String)]
    pub actor: Actor,
    /// The session token (shown this once).
    pub token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// A new member, signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignedUp {
    /// What the registration recorded.
    pub receipt: Receipt,
    /// The session.
    pub session: NewSession,
}

/// An account, as listed (never its password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    /// Its name.
    pub name: String,
    /// `admin` or `member`.
    #[schema(value_type = String)]
    pub role: Role,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An API token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// Its id.
    pub id: Uuid,
    /// Its label.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it expires, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// `account` or `feed:read`.
    #[serde(default = "account_scope")]
    #[schema(example = "account")]
    pub scope: String,
}

fn account_scope() -> String {
    Scope::Account.as_str().to_owned()
}

/// A new API token, with its secret (shown this once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// The secret: send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// The token.
    #[serde(flatten)]
    pub details: TokenView,
}

/// Who may log in, and as whom they act.
///
/// Every method returns [`crate::Error`]: `Invalid` for input that breaks a rule,
/// `Unauthorized` for credentials that sign nobody in, `Rejected` for what the domain or the
/// roles refuse (`unauthorized`, `admin_only`, `handle_taken`, `unknown_member`...),
/// `Conflict` (`account_exists`), `NotFound` (`unknown_token`), `Infrastructure`.
#[async_trait]
pub trait Identity: Send + Sync {
    /// A visitor becomes a member: registers (as themselves) and gets an account, signed in.
    /// Repeating it with the same command id and password answers with the first receipt.
    ///
    /// # Errors
    /// `invalid_password`, `invalid_handle`, `invalid_display_name`; `handle_taken`.
    async fn sign_up(&self, ctx: &Ctx, s: SignUp) -> Result<SignedUp>;

    /// An admin registers a member with an initial password. Repeating it with the same
    /// command id answers with the first receipt and leaves the account as it is.
    ///
    /// # Errors
    /// As [`Identity::sign_up`]; `unauthorized`, `admin_only`.
    async fn register_with_account(&self, ctx: &Ctx, s: SignUp) -> Result<Receipt>;

    /// An admin gives a registered member (or a new admin) an account.
    ///
    /// # Errors
    /// `invalid_password`, `invalid_role`, `invalid_name`, `invalid_handle`;
    /// `unauthorized`, `admin_only`; `unknown_member`; `account_exists`.
    async fn create_account(&self, ctx: &Ctx, a: NewAccount) -> Result<AccountView>;

    /// Logs in with a name and password, opening a session.
    ///
    /// # Errors
    /// `unauthorized` (wrong name or password, the same answer whether the name exists).
    async fn log_in(&self, name: &str, password: &str) -> Result<NewSession>;

    /// Checks that `password` is the password of account `name`, opening nothing: what an
    /// irreversible request by a signed-in member asks again (being forgotten). The
    /// provided implementation logs in and out.
    ///
    /// # Errors
    /// `unauthorized` (wrong name or password).
    async fn confirm_password(&self, name: &str, password: &str) -> Result<()> {
        let s = self.log_in(name, password).await?;
        self.log_out(&s.token).await
    }

    /// Ends the session with this token (unknown ones are simply gone already).
    ///
    /// # Errors
    /// `Infrastructure` only.
    async fn log_out(&self, session_token: &str) -> Result<()>;

    /// Who a session token or API token signs in.
    ///
    /// # Errors
    /// `unauthorized` for a credential that is unknown, expired or revoked.
    async fn resolve(&self, credential: &str) -> Result<Principal>;

    /// A new API token acting as the signed-in account.
    ///
    /// # Errors
    /// `unauthorized`; `invalid_token_name`, `invalid_expiry`.
    async fn create_token(&self, ctx: &Ctx, t: NewToken) -> Result<CreatedToken>;

    /// The signed-in account's API tokens, oldest first.
    ///
    /// # Errors
    /// `unauthorized`.
    async fn tokens(&self, ctx: &Ctx) -> Result<Vec<TokenView>>;

    /// Revokes one of the signed-in account's API tokens.
    ///
    /// # Errors
    /// `unauthorized`; `unknown_token`.
    async fn revoke_token(&self, ctx: &Ctx, id: Uuid) -> Result<()>;
}

/// The actor a principal acts as.
///
/// # Errors
/// `Infrastructure` for a member account whose name is not a handle (a corrupt store).
pub fn actor_of(p: &Principal) -> Result<Actor> {
    Ok(match p.role {
        Role::Admin => Actor::Admin(p.name.clone()),
        Role::Member => Actor::Member(
            Handle::parse(&p.name)
                .map_err(|e| Error::infrastructure(format!("account {}: {e}", p.name)))?,
        ),
    })
}

/// The account an actor acts through, if it has one.
fn account_of(actor: &Actor) -> Result<&str> {
    match actor {
        Actor::Member(h) => Ok(h.as_str()),
        Actor::Admin(n) => Ok(n),
        Actor::Anonymous => Err(Rejection::SignInFirst.into()),
        Actor::System(_) => Err(Rejection::AdminOnly.into()),
    }
}

/// Whether `name` could name an account: a handle, or an admin's name (1-64 characters, no
/// control characters). Anything else is never looked up: stores need not hold odd bytes
/// (PostgreSQL refuses NUL in text).
fn plausible_name(name: &str) -> bool {
    Handle::parse(name).is_ok() || admin_name(name).is_ok()
}

fn admin_name(name: &str) -> Result<String> {
    Ok(ADMIN_NAME.parse_text("name", Some(&Raw::from(name)))?)
}

/// Refuses unless the actor is an admin.
fn require_admin(a: &Actor) -> Result<()> {
    match a {
        Actor::Anonymous => Err(Rejection::SignInFirst.into()),
        a if a.is_privileged() => Ok(()),
        _ => Err(Rejection::AdminOnly.into()),
    }
}

/// The identity use cases, over the accounts store and the command port.
pub struct IdentityService {
    accounts: Arc<dyn Accounts>,
    tally: Arc<TallyService>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    cost: PasswordCost,
    session_ttl: Duration,
}

impl IdentityService {
    /// The identity service over `accounts`, running its commands through `tally`.
    pub fn new(accounts: Arc<dyn Accounts>, tally: Arc<TallyService>) -> Self {
        Self {
            accounts,
            tally,
            clock: Arc::new(SystemClock::default()),
            ids: Arc::new(UuidV7),
            cost: PasswordCost::Standard,
            session_ttl: Duration::hours(12),
        }
    }

    /// Uses another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Hashes passwords at another cost.
    #[must_use]
    pub fn with_password_cost(mut self, cost: PasswordCost) -> Self {
        self.cost = cost;
        self
    }

    /// Sessions last this long.
    #[must_use]
    pub fn with_session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// How long sessions last.
    pub fn session_ttl(&self) -> Duration {
        self.session_ttl
    }

    /// The accounts store (for readiness checks).
    pub fn accounts(&self) -> &Arc<dyn Accounts> {
        &self.accounts
    }

    /// Makes sure the first admin can log in (see [`bootstrap_admin`]).
    ///
    /// # Errors
    /// As [`bootstrap_admin`].
    pub async fn bootstrap_admin(&self, password: Option<&str>) -> Result<Option<String>> {
        bootstrap(
            self.accounts.as_ref(),
            password,
            self.cost,
            self.clock.now(),
        )
        .await
    }

    /// Gives an account to `name` (whose role the caller checked).
    async fn add_account(&self, name: &str, role: Role, password: &str) -> Result<AccountView> {
        let hash = hash_password(password.to_owned(), self.cost).await?;
        let created_at = self.clock.now();
        self.accounts
            .create_account(Account {
                name: name.to_owned(),
                role,
                password_hash: hash,
                created_at,
            })
            .await?;
        Ok(AccountView {
            name: name.to_owned(),
            role,
            created_at,
        })
    }

    /// Opens a session for an account.
    async fn open_session(&self, p: Principal) -> Result<NewSession> {
        let token = new_secret(SESSION_PREFIX)?;
        let now = self.clock.now();
        let expires_at = now + self.session_ttl;
        self.accounts
            .create_session(Session {
                token_hash: secret_hash(&token),
                account: p.name.clone(),
                created_at: now,
                expires_at,
            })
            .await?;
        Ok(NewSession {
            actor: actor_of(&p)?,
            name: p.name,
            role: p.role,
            token,
            expires_at,
        })
    }

    /// Registers the member of `s` as `actor`, unless the account already exists: a replay
    /// (the same command, by its id, and the same password) answers with its receipt. Whether
    /// an account is still to be made comes back with the receipt.
    async fn register(&self, ctx: &Ctx, actor: Actor, s: &SignUp) -> Result<(Receipt, bool)> {
        check_password(&s.password)?;
        let handle = Handle::parse(&s.handle)?;
        let command = RegisterMember {
            display_name: DisplayName::parse(&s.display_name)?,
            handle: handle.clone(),
        };
        let taken = || {
            Error::Rejected(Rejection::HandleTaken {
                handle: handle.clone(),
            })
        };
        let run = Ctx {
            actor,
            ..ctx.clone()
        };
        match self.accounts.account(handle.as_str()).await? {
            Some(a) if a.role == Role::Member => {
                if !verify_password(s.password.clone(), Some(a.password_hash)).await {
                    return Err(taken());
                }
                // Only the same command (by its id) answers with a receipt: a replay.
                let r = self.tally.register(&run, command).await?;
                Ok((r, false))
            }
            Some(_) => Err(taken()),
            None => Ok((self.tally.register(&run, command).await?, true)),
        }
    }
}

#[async_trait]
impl Identity for IdentityService {
    async fn sign_up(&self, ctx: &Ctx, s: SignUp) -> Result<SignedUp> {
        // A visitor registers themselves, and the history says so.
        let (receipt, new) = self.register(ctx, Actor::Anonymous, &s).await?;
        if new {
            self.add_account(&s.handle, Role::Member, &s.password)
                .await?;
        }
        let session = self
            .open_session(Principal {
                name: s.handle.clone(),
                role: Role::Member,
                scope: Scope::Account,
            })
            .await?;
        Ok(SignedUp { receipt, session })
    }

    async fn register_with_account(&self, ctx: &Ctx, s: SignUp) -> Result<Receipt> {
        require_admin(&ctx.actor)?;
        let (receipt, new) = self.register(ctx, ctx.actor.clone(), &s).await?;
        if new {
            self.add_account(&s.handle, Role::Member, &s.password)
                .await?;
        }
        Ok(receipt)
    }

    async fn create_account(&self, ctx: &Ctx, a: NewAccount) -> Result<AccountView> {
        require_admin(&ctx.actor)?;
        let role = Role::parse(a.role.as_deref().unwrap_or("member"))?;
        check_password(&a.password)?;
        let name = match role {
            Role::Member => {
                // The wallet answers `invalid_handle` or `unknown_member` for anyone but a member.
                self.tally.wallet(ctx, &a.name).await?;
                a.name.clone()
            }
            Role::Admin => admin_name(&a.name)?,
        };
        if self.accounts.account(&name).await?.is_some() {
            return Err(account_exists(&name));
        }
        self.add_account(&name, role, &a.password).await
    }

    async fn log_in(&self, name: &str, password: &str) -> Result<NewSession> {
        let name = name.trim();
        let account = if plausible_name(name) {
            self.accounts.account(name).await?
        } else {
            None
        };
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        let ok = verify_password(password.to_owned(), hash).await;
        let Some(a) = account.filter(|_| ok) else {
            return Err(Unauthorized::WrongPassword.into());
        };
        self.open_session(Principal {
            name: a.name,
            role: a.role,
            scope: Scope::Account,
        })
        .await
    }

    async fn confirm_password(&self, name: &str, password: &str) -> Result<()> {
        let account = self.accounts.account(name.trim()).await?;
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        if verify_password(password.to_owned(), hash).await {
            Ok(())
        } else {
            Err(Unauthorized::WrongPassword.into())
        }
    }

    async fn log_out(&self, session_token: &str) -> Result<()> {
        self.accounts
            .delete_session(&secret_hash(session_token))
            .await
    }

    async fn resolve(&self, credential: &str) -> Result<Principal> {
        let now = self.clock.now();
        let hash = secret_hash(credential);
        let found = if credential.starts_with(API_TOKEN_PREFIX) {
            self.accounts.api_token(&hash, now).await?
        } else if credential.starts_with(SESSION_PREFIX) {
            self.accounts.session(&hash, now).await?
        } else {
            None
        };
        found.ok_or(Unauthorized::BadCredential.into())
    }

    async fn create_token(&self, ctx: &Ctx, t: NewToken) -> Result<CreatedToken> {
        let account = account_of(&ctx.actor)?;
        let name = TOKEN_NAME.parse_text("name", Some(&Raw::from(t.name.as_str())))?;
        let days = match t.expires_in_days {
            Some(d @ 1..=TOKEN_DAYS_MAX) => Some(d as i64),
            None => None,
            Some(_) => {
                return Err(Error::invalid(
                    "expires_in_days",
                    "invalid_expiry",
                    format!("a token expires in 1 to {TOKEN_DAYS_MAX} days"),
                ));
            }
        };
        let scope = match t.scope.as_deref() {
            None => Scope::Account,
            Some(s) => Scope::parse(s)?,
        };
        if scope == Scope::FeedRead && !ctx.actor.is_privileged() {
            return Err(Rejection::AdminOnly.into());
        }
        let secret = new_secret(API_TOKEN_PREFIX)?;
        let now = self.clock.now();
        let token = ApiToken {
            id: self.ids.new_id(),
            account: account.to_owned(),
            name,
            secret_hash: secret_hash(&secret),
            created_at: now,
            expires_at: days.map(|d| now + Duration::days(d)),
            scope,
        };
        self.accounts.create_api_token(token.clone()).await?;
        Ok(CreatedToken {
            token: secret,
            details: token_view(token),
        })
    }

    async fn tokens(&self, ctx: &Ctx) -> Result<Vec<TokenView>> {
        let account = account_of(&ctx.actor)?;
        Ok(self
            .accounts
            .api_tokens(account)
            .await?
            .into_iter()
            .map(token_view)
            .collect())
    }

    async fn revoke_token(&self, ctx: &Ctx, id: Uuid) -> Result<()> {
        self.accounts
            .revoke_api_token(account_of(&ctx.actor)?, id)
            .await
    }
}

/// Makes sure the first admin can log in. With `password`, account `admin` gets it (created
/// or updated). Without, a missing `admin` account is created with a random password, which
/// is returned so that the caller shows it once; an existing one is left alone.
///
/// # Errors
/// `invalid_password` for a configured password that breaks the rules; `Infrastructure`
/// when storage fails.
pub async fn bootstrap_admin(
    accounts: &dyn Accounts,
    password: Option<&str>,
    cost: PasswordCost,
) -> Result<Option<String>> {
    bootstrap(accounts, password, cost, SystemClock::default().now()).await
}

async fn bootstrap(
    accounts: &dyn Accounts,
    password: Option<&str>,
    cost: PasswordCost,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let existing = accounts.account(ADMIN).await?;
    let (password, generated) = match (password, &existing) {
        (Some(p), _) => {
            check_password(p)?;
            (p.to_owned(), false)
        }
        (None, Some(_)) => return Ok(None),
        (None, None) => (new_secret("")?[..24].to_owned(), true),
    };
    let hash = hash_password(password.clone(), cost).await?;
    if existing.is_some() {
        accounts.set_password(ADMIN, &hash).await?;
    } else {
        accounts
            .create_account(Account {
                name: ADMIN.into(),
                role: Role::Admin,
                password_hash: hash,
                created_at: now,
            })
            .await?;
    }
    Ok(generated.then_some(password))
}

fn token_view(t: ApiToken) -> TokenView {
    TokenView {
        id: t.id,
        name: t.name,
        created_at: t.created_at,
        expires_at: t.expires_at,
        scope: t.scope.as_str().to_owned(),
    }
}
