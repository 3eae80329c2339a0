//! The accounts-port contracts, on the in-memory accounts store.

tally_contract::accounts_contract_tests!(async { Box::new(tally_memory::MemoryAccounts::new()) });
