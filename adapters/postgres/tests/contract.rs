//! The driven-port contracts, on PostgreSQL: each test on its own fresh database.

use std::sync::Arc;
use tally_contract::Harness;
use tally_postgres::testing::TestDb;

async fn harness() -> Harness {
    let db = Arc::new(TestDb::create().await);
    let store = db.store().clone();
    let (forced, cleared, raw) = (store.clone(), store.clone(), db.clone());
    let url = db.url().to_owned();
    Harness {
        keys: Arc::new(tally_postgres::PgKeys::new(store.clone())),
        accounts: Arc::new(tally_postgres::PgAccounts::new(store.clone())),
        dump: Box::new(move || {
            let url = url.clone();
            Box::pin(async move { tally_postgres::testing::pg_dump(&url) })
        }),
        store: Arc::new(store.clone()),
        reports: Arc::new(store.clone()),
        outbox: Arc::new(store.clone()),
        cache: Arc::new(store),
        force_cache_row: Box::new(move |row| {
            let forced = forced.clone();
            Box::pin(async move { forced.force_cache_row(&row).await.expect("force a row") })
        }),
        // The harness owns the database: it is dropped with the harness.
        clear_cache: Box::new(move || {
            let (cleared, _db) = (cleared.clone(), db.clone());
            Box::pin(async move { cleared.clear_cache().await.expect("truncate") })
        }),
        insert_raw: Box::new(move |events| {
            let raw = raw.clone();
            Box::pin(async move { raw.insert_raw(&events).await })
        }),
    }
}

tally_contract::contract_tests!(harness());
