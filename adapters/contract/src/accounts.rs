//! Contract tests for the accounts port, run by every accounts adapter through
//! [`accounts_contract_tests!`](crate::accounts_contract_tests).

use chrono::{DateTime, Duration, DurationRound, Utc};
use tally_ports::accounts::{Account, Accounts, ApiToken, Role, Session};
use uuid::Uuid;

/// Expands to one `#[tokio::test]` per accounts contract, each on a fresh, empty store from
/// `$make` (an expression evaluating to a future of something that derefs to `dyn Accounts`).
#[macro_export]
macro_rules! accounts_contract_tests {
    ($make:expr) => {
        $crate::accounts_contract_tests!(@each $make;
            an_account_name_is_taken_only_once,
            member_accounts_are_found_among_handles_in_one_lookup,
            a_password_hash_can_be_replaced_for_an_existing_account_only,
            a_session_signs_in_until_it_expires_or_is_deleted,
            a_session_needs_an_account,
            api_tokens_are_listed_per_account_and_stop_working_when_revoked,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $make.await;
                $crate::accounts::$name(&*store).await;
            }
        )*
    };
}

/// Now, to the microsecond (what PostgreSQL keeps), so that stored values compare equal.
fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::microseconds(1))
        .expect("truncation")
}

fn account(name: &str, role: Role) -> Account {
    Account {
        name: name.into(),
        role,
        password_hash: "$argon2id$fake".into(),
        created_at: now(),
    }
}

fn token(
    account: &str,
    hash: &str,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> ApiToken {
    ApiToken {
        id: Uuid::now_v7(),
        account: account.into(),
        name: "ci".into(),
        secret_hash: hash.into(),
        created_at,
        expires_at,
        scope: tally_ports::accounts::Scope::Account,
    }
}

/// A second account with a taken name is refused; lookups find what was stored.
pub async fn an_account_name_is_taken_only_once(a: &dyn Accounts) {
    let alice = account("alice", Role::Member);
    a.create_account(alice.clone()).await.unwrap();
    let err = a
        .create_account(account("alice", Role::Admin))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "account_exists");
    assert_eq!(a.account("alice").await.unwrap(), Some(alice));
    assert!(a.account("bob").await.unwrap().is_none());
}

/// `member_accounts` names the handles that have a member account, and no admin's.
pub async fn member_accounts_are_found_among_handles_in_one_lookup(a: &dyn Accounts) {
    a.create_account(account("alice", Role::Member))
        .await
        .unwrap();
    a.create_account(account("carol", Role::Member))
        .await
        .unwrap();
    a.create_account(account("root", Role::Admin))
        .await
        .unwrap();
    let asked: Vec<String> = ["carol", "bob", "root", "alice"].map(String::from).to_vec();
    let mut found = a.member_accounts(&asked).await.unwrap();
    found.sort();
    assert_eq!(found, ["alice", "carol"]);
    assert!(a.member_accounts(&[]).await.unwrap().is_empty());
}

/// `set_password` replaces the hash of an existing account, and refuses unknown ones.
pub async fn a_password_hash_can_be_replaced_for_an_existing_account_only(a: &dyn Accounts) {
    a.create_account(account("admin", Role::Admin))
        .await
        .unwrap();
    a.set_password("admin", "$argon2id$new").await.unwrap();
    let found = a.account("admin").await.unwrap().unwrap();
    assert_eq!(found.password_hash, "$argon2id$new");
    let err = a.set_password("nobody", "x").await.unwrap_err();
    assert_eq!(err.code(), "unknown_account");
}

/// A session names its account until it expires or is deleted (deleting twice is fine).
pub async fn a_session_signs_in_until_it_expires_or_is_deleted(a: &dyn Accounts) {
    a.create_account(account("alice", Role::Member))
        .await
        .unwrap();
    let now = now();
    let session = Session {
        token_hash: "h1".into(),
        account: "alice".into(),
        created_at: now,
        expires_at: now + Duration::hours(1),
    };
    a.create_session(session).await.unwrap();
    let who = a.session("h1", now).await.unwrap().unwrap();
    assert_eq!((who.name.as_str(), who.role), ("alice", Role::Member));
    assert!(
        a.session("h1", now + Duration::hours(2))
            .await
            .unwrap()
            .is_none()
    );
    assert!(a.session("other", now).await.unwrap().is_none());
    a.delete_session("h1").await.unwrap();
    assert!(a.session("h1", now).await.unwrap().is_none());
    a.delete_session("h1").await.unwrap();
}

/// A session for an unknown account is refused.
pub async fn a_session_needs_an_account(a: &dyn Accounts) {
    let now = now();
    let err = a
        .create_session(Session {
            token_hash: "h".into(),
            account: "ghost".into(),
            created_at: now,
            expires_at: now,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unknown_account");
}

/// Tokens are listed per account, oldest first; expired and revoked ones stop working; an
/// account revokes only its own.
pub async fn api_tokens_are_listed_per_account_and_stop_working_when_revoked(a: &dyn Accounts) {
    for n in ["alice", "bob"] {
        a.create_account(account(n, Role::Member)).await.unwrap();
    }
    let now = now();
    let t1 = token("alice", "s1", now, None);
    let t2 = token(
        "alice",
        "s2",
        now + Duration::seconds(1),
        Some(now - Duration::seconds(1)),
    );
    let t3 = token("bob", "s3", now, None);
    for t in [&t1, &t2, &t3] {
        a.create_api_token(t.clone()).await.unwrap();
    }
    assert_eq!(a.api_tokens("alice").await.unwrap(), vec![t1.clone(), t2]);
    assert_eq!(a.api_token("s1", now).await.unwrap().unwrap().name, "alice");
    assert!(a.api_token("s2", now).await.unwrap().is_none(), "expired");
    let err = a.revoke_api_token("bob", t1.id).await.unwrap_err();
    assert_eq!(err.code(), "unknown_token", "not bob's token");
    a.revoke_api_token("alice", t1.id).await.unwrap();
    assert!(a.api_token("s1", now).await.unwrap().is_none());
    assert_eq!(a.api_tokens("alice").await.unwrap().len(), 1);
    let err = a
        .create_api_token(token("ghost", "s4", now, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unknown_account");
}
