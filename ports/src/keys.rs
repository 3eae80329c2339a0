//! The keys of personal data: one data key per data subject (a member), kept apart from the
//! events, each stored wrapped (encrypted) by the master key from the configuration: envelope
//! encryption. A field sealed with a subject's key is unreadable once that key is deleted
//! (crypto-shredding), wherever copies of the ciphertext went: history, cache, backups.
//! Rotating the master key re-wraps the data keys and touches no event.
//!
//! The cipher is XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`): an AEAD with 192-bit
//! nonces, so that random nonces never repeat in practice. A sealed field binds its subject
//! as associated data, so that a ciphertext copied under another member's name does not open.

use crate::error::{Error, Result};
use async_trait::async_trait;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// The length of a key, in bytes.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// What a sealed field starts with (the format's version).
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// The master key: wraps every data key. 32 bytes, written as 64 hex digits
/// (`TALLY_MASTER_KEY`).
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    key: [u8; KEY_LEN],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, ...)", self.id)
    }
}

impl MasterKey {
    /// Parses 64 hex digits.
    ///
    /// # Errors
    /// `invalid_master_key` when it is not 64 hex digits.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let bad = || {
            Error::invalid(
                "master_key",
                "invalid_master_key",
                "the master key is 64 hex digits (32 random bytes), e.g. from `openssl rand -hex 32`",
            )
        };
        if s.len() != 2 * KEY_LEN {
            return Err(bad());
        }
        let mut key = [0u8; KEY_LEN];
        for (i, b) in key.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
                .map_err(|_| bad())?;
        }
        Ok(Self::from_bytes(key))
    }

    /// A new random master key.
    ///
    /// # Errors
    /// `Infrastructure` when the system has no randomness to give.
    pub fn generate() -> Result<Self> {
        Ok(Self::from_bytes(random()?))
    }

    fn from_bytes(key: [u8; KEY_LEN]) -> Self {
        // The id names the key without revealing it: a hash, cut short.
        let id = crate::identity::derived("tally master key id v1", &hex(&key));
        Self {
            id: id.chars().take(16).collect(),
            key,
        }
    }

    /// The key as 64 hex digits (to show once, when generated).
    pub fn to_hex(&self) -> String {
        hex(&self.key)
    }

    /// A short name of the key (not secret): which master wraps a data key.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.key).into())
    }
}

/// A data key as stored: wrapped by the master key named `master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The [`MasterKey::id`] of the key that wraps it.
    pub master: String,
    /// The nonce, then the encrypted key and its tag.
    pub wrapped: Vec<u8>,
}

/// Where data keys are kept: apart from the events (their own table, or memory), and backed
/// up apart, with their own retention.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The wrapped key of `subject`, if it has one.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn key(&self, subject: &str) -> Result<Option<WrappedKey>>;

    /// Keeps `key` for `subject` unless it has one already; returns the one kept (so that two
    /// processes creating a subject's key at once agree on it).
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn add_key(&self, subject: &str, key: WrappedKey) -> Result<WrappedKey>;

    /// Deletes `subject`'s key; whether it had one.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn delete_key(&self, subject: &str) -> Result<bool>;

    /// Every subject's wrapped key.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn keys(&self) -> Result<Vec<(String, WrappedKey)>>;

    /// Replaces the wrapped keys of these subjects, all or none (a master-key rotation).
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn rewrap(&self, keys: &[(String, WrappedKey)]) -> Result<()>;
}

/// Sealing and opening personal fields with their subjects' keys.
pub struct DataKeys {
    store: Arc<dyn KeyStore>,
    master: MasterKey,
    /// Unwrapped keys, by subject (forgotten with the key).
    open: Mutex<HashMap<String, [u8; KEY_LEN]>>,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKeys({:?})", self.master)
    }
}

impl DataKeys {
    /// Keys kept in `store`, wrapped by `master`.
    pub fn new(store: Arc<dyn KeyStore>, master: MasterKey) -> Self {
        Self {
            store,
            master,
            open: Mutex::default(),
        }
    }

