-- The GIN indexes of the state cache take each entry as its row is written, instead of
-- gathering them in a pending list that a later insert (or autovacuum) merges all at once:
-- with group commit a batch of launches otherwise now and then paid for merging thousands of
-- entries, the tail of its latency (see the README's Benchmarks).
ALTER INDEX state_cache_jobs_by_applicant SET (fastupdate = off);
ALTER INDEX state_cache_jobs_search SET (fastupdate = off);
ALTER INDEX state_cache_members_search SET (fastupdate = off);
