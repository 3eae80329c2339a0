//! The key-store contract, in memory.

tally_contract::keys_contract_tests!(async {
    std::sync::Arc::new(tally_memory::MemoryKeys::new())
        as std::sync::Arc<dyn tally_ports::keys::KeyStore>
});
