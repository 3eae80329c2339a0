//! The driven-port contracts, on the in-memory store.

use std::sync::Arc;
use tally_contract::Harness;
use tally_memory::MemoryStore;

async fn harness() -> Harness {
    let store = MemoryStore::new();
    let (forced, cleared, raw) = (store.clone(), store.clone(), store.clone());
    Harness {
        store: Arc::new(store.clone()),
        reports: Arc::new(store.clone()),
        outbox: Arc::new(store.clone()),
        cache: Arc::new(store),
        force_cache_row: Box::new(move |row| {
            forced.force_cache_row(row);
            Box::pin(async {})
        }),
        clear_cache: Box::new(move || {
            cleared.clear_cache();
            Box::pin(async {})
        }),
        insert_raw: Box::new(move |events| {
            raw.insert_as_stored(tally_contract::raw_plan(events))
                .expect("stored as is");
            Box::pin(async {})
        }),
    }
}

tally_contract::contract_tests!(harness());