    fn cached(&self, subject: &str) -> Option<[u8; KEY_LEN]> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(subject)
            .copied()
    }

    fn remember(&self, subject: &str, key: [u8; KEY_LEN]) {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(subject.to_owned(), key);
    }

    fn unwrap_key(&self, subject: &str, w: &WrappedKey) -> Result<[u8; KEY_LEN]> {
        if w.master != self.master.id {
            return Err(Error::infrastructure(format!(
                "the data key of {subject} is wrapped by master key {}, not by the configured \
                 one ({}): finish the rotation (tally rotate-master-key)",
                w.master, self.master.id
            )));
        }
        let (nonce, sealed) = w.wrapped.split_at_checked(NONCE_LEN).ok_or_else(|| {
            Error::infrastructure(format!("the data key of {subject} is cut short"))
        })?;
        let plain = self
            .master
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: subject.as_bytes(),
                },
            )
            .map_err(|_| {
                Error::infrastructure(format!("the data key of {subject} does not open"))
            })?;
        plain.try_into().map_err(|_| {
            Error::infrastructure(format!("the data key of {subject} has a bad length"))
        })
    }

    fn wrap_key(master: &MasterKey, subject: &str, key: &[u8; KEY_LEN]) -> Result<WrappedKey> {
        let nonce: [u8; NONCE_LEN] = random()?;
        let sealed = master
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: key,
                    aad: subject.as_bytes(),
                },
            )
            .map_err(|_| Error::infrastructure("wrapping a data key"))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend(sealed);
        Ok(WrappedKey {
            master: master.id.clone(),
            wrapped,
        })
    }

    /// `subject`'s key: kept, or made now.
    async fn key_of(&self, subject: &str) -> Result<[u8; KEY_LEN]> {
        if let Some(k) = self.cached(subject) {
            return Ok(k);
        }
        let wrapped = match self.store.key(subject).await? {
            Some(w) => w,
            None => {
                let fresh: [u8; KEY_LEN] = random()?;
                let w = Self::wrap_key(&self.master, subject, &fresh)?;
                self.store.add_key(subject, w).await?
            }
        };
        let key = self.unwrap_key(subject, &wrapped)?;
        self.remember(subject, key);
        Ok(key)
    }

    /// Seals `plaintext` with `subject`'s key (made if it has none):
    /// `sealed:v1:` and the base64 of the nonce, the ciphertext and its tag.
    ///
    /// # Errors
    /// `Infrastructure` when the key store fails.
    pub async fn seal(&self, subject: &str, plaintext: &str) -> Result<String> {
        let key = self.key_of(subject).await?;
        let nonce: [u8; NONCE_LEN] = random()?;
        let sealed = XChaCha20Poly1305::new((&key).into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: subject.as_bytes(),
                },
            )
            .map_err(|_| Error::infrastructure("sealing a personal field"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        ))
    }

    /// Opens a field sealed for `subject`: `None` when the subject's key is gone (they were
    /// forgotten). Text that is not sealed is returned as it is (stored before encryption).
    ///
    /// # Errors
    /// `Infrastructure` when the key store fails, or the field was sealed for someone else or
    /// altered.
    pub async fn open(&self, subject: &str, field: &str) -> Result<Option<String>> {
        let Some(b64) = field.strip_prefix(SEALED_PREFIX) else {
            return Ok(Some(field.to_owned()));
        };
        let key = match self.cached(subject) {
            Some(k) => k,
            None => match self.store.key(subject).await? {
                None => return Ok(None),
                Some(w) => {
                    let k = self.unwrap_key(subject, &w)?;
                    self.remember(subject, k);
                    k
                }
            },
        };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64)
            .map_err(|_| {
                Error::infrastructure(format!("a sealed field of {subject} is not base64"))
            })?;
        let (nonce, sealed) = bytes.split_at_checked(NONCE_LEN).ok_or_else(|| {
            Error::infrastructure(format!("a sealed field of {subject} is cut short"))
        })?;
        let plain = XChaCha20Poly1305::new((&key).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: subject.as_bytes(),
                },
            )
            .map_err(|_| {
                Error::infrastructure(format!(
                    "a sealed field of {subject} does not open with their key"
                ))
            })?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| Error::infrastructure(format!("a sealed field of {subject} is not text")))
    }

    /// Deletes `subject`'s key, here and in the store: everything sealed for them is
    /// unreadable from now on. Whether they had one.
    ///
    /// # Errors
    /// `Infrastructure` when the key store fails.
    pub async fn forget(&self, subject: &str) -> Result<bool> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(subject);
        self.store.delete_key(subject).await
    }

    /// Re-wraps every data key with `new` (all or none), touching no event; returns how many.
    /// Afterwards, configure `new` as the master key.
    ///
    /// # Errors
    /// `Infrastructure` when the key store fails or a key does not open with the current
    /// master key.
    pub async fn rotate(&self, new: &MasterKey) -> Result<usize> {
        let mut rewrapped = Vec::new();
        for (subject, w) in self.store.keys().await? {
            if w.master == new.id {
                continue; // an earlier rotation that stopped half-way got this far
            }
            let key = self.unwrap_key(&subject, &w)?;
            rewrapped.push((subject.clone(), Self::wrap_key(new, &subject, &key)?));
        }
        self.store.rewrap(&rewrapped).await?;
        Ok(rewrapped.len())
    }
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(Error::infrastructure)?;
    Ok(b)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
