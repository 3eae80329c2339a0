//! Authentication: password hashing (Argon2id), random secrets for sessions and API tokens
//! (stored only as hashes), resolving a request's credentials to an [`Actor`], and the
//! bootstrap of the first admin.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use blake2::{Blake2s256, Digest};
use chrono::Utc;
use std::sync::OnceLock;
use tally_domain::Handle;
use tally_ports::accounts::{Account, Accounts, Principal, Role};
use tally_ports::{Actor, Error, Result};

/// Prefix of session tokens (cookie value or bearer token).
pub const SESSION_PREFIX: &str = "tly_ses_";
/// Prefix of API tokens.
pub const API_TOKEN_PREFIX: &str = "tly_pat_";
/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "tally_session";
/// The name of the first admin's account.
pub const ADMIN: &str = "admin";

/// How expensive password hashing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCost {
    /// The recommended Argon2id parameters (19 MiB, 2 passes): for real use.
    Standard,
    /// The smallest Argon2id parameters: for tests and benchmarks only, where hundreds of
    /// accounts are created in unoptimised builds.
    Minimal,
}

impl PasswordCost {
    fn hasher(self) -> Argon2<'static> {
        let params = match self {
            Self::Standard => Params::default(),
            Self::Minimal => {
                Params::new(Params::MIN_M_COST, Params::MIN_T_COST, 1, None).unwrap_or_default()
            }
        };
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// A password's rules: 8 to 256 characters.
///
/// # Errors
/// `invalid_password` otherwise.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(8..=256).contains(&n) {
        return Err(Error::invalid(
            "password",
            "invalid_password",
            format!("a password has 8 to 256 characters (this one has {n})"),
        ));
    }
    Ok(())
}

/// Hashes a password into a PHC string, off the async threads (it takes tens of
/// milliseconds on purpose).
///
/// # Errors
/// `Infrastructure` if hashing fails.
pub async fn hash_password(password: String, cost: PasswordCost) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(Error::infrastructure)?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(Error::infrastructure)?;
        cost.hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(Error::infrastructure)
    })
    .await
    .map_err(Error::infrastructure)?
}

/// Whether `password` matches a PHC hash (`None`: no such account; a dummy hash is checked
/// anyway so that the answer takes as long, and does not reveal which names exist).
pub async fn verify_password(password: String, phc: Option<String>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| {
        DUMMY
            .get_or_init(|| {
                PasswordCost::Standard
                    .hasher()
                    .hash_password(
                        b"dummy password",
                        &SaltString::encode_b64(&[7; 16]).unwrap(),
                    )
                    .map(|h| h.to_string())
                    .unwrap_or_default()
            })
            .clone()
    });
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false);
    ok && known
}

/// A new random secret with a prefix: 32 bytes from the operating system, in hex.
///
/// # Errors
/// `Infrastructure` if the operating system has no randomness to give.
pub fn new_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(Error::infrastructure)?;
    let mut s = String::with_capacity(prefix.len() + 64);
    s.push_str(prefix);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    Ok(s)
}

/// The stored form of a secret. A fast hash suffices: the secrets are 256 random bits, so
/// there is nothing to guess; the hash only keeps a leaked table from being a key ring.
pub fn secret_hash(secret: &str) -> String {
    Blake2s256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// Who a bearer token or session cookie signs in. `Ok(None)` when no credential was given.
///
/// # Errors
/// `Unauthorized` for a credential that is unknown, expired or revoked: a client that sends
/// a credential expects to act as someone, so it is never silently treated as anonymous.
pub async fn resolve(accounts: &dyn Accounts, credential: &str) -> Result<Principal> {
    let now = Utc::now();
    let hash = secret_hash(credential);
    let found = if credential.starts_with(API_TOKEN_PREFIX) {
        accounts.api_token(&hash, now).await?
    } else if credential.starts_with(SESSION_PREFIX) {
        accounts.session(&hash, now).await?
    } else {
        None
    };
    found.ok_or_else(|| Error::Unauthorized {
        message: "the credential is unknown, expired or revoked; sign in again".into(),
    })
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
                created_at: Utc::now(),
            })
            .await?;
    }
    Ok(generated.then_some(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_hash_only() {
        let h = hash_password("correct horse".into(), PasswordCost::Minimal)
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(h)).await);
        assert!(!verify_password("correct horse".into(), None).await);
    }

    #[test]
    fn secrets_are_long_random_and_stored_hashed() {
        let a = new_secret(API_TOKEN_PREFIX).unwrap();
        let b = new_secret(API_TOKEN_PREFIX).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), API_TOKEN_PREFIX.len() + 64);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert!(!secret_hash(&a).contains(&a[8..]));
    }

    #[test]
    fn passwords_have_a_length() {
        assert!(check_password("12345678").is_ok());
        assert_eq!(
            check_password("short").unwrap_err().code(),
            "invalid_password"
        );
    }
}
