//! The driven-port contracts, on the in-memory store.

use std::sync::Arc;
use tally_contract::Harness;
use tally_memory::MemoryStore;

async fn harness() -> Harness {
    let store = MemoryStore::new();
    let (forced, cleared) = (store.clone(), store.clone());
    Harness {
        store: Arc::new(store.clone()),
        cache: Arc::new(store),
        force_cache_row: Box::new(move |row| {
            forced.force_cache_row(row);
            Box::pin(async {})
        }),
        clear_cache: Box::new(move || {
            cleared.clear_cache();
            Box::pin(async {})
        }),
    }
}

tally_contract::contract_tests!(harness());
