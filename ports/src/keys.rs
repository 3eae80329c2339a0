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
use std::time::{Duration, Instant};

/// The length of a key, in bytes.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// What a sealed field starts with (the format's version); the subject's handle and `:`
/// follow, then the base64 of the nonce, the ciphertext and its tag.
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

/// How long an unwrapped key is trusted before the key store is asked again: another
/// process that forgets a member stops this one opening their data within this time.
pub const KEY_TTL: Duration = Duration::from_secs(30);

/// What [`DataKeys::open_cached`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The plaintext (or text that was never sealed).
    Text(String),
    /// The subject was forgotten: their key is gone.
    Forgotten,
    /// The subject's key is not at hand: [`DataKeys::load`] it, then ask again.
    NeedKey(String),
}

/// A key as this process holds it: unwrapped, or known to be gone.
#[derive(Clone, Copy)]
struct Held {
    key: Option<[u8; KEY_LEN]>,
    at: Instant,
}

/// Sealing and opening personal fields with their subjects' keys.
pub struct DataKeys {
    store: Arc<dyn KeyStore>,
    master: MasterKey,
    /// Unwrapped keys (and keys known to be gone), by subject.
    held: Mutex<HashMap<String, Held>>,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKeys({:?})", self.master)
    }
}

/// A sealed field's parts: `sealed:v1:<subject>:<base64>`.
fn split_sealed(field: &str) -> Option<(&str, &str)> {
    field.strip_prefix(SEALED_PREFIX)?.split_once(':')
}

/// The data subject a sealed field names, if it is sealed.
pub fn sealed_subject(field: &str) -> Option<&str> {
    split_sealed(field).map(|(s, _)| s)
}

impl DataKeys {
    /// Keys kept in `store`, wrapped by `master`.
    pub fn new(store: Arc<dyn KeyStore>, master: MasterKey) -> Self {
        Self {
            store,
            master,
            held: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What this process holds of `subject`'s key, if still trusted: a key is asked again
    /// after [`KEY_TTL`]; a key known to be gone stays gone.
    fn held(&self, subject: &str) -> Option<Option<[u8; KEY_LEN]>> {
        let h = *self.lock().get(subject)?;
        match h.key {
            Some(_) if h.at.elapsed() > KEY_TTL => None,
            k => Some(k),
        }
    }

    fn remember(&self, subject: &str, key: Option<[u8; KEY_LEN]>) {
        self.lock().insert(
            subject.to_owned(),
            Held {
                key,
                at: Instant::now(),
            },
        );
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
        let plain = decrypt(&self.master.cipher(), nonce, sealed, subject).ok_or_else(|| {
            Error::infrastructure(format!("the data key of {subject} does not open"))
        })?;
        plain.try_into().map_err(|_| {
            Error::infrastructure(format!("the data key of {subject} has a bad length"))
        })
    }

    fn wrap_key(master: &MasterKey, subject: &str, key: &[u8; KEY_LEN]) -> Result<WrappedKey> {
        Ok(WrappedKey {
            master: master.id.clone(),
            wrapped: encrypt(&master.cipher(), key, subject)?,
        })
    }

    /// `subject`'s key: kept, or made now.
    async fn key_of(&self, subject: &str) -> Result<[u8; KEY_LEN]> {
        if let Some(Some(k)) = self.held(subject) {
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
        self.remember(subject, Some(key));
        Ok(key)
    }

    /// Seals `plaintext` with `subject`'s key (made if it has none):
    /// `sealed:v1:<subject>:` and the base64 of the nonce, the ciphertext and its tag. The
    /// subject (a handle: a public pseudonym) is also bound as associated data, so that a
    /// sealed field relabelled with another subject does not open.
    ///
    /// # Errors
    /// `Infrastructure` when the key store fails.
    pub async fn seal(&self, subject: &str, plaintext: &str) -> Result<String> {
        let key = self.key_of(subject).await?;
        let bytes = encrypt(
            &XChaCha20Poly1305::new((&key).into()),
            plaintext.as_bytes(),
            subject,
        )?;
        Ok(format!(
            "{SEALED_PREFIX}{subject}:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        ))
    }

    /// Makes sure this process holds `subject`'s key (or knows it is gone), for
    /// [`DataKeys::open_cached`].
    ///
    /// # Errors
    /// `Infrastructure` when the key store fails or the key does not unwrap.
    pub async fn load(&self, subject: &str) -> Result<()> {
        if self.held(subject).is_some() {
            return Ok(());
        }
        let key = match self.store.key(subject).await? {
            Some(w) => Some(self.unwrap_key(subject, &w)?),
            None => None,
        };
        self.remember(subject, key);
        Ok(())
    }

    /// Opens a sealed field with the keys at hand, without waiting: what folding a stream
    /// needs. Text that is not sealed is returned as it is (stored before encryption).
    ///
    /// # Errors
    /// `Infrastructure` when the field was altered or relabelled.
    pub fn open_cached(&self, field: &str) -> Result<Opened> {
        let Some((subject, b64)) = split_sealed(field) else {
            return Ok(Opened::Text(field.to_owned()));
        };
        let key = match self.held(subject) {
            None => return Ok(Opened::NeedKey(subject.to_owned())),
            Some(None) => return Ok(Opened::Forgotten),
            Some(Some(k)) => k,
        };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64)
            .map_err(|_| {
                Error::infrastructure(format!("a sealed field of {subject} is not base64"))
            })?;
        let (nonce, sealed) = bytes.split_at_checked(NONCE_LEN).ok_or_else(|| {
            Error::infrastructure(format!("a sealed field of {subject} is cut short"))
        })?;
        let plain = decrypt(
            &XChaCha20Poly1305::new((&key).into()),
            nonce,
            sealed,
            subject,
        )
        .ok_or_else(|| {
            Error::infrastructure(format!(
                "a sealed field of {subject} does not open with their key"
            ))
        })?;
        String::from_utf8(plain)
            .map(Opened::Text)
            .map_err(|_| Error::infrastructure(format!("a sealed field of {subject} is not text")))
    }

    /// Opens a sealed field: `None` when its subject's key is gone (they were forgotten).
    /// Text that is not sealed is returned as it is (stored before encryption).
    ///
    /// # Errors
    /// `Infrastructure` when the key store fails, or the field was altered or relabelled.
    pub async fn open(&self, field: &str) -> Result<Option<String>> {
        loop {
            match self.open_cached(field)? {
                Opened::Text(t) => return Ok(Some(t)),
                Opened::Forgotten => return Ok(None),
                Opened::NeedKey(s) => self.load(&s).await?,
            }
        }
    }

    /// Deletes `subject`'s key, here and in the store: everything sealed for them is
    /// unreadable from now on. Whether the store had it.
    ///
    /// # Errors
    /// `Infrastructure` when the key store fails.
    pub async fn forget(&self, subject: &str) -> Result<bool> {
        self.remember(subject, None);
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

/// The nonce, then the ciphertext and its tag, with `aad` bound.
fn encrypt(cipher: &XChaCha20Poly1305, msg: &[u8], aad: &str) -> Result<Vec<u8>> {
    let nonce: [u8; NONCE_LEN] = random()?;
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| Error::infrastructure("encrypting"))?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(out)
}

/// The plaintext of `sealed` under `nonce`, if it opens with `aad`.
fn decrypt(cipher: &XChaCha20Poly1305, nonce: &[u8], sealed: &[u8], aad: &str) -> Option<Vec<u8>> {
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .ok()
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(Error::infrastructure)?;
    Ok(b)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
