//! Data keys kept in memory, apart from the events (see [`tally_ports::keys`]).

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tally_ports::Result;
use tally_ports::keys::{KeyStore, WrappedKey};

/// Wrapped data keys in memory. Cheap to clone: clones share the same keys.
#[derive(Debug, Clone, Default)]
pub struct MemoryKeys {
    keys: Arc<Mutex<BTreeMap<String, WrappedKey>>>,
}

impl MemoryKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, WrappedKey>> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl KeyStore for MemoryKeys {
    async fn key(&self, subject: &str) -> Result<Option<WrappedKey>> {
        Ok(self.lock().get(subject).cloned())
    }

    async fn add_key(&self, subject: &str, key: WrappedKey) -> Result<WrappedKey> {
        Ok(self.lock().entry(subject.to_owned()).or_insert(key).clone())
    }

    async fn delete_key(&self, subject: &str) -> Result<bool> {
        Ok(self.lock().remove(subject).is_some())
    }

    async fn keys(&self) -> Result<Vec<(String, WrappedKey)>> {
        Ok(self
            .lock()
            .iter()
            .map(|(s, k)| (s.clone(), k.clone()))
            .collect())
    }

    async fn rewrap(&self, keys: &[(String, WrappedKey)]) -> Result<()> {
        let mut held = self.lock();
        for (s, k) in keys {
            held.insert(s.clone(), k.clone());
        }
        Ok(())
    }
}
