//! Secrets: password hashing (Argon2id, off the async threads) and random tokens, stored only
//! as hashes.

use crate::error::{Error, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use blake2::{Blake2s256, Digest};
use std::sync::OnceLock;

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

/// The fewest characters of a password.
pub const PASSWORD_MIN: usize = 8;
/// The most characters of a password.
pub const PASSWORD_MAX: usize = 256;

/// A password's rules: 8 to 256 characters, any of them.
///
/// # Errors
/// `invalid_password` otherwise.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Err(Error::invalid(
            "password",
            "invalid_password",
            format!(
                "a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters (this one has {n})"
            ),
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
                        &SaltString::encode_b64(&[7; 16]).expect("a valid salt"),
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
    s.push_str(&hex(&bytes));
    Ok(s)
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored form of a secret. A fast hash suffices: the secrets are 256 random bits, so
/// there is nothing to guess; the hash only keeps a leaked table from being a key ring.
pub fn secret_hash(secret: &str) -> String {
    hex(&Blake2s256::digest(secret.as_bytes()))
}

/// A hash of `secret` for another purpose, separated from [`secret_hash`] and from every
/// other purpose by `purpose` (e.g. the CSRF token of a session).
pub fn derived(purpose: &str, secret: &str) -> String {
    let digest = Blake2s256::new()
        .chain_update(purpose.as_bytes())
        .chain_update(b"\0")
        .chain_update(secret.as_bytes())
        .finalize();
    hex(&digest)
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
        let a = new_secret("tly_pat_").unwrap();
        let b = new_secret("tly_pat_").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 8 + 64);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert!(!secret_hash(&a).contains(&a[8..]));
        assert_ne!(derived("csrf", &a), secret_hash(&a));
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
