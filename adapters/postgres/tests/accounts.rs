//! The accounts-port contracts, on PostgreSQL (a fresh database per test).

use tally_postgres::PgAccounts;
use tally_postgres::testing::TestDb;

/// Keeps the test database alive as long as the accounts store under test.
struct Fixture {
    accounts: PgAccounts,
    _db: TestDb,
}

impl std::ops::Deref for Fixture {
    type Target = PgAccounts;
    fn deref(&self) -> &PgAccounts {
        &self.accounts
    }
}

async fn fixture() -> Fixture {
    let db = TestDb::create().await;
    Fixture {
        accounts: PgAccounts::new(db.store().clone()),
        _db: db,
    }
}

tally_contract::accounts_contract_tests!(fixture());
