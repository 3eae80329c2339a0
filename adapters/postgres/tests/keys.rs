//! The key-store contract on PostgreSQL (a fresh database per test, dropped with the store's
//! last reference), and what the `member_keys` table holds.

use std::sync::Arc;
use tally_ports::keys::{DataKeys, KeyStore, MasterKey};
use tally_postgres::PgKeys;
use tally_postgres::testing::TestDb;

/// Keeps the test database alive as long as the key store under test.
struct Fixture {
    keys: PgKeys,
    _db: TestDb,
}

#[async_trait::async_trait]
impl KeyStore for Fixture {
    async fn key(&self, s: &str) -> tally_ports::Result<Option<tally_ports::keys::WrappedKey>> {
        self.keys.key(s).await
    }
    async fn add_key(
        &self,
        s: &str,
        k: tally_ports::keys::WrappedKey,
    ) -> tally_ports::Result<tally_ports::keys::WrappedKey> {
        self.keys.add_key(s, k).await
    }
    async fn delete_key(&self, s: &str) -> tally_ports::Result<bool> {
        self.keys.delete_key(s).await
    }
    async fn keys(&self) -> tally_ports::Result<Vec<(String, tally_ports::keys::WrappedKey)>> {
        self.keys.keys().await
    }
    async fn rewrap(
        &self,
        k: &[(String, tally_ports::keys::WrappedKey)],
    ) -> tally_ports::Result<()> {
        self.keys.rewrap(k).await
    }
}

async fn fixture() -> Arc<dyn KeyStore> {
    let db = TestDb::create().await;
    Arc::new(Fixture {
        keys: PgKeys::new(db.store().clone()),
        _db: db,
    })
}

tally_contract::keys_contract_tests!(fixture());

/// The table holds wrapped keys only: a sealed field does not open with the bytes stored as
/// if they were the key, and deleting the row is what forgets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_holds_wrapped_keys_only() {
    let db = TestDb::create().await;
    let store = Arc::new(PgKeys::new(db.store().clone()));
    let keys = DataKeys::new(store.clone(), MasterKey::generate().unwrap());
    let sealed = keys.seal("alice", "Alice").await.unwrap();
    let (wrapped,): (Vec<u8>,) =
        sqlx::query_as("SELECT wrapped FROM member_keys WHERE subject = 'alice'")
            .fetch_one(db.store().pool())
            .await
            .unwrap();
    // A nonce, the 32-byte key encrypted, and a 16-byte tag.
    assert_eq!(wrapped.len(), 24 + 32 + 16);
    sqlx::query("DELETE FROM member_keys WHERE subject = 'alice'")
        .execute(db.store().pool())
        .await
        .unwrap();
    let fresh = DataKeys::new(store, MasterKey::generate().unwrap());
    assert_eq!(fresh.open(&sealed).await.unwrap(), None);
}
