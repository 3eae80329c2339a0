//! The driven-port contracts, on the in-memory store.

use std::sync::Arc;
use tally_contract::Harness;
use tally_memory::MemoryStore;

async fn harness() -> Harness {
    let store = MemoryStore::new();
    let (forced, cleared, raw, dumped) =
        (store.clone(), store.clone(), store.clone(), store.clone());
    let accounts = tally_memory::MemoryAccounts::new();
    let keys = tally_memory::MemoryKeys::new();
    let (dumped_accounts, dumped_keys) = (accounts.clone(), keys.clone());
    Harness {
        keys: Arc::new(keys),
        accounts: Arc::new(accounts),
        dump: Box::new(move || {
            let all = format!(
                "{}\n{}\n{:?}",
                dumped.dump(),
                dumped_accounts.dump(),
                dumped_keys
            );
            Box::pin(async move { all.into_bytes() })
        }),
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
