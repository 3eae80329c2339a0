//! Contract tests for the driven ports, written once as generic functions. Every adapter runs
//! them all through [`contract_tests!`], with a [`Harness`] over a fresh, empty store.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod inputs;
pub mod keys;

use futures::future::BoxFuture;
use inputs::{apply, cancel, grant, launch, register};
use serde_json::json;
use std::sync::Arc;
use tally_domain::{Handle, JobId};
use tally_ports::driven::{
    AppendPlan, BatchEntry, CacheFilter, CachedState, CommandRecord, EventStore, StateCache,
    StoreError, StreamAppend,
};
use tally_ports::{
    Actor, Ctx, EntityKind, EntityRef, Payload, RecordedEvent, StreamId, Tally, TallyService,
};
use uuid::Uuid;

/// A fresh, empty store under test, with the back doors the cache tests need.
pub struct Harness {
    /// The event store.
    pub store: Arc<dyn EventStore>,
    /// The state cache.
    pub cache: Arc<dyn StateCache>,
    /// Where the reports are kept.
    pub reports: Arc<dyn tally_ports::driven::ReportStore>,
    /// The outbox's read side (its messages are written by the store's appends).
    pub outbox: Arc<dyn tally_ports::driven::Outbox>,
    /// Writes a cache row as is, bypassing the newer-version rule.
    pub force_cache_row: Box<dyn Fn(CachedState) -> BoxFuture<'static, ()> + Send + Sync>,
    /// Empties the cache (as `TRUNCATE` would).
    pub clear_cache: Box<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>,
    /// Stores events as an older build did: raw rows, no contract check (to read old
    /// versions through the real store).
    pub insert_raw: Box<dyn Fn(Vec<RecordedEvent>) -> BoxFuture<'static, ()> + Send + Sync>,
    /// Where the data keys of personal data are kept.
    pub keys: Arc<dyn tally_ports::keys::KeyStore>,
    /// The accounts kept beside the store.
    pub accounts: Arc<dyn tally_ports::accounts::Accounts>,
    /// Everything the storage holds, as bytes (PostgreSQL: a `pg_dump` of the database;
    /// memory: every structure, printed), to search for strings that must not be there.
    pub dump: Box<dyn Fn() -> BoxFuture<'static, Vec<u8>> + Send + Sync>,
}

/// The master key the contract tests seal with (services of one harness must agree on it).
pub const MASTER_KEY: &str = "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff";

impl Harness {
    /// A service over this store.
    pub fn service(&self) -> TallyService {
        TallyService::new(self.store.clone(), self.cache.clone()).with_outbox(self.outbox.clone())
    }

    /// A service over this store that seals personal data with [`MASTER_KEY`], and knows the
    /// accounts.
    pub fn sealed_service(&self) -> TallyService {
        let master = tally_ports::keys::MasterKey::parse(MASTER_KEY).expect("a master key");
        let keys = tally_ports::keys::DataKeys::new(self.keys.clone(), master);
        self.service()
            .with_keys(Arc::new(keys))
            .with_accounts(self.accounts.clone())
    }
}

/// Expands to one `#[tokio::test]` per contract, each on a fresh harness from `$make`
/// (an expression evaluating to a future of a [`Harness`]).
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract_tests!(@each $make;
            appended_events_load_in_order_with_versions_and_positions,
            a_multi_stream_append_is_all_or_nothing,
            a_stale_expected_version_conflicts,
            a_transaction_dropped_before_commit_leaves_no_trace,
            the_global_order_lists_every_event_once_in_order,
            a_command_id_is_recorded_once_with_its_events,
            the_cache_keeps_the_newest_state_of_each_format,
            the_cache_lists_matching_and_stale_entities,
            concurrent_appends_to_one_stream_all_land_exactly_once,
            the_service_survives_foreign_and_garbage_cache_rows,
            the_service_loses_nothing_when_the_cache_is_emptied,
            the_job_board_is_right_when_cache_rows_are_missing_or_stale,
            a_repeated_command_id_records_once,
            an_append_if_current_writes_only_when_no_stream_moved,
            racing_appends_if_current_land_once,
            a_service_never_acts_on_a_stale_state_it_holds,
            events_fold_in_order_with_their_payloads,
            a_payload_that_breaks_its_contract_is_refused_and_nothing_is_written,
            stored_samples_of_every_version_read_as_expected,
            cache_rows_written_before_an_evolution_are_rebuilt,
            reports_are_saved_with_their_checkpoint_and_never_go_back,
            a_report_follower_stopped_anywhere_resumes_to_a_clean_rebuild,
            the_feed_filters_finds_events_by_id_and_wakes_readers,
            a_cache_rebuild_repairs_rows_and_never_takes_one_back,
            a_committed_command_tells_each_recipient_once_and_a_refused_one_nobody,
            an_append_that_does_not_commit_enqueues_nothing,
            an_inbox_pages_newest_first_and_marks_read,
            personal_fields_are_sealed_at_rest_and_read_as_plaintext,
            a_forgotten_members_personal_data_is_gone_from_everything_stored,
            only_an_admin_or_the_member_forgets_a_member_and_only_once,
            a_batch_lands_its_current_commands_and_leaves_out_the_rest,
            a_command_id_twice_in_a_batch_is_recorded_once,
            commands_queued_on_one_entity_are_decided_in_turn,
            a_command_whose_stream_moved_runs_again_and_the_batch_lands,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let h = $make.await;
                $crate::$name(&h).await;
            }
        )*
    };
}

fn stream(s: &str) -> StreamId {
    StreamId::member(&Handle::parse(s).expect("handle"))
}

fn job_stream(s: &str) -> StreamId {
    StreamId::job(&JobId::parse(s).expect("job id"))
}

/// An event for `s` at `version`: a grant of `version` credits, whose reason holds quotes and
/// tags (stores never interpret payloads; they check them against their contract).
pub fn event(s: &StreamId, version: u64, command_id: Uuid) -> RecordedEvent {
    RecordedEvent {
        position: 0,
        stream: s.clone(),
        version,
        event_id: Uuid::now_v7(),
        event_type: "CreditsGranted".into(),
        schema_version: 3,
        payload: json!({
            "amount": version,
            "reason": "quotes ' \" and <b>tags</b>",
            "category": "other",
        }),
        time: tally_ports::driven::Clock::now(&tally_ports::driven::SystemClock::default()),
        actor: Actor::admin("root"),
        command_id,
        correlation_id: command_id,
        causation_id: command_id,
    }
}

/// A plan that appends these events as they are (grouped by stream, each stream from the
/// version before its first event), for a store's raw insert.
pub fn raw_plan(events: Vec<RecordedEvent>) -> AppendPlan {
    let mut streams: Vec<StreamAppend> = Vec::new();
    for e in events {
        match streams.iter_mut().find(|a| a.stream == e.stream) {
            Some(a) => a.events.push(e),
            None => streams.push(StreamAppend {
                stream: e.stream.clone(),
                expected_version: e.version - 1,
                events: vec![e],
            }),
        }
    }
    AppendPlan {
        streams,
        command: None,
        cache: Vec::new(),
        outbox: Vec::new(),
        erase: Vec::new(),
    }
}

/// A plan appending `n` events to each stream, from its expected version.
fn plan(streams: &[(&StreamId, u64, u64)], command: Option<CommandRecord>) -> AppendPlan {
    let cid = command.as_ref().map_or_else(Uuid::now_v7, |c| c.command_id);
    AppendPlan {
        streams: streams
            .iter()
            .map(|(s, expected, n)| StreamAppend {
                stream: (*s).clone(),
                expected_version: *expected,
                events: (1..=*n).map(|i| event(s, expected + i, cid)).collect(),
            })
            .collect(),
        command,
        cache: Vec::new(),
        outbox: Vec::new(),
        erase: Vec::new(),
    }
}

async fn commit(h: &Harness, p: AppendPlan) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut tx = h.store.begin().await?;
    tx.append(p).await?;
    tx.commit().await
}

/// Appended events come back in order, with versions 1..n and increasing positions.
pub async fn appended_events_load_in_order_with_versions_and_positions(h: &Harness) {
    let a = stream("alice");
    let got = commit(h, plan(&[(&a, 0, 3)], None)).await.expect("append");
    assert_eq!(got.len(), 3);
    assert!(got.windows(2).all(|w| w[0].position < w[1].position));
    let loaded = h.store.load(&a, 0).await.expect("load");
    assert_eq!(loaded, got, "load returns exactly what was committed");
    assert_eq!(
        loaded.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(loaded[0].payload["reason"], "quotes ' \" and <b>tags</b>");
    let tail = h.store.load(&a, 2).await.expect("load");
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].version, 3);
    assert!(h.store.load(&stream("nobody"), 0).await.unwrap().is_empty());
}

/// A plan over several streams lands whole, or not at all when one expectation fails.
pub async fn a_multi_stream_append_is_all_or_nothing(h: &Harness) {
    let (a, b) = (stream("alice"), job_stream("j1"));
    commit(h, plan(&[(&a, 0, 1), (&b, 0, 2)], None))
        .await
        .expect("first append");
    // `a` is at 1 as expected, `b` is at 2, not 1: the whole plan fails.
    let err = commit(h, plan(&[(&a, 1, 1), (&b, 1, 1)], None)).await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    assert_eq!(h.store.load(&a, 0).await.unwrap().len(), 1);
    assert_eq!(h.store.load(&b, 0).await.unwrap().len(), 2);
    assert_eq!(h.store.read_all(0, 100).await.unwrap().len(), 3);
}

/// Two transactions that saw the same version: the second to commit conflicts.
pub async fn a_stale_expected_version_conflicts(h: &Harness) {
    let a = stream("alice");
    let mut t1 = h.store.begin().await.unwrap();
    let mut t2 = h.store.begin().await.unwrap();
    assert!(t1.load(&[(a.clone(), 0)]).await.unwrap()[0].is_empty());
    assert!(t2.load(&[(a.clone(), 0)]).await.unwrap()[0].is_empty());
    t1.append(plan(&[(&a, 0, 1)], None)).await.unwrap();
    t1.commit().await.unwrap();
    let second = async {
        t2.append(plan(&[(&a, 0, 1)], None)).await?;
        t2.commit().await
    }
    .await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
    assert_eq!(h.store.load(&a, 0).await.unwrap().len(), 1);
}

/// Dropping a transaction after its append records nothing.
pub async fn a_transaction_dropped_before_commit_leaves_no_trace(h: &Harness) {
    let a = stream("alice");
    {
        let mut tx = h.store.begin().await.unwrap();
        tx.append(plan(&[(&a, 0, 2)], None)).await.unwrap();
    }
    assert!(h.store.load(&a, 0).await.unwrap().is_empty());
    assert!(h.store.read_all(0, 10).await.unwrap().is_empty());
    // And the stream is still writable from version 0.
    commit(h, plan(&[(&a, 0, 1)], None)).await.unwrap();
}

/// `read_all` pages through every event once, in position order.
pub async fn the_global_order_lists_every_event_once_in_order(h: &Harness) {
    for (i, s) in ["alice", "bobby", "carol"].iter().enumerate() {
        commit(h, plan(&[(&stream(s), 0, i as u64 + 1)], None))
            .await
            .unwrap();
    }
    let all = h.store.read_all(0, 100).await.unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = h.store.read_all(after, 4).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        after = page.last().unwrap().position;
        paged.extend(page);
    }
    assert_eq!(paged, all);
}

/// A command id is stored with its events, and a second use of it conflicts.
pub async fn a_command_id_is_recorded_once_with_its_events(h: &Harness) {
    let (a, b) = (stream("alice"), stream("bobby"));
    let id = Uuid::now_v7();
    let rec = || {
        Some(CommandRecord {
            command_id: id,
            fingerprint: "grant/1".into(),
        })
    };
    assert!(h.store.command_outcome(id).await.unwrap().is_none());
    let got = commit(h, plan(&[(&a, 0, 2)], rec())).await.unwrap();
    let o = h
        .store
        .command_outcome(id)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(o.fingerprint, "grant/1");
    assert_eq!(o.events, got);
    let again = commit(h, plan(&[(&b, 0, 1)], rec())).await;
    assert!(
        matches!(again, Err(StoreError::Duplicate(d)) if d == id),
        "{again:?}"
    );
    assert!(h.store.load(&b, 0).await.unwrap().is_empty());
}

fn row(s: &StreamId, version: u64, format: &str, state: serde_json::Value) -> CachedState {
    CachedState {
        stream: s.clone(),
        version,
        format: format.into(),
        state,
    }
}

/// `put` keeps the newest version of a format; a row of another format is replaced.
pub async fn the_cache_keeps_the_newest_state_of_each_format(h: &Harness) {
    let a = stream("alice");
    assert!(
        h.cache
            .get(std::slice::from_ref(&a))
            .await
            .unwrap()
            .is_empty()
    );
    h.cache
        .put(&[row(&a, 2, "F1", json!({"v": 2}))])
        .await
        .unwrap();
    h.cache
        .put(&[row(&a, 1, "F1", json!({"v": 1}))])
        .await
        .unwrap();
    let got = h.cache.get(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(got, vec![row(&a, 2, "F1", json!({"v": 2}))]);
    h.cache
        .put(&[row(&a, 1, "F2", json!({"v": 1}))])
        .await
        .unwrap();
    let got = h.cache.get(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(got, vec![row(&a, 1, "F2", json!({"v": 1}))]);
}

/// `list` returns the entities matching the filter, and every missing or stale one.
pub async fn the_cache_lists_matching_and_stale_entities(h: &Harness) {
    let (open, done, stale, missing) = (
        job_stream("open"),
        job_stream("done"),
        job_stream("stale"),
        job_stream("missing"),
    );
    for s in [&open, &done, &stale, &missing] {
        commit(h, plan(&[(s, 0, 2)], None)).await.unwrap();
    }
    commit(h, plan(&[(&stream("alice"), 0, 1)], None))
        .await
        .unwrap();
    h.cache
        .put(&[
            row(&open, 2, "F", json!({"status": "open"})),
            row(&done, 2, "F", json!({"status": "completed"})),
            row(&stale, 1, "F", json!({"status": "completed"})),
        ])
        .await
        .unwrap();
    let listed = h
        .cache
        .list(EntityKind::Job, CacheFilter::OpenJobs, "F")
        .await
        .unwrap();
    let mut names: Vec<&str> = listed.iter().map(|l| l.stream.key()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["missing", "open", "stale"]);
    for l in &listed {
        assert_eq!(l.version, 2, "{l:?}");
        assert!(l.created_position > 0);
    }
    let missing_row = listed.iter().find(|l| l.stream == missing).unwrap();
    assert!(missing_row.cached.is_none());
    // Rows of another format count as missing.
    let other = h
        .cache
        .list(EntityKind::Job, CacheFilter::OpenJobs, "G")
        .await
        .unwrap();
    assert_eq!(other.len(), 4);
    assert!(other.iter().all(|l| l.cached.is_none()));
    let members = h
        .cache
        .list(EntityKind::Member, CacheFilter::All, "F")
        .await
        .unwrap();
    assert_eq!(members.len(), 1);
}

/// Many tasks appending to one stream with retries: every append lands exactly once, and
/// the versions are 1..n with no gap or duplicate.
pub async fn concurrent_appends_to_one_stream_all_land_exactly_once(h: &Harness) {
    let a = stream("alice");
    let tasks = 8;
    let per_task = 25;
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let store = h.store.clone();
        let a = a.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..per_task {
                loop {
                    let attempt = async {
                        let mut tx = store.begin().await?;
                        let v = tx.load(&[(a.clone(), 0)]).await?[0].len() as u64;
                        tx.append(plan(&[(&a, v, 1)], None)).await?;
                        tx.commit().await
                    }
                    .await;
                    match attempt {
                        Ok(_) => break,
                        Err(StoreError::Conflict(_)) => tokio::task::yield_now().await,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }));
    }
    for t in handles {
        t.await.unwrap();
    }
    let all = h.store.load(&a, 0).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=(tasks * per_task) as u64).collect::<Vec<_>>()
    );
}

fn admin() -> Ctx {
    Ctx::new(Actor::admin("root"))
}

async fn member_with(svc: &TallyService, handle: &str, credits: i64) {
    svc.execute(&admin(), register(handle, handle))
        .await
        .expect("register");
    if credits > 0 {
        svc.execute(&admin(), grant(handle, credits, "test"))
            .await
            .expect("grant");
    }
}

/// Cache rows of another format, or that do not decode, are ignored, rebuilt and rewritten.
pub async fn the_service_survives_foreign_and_garbage_cache_rows(h: &Harness) {
    let svc = h.service();
    member_with(&svc, "alice", 100).await;
    let a = stream("alice");
    let fmt = svc.format(EntityKind::Member).to_owned();
    // An old format claiming a huge balance at a high version.
    (h.force_cache_row)(row(
        &a,
        999,
        "Wallet/0000000000000000",
        json!({"balance": 1_000_000}),
    ))
    .await;
    assert_eq!(svc.wallet(&admin(), "alice").await.unwrap().balance, 100);
    // A row of the current format that does not decode.
    (h.force_cache_row)(row(&a, 1, &fmt, json!("garbage"))).await;
    svc.execute(&admin(), grant("alice", 5, "")).await.unwrap();
    assert_eq!(svc.wallet(&admin(), "alice").await.unwrap().balance, 105);
    let rows = h.cache.get(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].format, fmt,
        "the row was rewritten in the current format"
    );
    assert_eq!(rows[0].version, 3);
    assert_eq!(rows[0].state["balance"], 105);
}

/// Emptying the cache loses nothing: states are rebuilt from the events.
pub async fn the_service_loses_nothing_when_the_cache_is_emptied(h: &Harness) {
    let svc = h.service();
    member_with(&svc, "alice", 100).await;
    member_with(&svc, "bobby", 0).await;
    let alice = Ctx::new(Actor::member("alice"));
    let r = svc.execute(&alice, launch("Logo", 30)).await.unwrap();
    let job = r.launched_job().unwrap().to_owned();
    (h.clear_cache)().await;
    let w = svc.wallet(&admin(), "alice").await.unwrap();
    assert_eq!((w.balance, w.escrowed), (70, 30));
    let board = svc
        .job_board(&Ctx::new(Actor::Anonymous), 10)
        .await
        .unwrap();
    assert_eq!(board.len(), 1);
    assert_eq!(board[0].id, job);
    svc.execute(&Ctx::new(Actor::member("bobby")), apply(&job, "me"))
        .await
        .unwrap();
    let history = svc.history(&admin(), &EntityRef::job(job)).await.unwrap();
    assert_eq!(history.len(), 2);
}

/// The job board is selected from the cache, yet right when rows are missing or stale (as
/// after a crash between a commit and its cache write).
pub async fn the_job_board_is_right_when_cache_rows_are_missing_or_stale(h: &Harness) {
    let svc = h.service();
    member_with(&svc, "alice", 100).await;
    let alice = Ctx::new(Actor::member("alice"));
    let mut jobs = Vec::new();
    for t in ["one", "two", "three"] {
        let r = svc.execute(&alice, launch(t, 10)).await.unwrap();
        jobs.push(r.launched_job().unwrap().to_owned());
    }
    let fmt = svc.format(EntityKind::Job).to_owned();
    // "one" is cancelled, but its cache row still says open (stale).
    let one = job_stream(&jobs[0]);
    let stale = h
        .cache
        .get(std::slice::from_ref(&one))
        .await
        .unwrap()
        .remove(0);
    svc.execute(&alice, cancel(&jobs[0], "no")).await.unwrap();
    (h.force_cache_row)(stale).await;
    // "two" has no row of the current format.
    (h.force_cache_row)(row(&job_stream(&jobs[1]), 1, "Job/0", json!({}))).await;
    let board = svc
        .job_board(&Ctx::new(Actor::Anonymous), 10)
        .await
        .unwrap();
    let ids: Vec<&str> = board.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![jobs[2].as_str(), jobs[1].as_str()],
        "newest first"
    );
    let rows = h.cache.get(&[one]).await.unwrap();
    assert_eq!(rows[0].format, fmt);
    assert_eq!(
        rows[0].state["status"], "cancelled",
        "the stale row was rebuilt"
    );
}

/// Repeating a command with the same command id returns the first outcome, records nothing.
pub async fn a_repeated_command_id_records_once(h: &Harness) {
    let svc = h.service();
    member_with(&svc, "alice", 0).await;
    let id = Uuid::now_v7();
    let once = || grant("alice", 10, "once");
    let ctx = admin().with_command_id(id);
    let first = svc.execute(&ctx, once()).await.unwrap();
    let second = svc.execute(&ctx, once()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.command_id, id);
    assert_eq!(svc.wallet(&admin(), "alice").await.unwrap().balance, 10);
    let reused = svc
        .execute(&ctx, grant("alice", 11, "once"))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), "command_id_reused");
    // Counted by stream: the global order is gap-free, so it may not show yet what this test
    // just committed while another test's transaction on the same database is in flight.
    let alice = stream("alice");
    let recorded = |streams: Vec<StreamId>| async move {
        let mut n = 0;
        for s in &streams {
            n += h.store.load(s, 0).await.unwrap().len();
        }
        n
    };
    let before = recorded(vec![alice.clone()]).await;
    // Concurrent duplicates also record once.
    let id2 = Uuid::now_v7();
    let svc = Arc::new(svc);
    let mut handles = Vec::new();
    for _ in 0..8 {
        let svc = svc.clone();
        handles.push(tokio::spawn(async move {
            svc.execute(&admin().with_command_id(id2), once()).await
        }));
    }
    let mut receipts = Vec::new();
    for t in handles {
        receipts.push(t.await.unwrap().unwrap());
    }
    assert!(receipts.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(recorded(vec![alice.clone()]).await, before + 1);
    // Concurrent duplicates of a launch: the copies that decide after the first committed see
    // the job already there, and must still answer with the first receipt, not `job_exists`.
    svc.execute(&admin(), grant("alice", 50, "once"))
        .await
        .unwrap();
    let before = recorded(vec![alice.clone()]).await;
    let id3 = Uuid::now_v7();
    let mut handles = Vec::new();
    for _ in 0..8 {
        let svc = svc.clone();
        handles.push(tokio::spawn(async move {
            let alice = Ctx::new(Actor::member("alice")).with_command_id(id3);
            svc.execute(&alice, launch("Once", 5)).await
        }));
    }
    let mut receipts = Vec::new();
    for t in handles {
        receipts.push(
            t.await
                .unwrap()
                .expect("every duplicate gets the first receipt"),
        );
    }
    assert!(receipts.windows(2).all(|w| w[0] == w[1]));
    // Every launch debits alice, so a second one would show on her stream; the job's own
    // streams hold the first one's events only.
    let mut streams = vec![alice.clone()];
    for e in &receipts[0].events {
        if !streams.contains(&e.stream) {
            streams.push(e.stream.clone());
        }
    }
    assert_eq!(
        recorded(streams).await,
        before + receipts[0].events.len(),
        "the launch is recorded once"
    );
    assert_eq!(
        recorded(vec![alice]).await,
        before + 1,
        "alice is debited once"
    );
}

/// `append_if_current` appends only when every stream read, written or not, is still at the
/// version given; otherwise it writes nothing.
pub async fn an_append_if_current_writes_only_when_no_stream_moved(h: &Harness) {
    let (a, b, c) = (stream("alice"), stream("bob"), job_stream("j1"));
    let all = || async { h.store.read_all(0, 1000).await.unwrap() };
    // One event on a new stream, with a cache row.
    let mut p = plan(&[(&a, 0, 1)], None);
    p.cache = vec![row(&a, 1, "F1", json!({"v": 1}))];
    let got = h
        .store
        .append_if_current(&[(a.clone(), 0)], p)
        .await
        .expect("append")
        .expect("current");
    assert_eq!(got.len(), 1);
    assert_eq!(h.store.load(&a, 0).await.unwrap(), got);
    let cached = h.cache.get(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(cached, vec![row(&a, 1, "F1", json!({"v": 1}))]);
    // Stale: `alice` is at 1, not 0. Nothing is written.
    let stale = h
        .store
        .append_if_current(&[(a.clone(), 0)], plan(&[(&a, 0, 1)], None))
        .await
        .expect("no error");
    assert!(stale.is_none());
    assert_eq!(all().await.len(), 1);
    // A stream the decision only read moved on (bob now exists): nothing is written.
    commit(h, plan(&[(&b, 0, 1)], None)).await.unwrap();
    let stale = h
        .store
        .append_if_current(&[(a.clone(), 1), (b.clone(), 0)], plan(&[(&a, 1, 1)], None))
        .await
        .expect("no error");
    assert!(stale.is_none());
    assert_eq!(all().await.len(), 2);
    let ok = h
        .store
        .append_if_current(&[(a.clone(), 1), (b.clone(), 1)], plan(&[(&a, 1, 1)], None))
        .await
        .unwrap();
    assert_eq!(ok.expect("current")[0].version, 2);
    // An existing stream that moved on (alice is at 2, not 1): nothing is written, and it is
    // no conflict either (the caller simply loads and decides again).
    let stale = h
        .store
        .append_if_current(&[(a.clone(), 1)], plan(&[(&a, 1, 1)], None))
        .await
        .expect("no error");
    assert!(stale.is_none());
    assert_eq!(all().await.len(), 3);
    // Several streams and events, with a command id: all of it, positions in order.
    let id = Uuid::now_v7();
    let record = CommandRecord {
        command_id: id,
        fingerprint: "f".into(),
    };
    let got = h
        .store
        .append_if_current(
            &[(a.clone(), 2), (c.clone(), 0)],
            plan(&[(&a, 2, 2), (&c, 0, 1)], Some(record)),
        )
        .await
        .unwrap()
        .expect("current");
    assert_eq!(got.len(), 3);
    assert!(got.windows(2).all(|w| w[0].position < w[1].position));
    let outcome = h
        .store
        .command_outcome(id)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(outcome.events, got);
    assert_eq!(all().await.len(), 6);
    // The same command id again, on current streams: refused as a duplicate, nothing written.
    let again = h
        .store
        .append_if_current(
            &[(a.clone(), 4)],
            plan(
                &[(&a, 4, 1)],
                Some(CommandRecord {
                    command_id: id,
                    fingerprint: "f".into(),
                }),
            ),
        )
        .await;
    assert!(
        matches!(again, Err(StoreError::Duplicate(d)) if d == id),
        "{again:?}"
    );
    assert_eq!(all().await.len(), 6);
}

/// Appends that saw the same version race: exactly one lands.
pub async fn racing_appends_if_current_land_once(h: &Harness) {
    let a = stream("alice");
    commit(h, plan(&[(&a, 0, 1)], None)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, a) = (h.store.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            store
                .append_if_current(&[(a.clone(), 1)], plan(&[(&a, 1, 1)], None))
                .await
        }));
    }
    let mut landed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Some(_)) => landed += 1,
            Ok(None) | Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(landed, 1);
    assert_eq!(h.store.load(&a, 0).await.unwrap().len(), 2);
}

/// Two services over one store, as two processes: each keeps the states it saw in memory,
/// and must never decide on them once the other moved on: not to refuse (`insufficient
/// credits` on a stale balance), not to overwrite.
pub async fn a_service_never_acts_on_a_stale_state_it_holds(h: &Harness) {
    let (one, two) = (h.service(), h.service());
    member_with(&one, "alice", 0).await;
    // `one` holds alice at balance 0; `two` grants her 10.
    member_with(&two, "bobby", 0).await;
    two.execute(&admin(), grant("alice", 10, "elsewhere"))
        .await
        .unwrap();
    let alice = Ctx::new(Actor::member("alice"));
    one.execute(&alice, launch("Paid from credits granted elsewhere", 6))
        .await
        .expect("the grant made elsewhere counts");
    let more = |n| grant("alice", n, "more");
    one.execute(&admin(), more(1)).await.unwrap();
    two.execute(&admin(), more(5)).await.unwrap();
    one.execute(&admin(), more(1)).await.unwrap();
    for svc in [&one, &two] {
        let w = svc.wallet(&admin(), "alice").await.unwrap();
        assert_eq!((w.balance, w.escrowed), (10 - 6 + 1 + 5 + 1, 6));
    }
    let versions: Vec<u64> = h
        .store
        .load(&stream("alice"), 0)
        .await
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, (1..=6).collect::<Vec<_>>());
}

/// `fold_events` (outside and inside a transaction) hands over every event above the version
/// asked, in version order, with its payload as JSON text; a fold that fails stops the read.
pub async fn events_fold_in_order_with_their_payloads(h: &Harness) {
    let (a, b) = (stream("alice"), job_stream("j1"));
    commit(h, plan(&[(&a, 0, 3), (&b, 0, 2)], None))
        .await
        .unwrap();
    let mut seen = Vec::new();
    h.store
        .fold_events(&a, 1, &mut |e| {
            let payload: serde_json::Value = match e.payload {
                Payload::Json(v) => v.clone(),
                Payload::Text(t) => serde_json::from_str(t).map_err(|e| e.to_string())?,
            };
            seen.push((
                e.version,
                e.event_type.to_owned(),
                e.schema_version,
                payload,
            ));
            Ok(())
        })
        .await
        .unwrap();
    let expected: Vec<_> = h
        .store
        .load(&a, 1)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.version, e.event_type, e.schema_version, e.payload))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), vec![2, 3]);
    let stopped = h.store.fold_events(&a, 0, &mut |_| Err("no".into())).await;
    assert!(matches!(stopped, Err(StoreError::Other(_))), "{stopped:?}");

    let mut tx = h.store.begin().await.unwrap();
    let mut seen: Vec<(usize, u64)> = Vec::new();
    tx.fold_events(
        &[(b.clone(), 0), (a.clone(), 2), (stream("nobody"), 0)],
        &mut |i, e| {
            seen.push((i, e.version));
            Ok(())
        },
    )
    .await
    .unwrap();
    // Each stream's events in version order (streams may interleave).
    let of = |i| {
        seen.iter()
            .filter(|s| s.0 == i)
            .map(|s| s.1)
            .collect::<Vec<_>>()
    };
    assert_eq!((of(0), of(1), of(2)), (vec![1, 2], vec![3], vec![]));
}

/// A payload that breaks its event contract (or an old version, or an unknown type) is
/// refused before anything is written, on either append path, and the plan's other events
/// with it.
pub async fn a_payload_that_breaks_its_contract_is_refused_and_nothing_is_written(h: &Harness) {
    let (a, b) = (stream("alice"), stream("bob"));
    let broken = |mut e: RecordedEvent, f: &dyn Fn(&mut RecordedEvent)| {
        f(&mut e);
        e
    };
    type Breaks<'a> = &'a dyn Fn(&mut RecordedEvent);
    let cases: [(&str, Breaks); 4] = [
        ("an amount below zero", &|e| e.payload["amount"] = json!(-5)),
        ("a category of no kind", &|e| {
            e.payload["category"] = json!("bribe")
        }),
        ("an old version", &|e| {
            e.schema_version = 1;
            e.payload.as_object_mut().unwrap().remove("category");
        }),
        ("an unknown type", &|e| e.event_type = "TestHappened".into()),
    ];
    for (what, f) in cases {
        let mut p = plan(&[(&a, 0, 1), (&b, 0, 1)], None);
        let bad = broken(p.streams[1].events.remove(0), f);
        p.streams[1].events.push(bad);
        let err = commit(h, p.clone()).await;
        assert!(
            matches!(err, Err(StoreError::Contract(_))),
            "{what}: {err:?}"
        );
        let fast = h.store.append_if_current(&[], p).await;
        assert!(
            matches!(fast, Err(StoreError::Contract(_))),
            "{what}: {fast:?}"
        );
    }
    assert!(h.store.load(&a, 0).await.unwrap().is_empty());
    assert!(h.store.read_all(0, 10).await.unwrap().is_empty());
    // The same plan, within its contract, lands.
    commit(h, plan(&[(&a, 0, 1), (&b, 0, 1)], None))
        .await
        .unwrap();
    assert_eq!(h.store.read_all(0, 10).await.unwrap().len(), 2);
}

/// The stored samples: `contracts/samples/<Type>/v<N>.json`, each a stream of events as
/// some build stored them.
fn samples() -> Vec<(String, serde_json::Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/samples");
    let mut out = Vec::new();
    for t in std::fs::read_dir(&dir).expect("contracts/samples") {
        let t = t.expect("an entry").path();
        for f in std::fs::read_dir(&t).expect("a type's samples") {
            let f = f.expect("an entry").path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".expected.json") || !name.ends_with(".json") {
                continue;
            }
            let text = std::fs::read_to_string(&f).expect("a sample");
            let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            out.push((f.display().to_string(), v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A sample's events as the store's rows: versions 1, 2, ...; fixed ids and times.
fn sample_events(sample: &serde_json::Value) -> (StreamId, Vec<RecordedEvent>) {
    let s = StreamId::parse(sample["stream"].as_str().expect("a stream")).expect("a stream id");
    let t0 = chrono::DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
        .unwrap()
        .to_utc();
    let events = sample["events"]
        .as_array()
        .expect("events")
        .iter()
        .zip(1u64..)
        .map(|(e, v)| {
            let id =
                Uuid::from_u128(u128::from(fnv(s.to_string().as_bytes())) << 64 | u128::from(v));
            RecordedEvent {
                position: 0,
                stream: s.clone(),
                version: v,
                event_id: id,
                event_type: e["type"].as_str().expect("a type").to_owned(),
                schema_version: u32::try_from(e["schema_version"].as_u64().expect("a version"))
                    .expect("small"),
                payload: e["payload"].clone(),
                time: t0 + chrono::Duration::minutes(i64::try_from(v).unwrap()),
                actor: e["actor"]
                    .as_str()
                    .unwrap_or("admin:root")
                    .parse()
                    .expect("an actor"),
                command_id: id,
                correlation_id: id,
                causation_id: id,
            }
        })
        .collect();
    (s, events)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every stored sample, inserted as raw rows of its version, reads through the store and the
/// service as its expected file says: the folded state, and the feed, which serves current
/// versions only. `TALLY_BLESS_SAMPLES=1` writes a missing expected file (never overwrites).
pub async fn stored_samples_of_every_version_read_as_expected(h: &Harness) {
    let svc = h.service();
    let admin = Ctx::new(Actor::admin("root"));
    let all = samples();
    assert!(all.len() >= 15, "only {} samples", all.len());
    for (_, sample) in &all {
        (h.insert_raw)(sample_events(sample).1).await;
    }
    let feed = svc.feed(&admin, 0, 1000).await.expect("the feed");
    let mut problems = Vec::new();
    for (path, sample) in &all {
        let (s, _) = sample_events(sample);
        let entity = EntityRef {
            kind: s.kind(),
            key: s.key().to_owned(),
        };
        let (version, state) = svc.current_state(&entity).await.expect("the state");
        let items: Vec<_> = feed
            .events
            .iter()
            .filter(|e| e.stream == s)
            .map(|e| json!({"type": e.event_type, "schema_version": e.schema_version, "payload": e.payload}))
            .collect();
        let history = svc.history(&admin, &entity).await.expect("the history");
        assert_eq!(history.len(), items.len(), "{path}");
        assert!(
            history.iter().all(|e| Some(e.schema_version)
                == tally_ports::contracts::current_version(&e.event_type)),
            "{path}: {history:?}"
        );
        let got = json!({"version": version, "state": state, "feed": items});
        let expected_path = path.replace(".json", ".expected.json");
        match std::fs::read_to_string(&expected_path) {
            Ok(text) => {
                let expected: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                if expected != got {
                    problems.push(format!(
                        "{path} no longer reads as {expected_path} says.\n  expected: {expected}\n  \
                         got:      {got}\nStored events are forever: fix the upcaster or the \
                         fold, never the sample."
                    ));
                }
            }
            Err(_) if std::env::var_os("TALLY_BLESS_SAMPLES").is_some() => {
                let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
                std::fs::write(&expected_path, text).expect("write");
                eprintln!("wrote {expected_path}");
            }
            Err(_) => problems.push(format!(
                "{expected_path} is missing: run `TALLY_BLESS_SAMPLES=1 cargo test -p \
                 tally-memory --test contract stored_samples`, review it and commit it"
            )),
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

/// The format of a job's state before applications had `proposed_days` (what the previous
/// build wrote in its cache rows).
pub const JOB_FORMAT_BEFORE_PROPOSED_DAYS: &str = "Job/133f6a67ac9f9b32";

/// A cache row written by the build before an evolution (another format) is ignored: the
/// state is rebuilt from the events, old versions upcast, and the row overwritten. Nothing
/// needs a migration.
pub async fn cache_rows_written_before_an_evolution_are_rebuilt(h: &Harness) {
    let svc = h.service();
    let sample = &samples()
        .into_iter()
        .find(|(p, _)| p.ends_with("ApplicationSubmitted/v1.json"))
        .expect("the v1 application sample")
        .1;
    let (s, events) = sample_events(sample);
    (h.insert_raw)(events).await;
    assert_ne!(svc.format(EntityKind::Job), JOB_FORMAT_BEFORE_PROPOSED_DAYS);
    // As the old build cached it: no `proposed_days`, and (to tell it apart) a title the
    // events never held.
    (h.force_cache_row)(CachedState {
        stream: s.clone(),
        version: 2,
        format: JOB_FORMAT_BEFORE_PROPOSED_DAYS.into(),
        state: json!({
            "details": {"id": s.key(), "owner": "olive", "title": "From the old cache",
                        "description": "", "reward": 40},
            "status": "open",
            "applications": {"pat": {"pitch": "I have a brush.", "status": "live"}},
            "accepted": null,
            "cancel_reason": null,
        }),
    })
    .await;
    let entity = EntityRef::job(s.key());
    let (version, state) = svc.current_state(&entity).await.unwrap();
    let job = state.as_job().expect("a job");
    assert_eq!(version, 2);
    assert_eq!(
        job.details.as_ref().unwrap().title.as_str(),
        "Paint the fence"
    );
    assert_eq!(
        job.applications.values().next().unwrap().proposed_days,
        None
    );
    let row = h.cache.get(std::slice::from_ref(&s)).await.unwrap();
    assert_eq!(
        row[0].format,
        svc.format(EntityKind::Job),
        "the row was rewritten"
    );
}

/// Reports are saved with their checkpoint, and a save never takes them back to an older
/// checkpoint (two followers racing).
pub async fn reports_are_saved_with_their_checkpoint_and_never_go_back(h: &Harness) {
    use tally_ports::reports::Reports;
    assert_eq!(h.reports.load_reports().await.unwrap(), Reports::new());
    let svc = h.service();
    let admin = Ctx::new(Actor::admin("root"));
    svc.execute(&admin, register("alice", "Alice"))
        .await
        .unwrap();
    svc.execute(&admin, grant("alice", 5, "welcome"))
        .await
        .unwrap();
    let events = h.store.read_all(0, 10).await.unwrap();
    let (mut one, mut two) = (Reports::new(), Reports::new());
    one.apply_all(&events[..1]).unwrap();
    two.apply_all(&events).unwrap();
    assert!(h.reports.save_reports(&two).await.unwrap());
    assert!(
        !h.reports.save_reports(&one).await.unwrap(),
        "an older checkpoint"
    );
    assert_eq!(h.reports.load_reports().await.unwrap(), two);
}

/// A follower that stops between batches, or in the middle of one (it folded but never
/// saved), resumes from the saved checkpoint to exactly the reports of a clean rebuild: nothing
/// counted twice, nothing skipped.
pub async fn a_report_follower_stopped_anywhere_resumes_to_a_clean_rebuild(h: &Harness) {
    use tally_ports::reports::{Follower, Reports};
    let svc = h.service();
    let admin = Ctx::new(Actor::admin("root"));
    for who in ["alice", "bob"] {
        svc.execute(&admin, register(who, who)).await.unwrap();
        svc.execute(&admin, grant(who, 50, "welcome"))
            .await
            .unwrap();
    }
    let alice = Ctx::new(Actor::member("alice"));
    for i in 0..3 {
        let r = svc
            .execute(&alice, launch(&format!("job {i}"), 5))
            .await
            .unwrap();
        let job = r.launched_job().unwrap().to_owned();
        svc.execute(&alice, cancel(&job, "changed my mind"))
            .await
            .unwrap();
    }
    let follower = Follower::new(h.store.clone(), h.reports.clone(), 4);
    assert_eq!(follower.step().await.unwrap(), 4);
    // Stopped mid-batch: the next batch folded, never saved.
    let mut lost = h.reports.load_reports().await.unwrap();
    lost.apply_all(&h.store.read_all(lost.checkpoint, 4).await.unwrap())
        .unwrap();
    drop(lost);
    let resumed = Follower::new(h.store.clone(), h.reports.clone(), 3);
    resumed.catch_up().await.unwrap();
    let mut clean = Reports::new();
    clean
        .apply_all(&h.store.read_all(0, 1000).await.unwrap())
        .unwrap();
    let saved = h.reports.load_reports().await.unwrap();
    assert_eq!(saved, clean);
    // Granted then escrowed within seconds, and three cancellations within a day.
    let rules: Vec<_> = saved.signals.iter().map(|s| s.rule).collect();
    assert_eq!(
        rules,
        [
            tally_ports::reports::FraudRule::QuickCashOut,
            tally_ports::reports::FraudRule::RefundChurn
        ]
    );
    let totals = saved.daily.values().next().unwrap();
    assert_eq!(
        (
            totals.granted,
            totals.escrowed,
            totals.refunded,
            totals.jobs_cancelled
        ),
        (100, 15, 15, 3)
    );
    assert_eq!(resumed.step().await.unwrap(), 0, "caught up");
}

/// The feed's reads: a filter keeps only the types and kinds asked for, in global order and
/// paged the same way; an event is found by its id; a commit wakes a reader waiting on
/// [`EventStore::commits`], and the wake-up comes after the event is readable.
pub async fn the_feed_filters_finds_events_by_id_and_wakes_readers(h: &Harness) {
    use tally_ports::feed::FeedFilter;
    let mut woken = h.store.commits().expect("the store wakes feed readers");
    woken.borrow_and_update();
    let (a, b, j) = (stream("alice"), stream("bobby"), job_stream("j1"));
    let mut registered = event(&b, 1, Uuid::now_v7());
    registered.event_type = "MemberRegistered".into();
    registered.schema_version = 2;
    registered.payload = json!({"handle": "bobby", "display_name": "Bob"});
    commit(h, plan(&[(&a, 0, 2), (&j, 0, 1)], None))
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), woken.changed())
        .await
        .expect("a commit wakes the waiting reader")
        .expect("the store is alive");
    assert_eq!(h.store.read_all(0, 100).await.unwrap().len(), 3);
    commit(h, raw_plan(vec![registered])).await.unwrap();
    commit(h, plan(&[(&a, 2, 1)], None)).await.unwrap();

    let all = h.store.read_all(0, 100).await.unwrap();
    let only = |f: &FeedFilter| {
        all.iter()
            .filter(|e| f.matches(e))
            .cloned()
            .collect::<Vec<_>>()
    };
    let filters = [
        FeedFilter {
            types: vec!["MemberRegistered".into()],
            ..FeedFilter::default()
        },
        FeedFilter {
            kinds: vec![EntityKind::Job],
            ..FeedFilter::default()
        },
        FeedFilter {
            types: vec!["CreditsGranted".into()],
            kinds: vec![EntityKind::Member],
            ..FeedFilter::default()
        },
        FeedFilter {
            member: Some("bobby".into()),
            ..FeedFilter::default()
        },
        FeedFilter {
            job: Some("j1".into()),
            ..FeedFilter::default()
        },
        FeedFilter::default(),
    ];
    for f in &filters {
        let got = h.store.read_matching(0, 100, f).await.unwrap();
        assert_eq!(got, only(f), "{f:?}");
        // Paged by one: the same events.
        let mut paged = Vec::new();
        let mut after = 0;
        while let Some(e) = h.store.read_matching(after, 1, f).await.unwrap().pop() {
            after = e.position;
            paged.push(e);
        }
        assert_eq!(paged, got, "{f:?} paged");
        // Backwards: the newest first, paged down by one, and from any position.
        let mut newest = got.clone();
        newest.reverse();
        assert_eq!(h.store.read_before(u64::MAX, 100, f).await.unwrap(), newest);
        let mut down = Vec::new();
        let mut before = u64::MAX;
        while let Some(e) = h.store.read_before(before, 1, f).await.unwrap().pop() {
            before = e.position;
            down.push(e);
        }
        assert_eq!(down, newest, "{f:?} paged backwards");
        let below_3: Vec<_> = newest.iter().filter(|e| e.position < 3).cloned().collect();
        assert_eq!(h.store.read_before(3, 100, f).await.unwrap(), below_3);
    }
    assert_eq!(only(&filters[2]).len(), 3);
    assert_eq!(only(&filters[3]).len(), 1, "bobby's registration");
    assert_eq!(only(&filters[4]).len(), 1, "the job's own event");
    for e in &all {
        assert_eq!(
            h.store.position_of(e.event_id).await.unwrap(),
            Some(e.position)
        );
    }
    assert_eq!(h.store.position_of(Uuid::now_v7()).await.unwrap(), None);
}

/// `rebuild_cache` folds every entity from its events alone: a tampered row at the current
/// version is repaired, a missing one written, and a newer row (a command wrote it while the
/// rebuild ran) is left alone.
pub async fn a_cache_rebuild_repairs_rows_and_never_takes_one_back(h: &Harness) {
    let svc = h.service();
    for (m, c) in [("alice", 100), ("bobby", 7), ("carol", 0)] {
        member_with(&svc, m, c).await;
    }
    let (a, b, c) = (stream("alice"), stream("bobby"), stream("carol"));
    let fmt = svc.format(EntityKind::Member).to_owned();
    let good = h.cache.get(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(good.len(), 1, "commands cache what they wrote");
    // Tampered at the same version; missing; newer than the history (as if written meanwhile).
    (h.force_cache_row)(row(&a, 2, &fmt, json!({"balance": 1_000_000}))).await;
    (h.clear_cache)().await;
    (h.force_cache_row)(row(&a, 2, &fmt, json!({"balance": 1_000_000}))).await;
    (h.force_cache_row)(row(&c, 9, &fmt, good[0].state.clone())).await;
    let mut seen = Vec::new();
    let n = svc
        .rebuild_cache(EntityKind::Member, &mut |done, total| {
            seen.push((done, total))
        })
        .await
        .expect("rebuild");
    assert_eq!(n, 3);
    assert_eq!(seen.last(), Some(&(3, 3)));
    let rows = h
        .cache
        .get(&[a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    let row_of = |s: &StreamId| rows.iter().find(|r| r.stream == *s).cloned();
    assert_eq!(row_of(&a).unwrap(), good[0], "the tampered row is repaired");
    let bobby = row_of(&b).expect("the missing row is written");
    assert_eq!(
        (bobby.version, bobby.state["balance"].clone()),
        (2, json!(7))
    );
    assert_eq!(
        row_of(&c).unwrap().version,
        9,
        "a newer row is never taken back"
    );
    assert_eq!(svc.wallet(&admin(), "alice").await.unwrap().balance, 100);
}

/// The kinds in `who`'s inbox, newest first.
async fn told(svc: &TallyService, who: &str) -> Vec<tally_domain::NotificationKind> {
    let page = svc
        .inbox(
            &Ctx::new(Actor::member(who)),
            tally_ports::inbox::InboxQuery::newest(100),
        )
        .await
        .expect("inbox");
    page.items
        .iter()
        .map(|i| tally_domain::NotificationKind::parse(&i.kind).expect("a kind"))
        .collect()
}

/// The outbox is written with the events: each recipient of a committed command is told
/// once (also when the command is repeated with its id, or raced by copies of itself); a
/// refused command tells nobody.
pub async fn a_committed_command_tells_each_recipient_once_and_a_refused_one_nobody(h: &Harness) {
    use tally_domain::NotificationKind::*;
    let svc = Arc::new(h.service());
    member_with(&svc, "alice", 100).await;
    member_with(&svc, "bobby", 0).await;
    member_with(&svc, "carol", 0).await;
    assert_eq!(told(&svc, "alice").await, [CreditsGranted]);
    let alice = Ctx::new(Actor::member("alice"));
    let job = svc
        .execute(&alice, launch("Logo", 30))
        .await
        .unwrap()
        .events[0]
        .stream
        .key()
        .to_owned();
    assert_eq!(
        told(&svc, "alice").await,
        [CreditsGranted],
        "a launch tells nobody"
    );
    // Refused: the owner applying to her own job.
    assert!(svc.execute(&alice, apply(&job, "me")).await.is_err());
    assert_eq!(told(&svc, "alice").await, [CreditsGranted]);
    // Repeated and raced copies of one command id: told once.
    let id = Uuid::now_v7();
    let mut copies = Vec::new();
    for _ in 0..6 {
        let (svc, job) = (svc.clone(), job.clone());
        copies.push(tokio::spawn(async move {
            let bobby = Ctx::new(Actor::member("bobby")).with_command_id(id);
            svc.execute(&bobby, apply(&job, "pick me")).await
        }));
    }
    for c in copies {
        c.await
            .unwrap()
            .expect("every copy answers with the first receipt");
    }
    svc.execute(
        &Ctx::new(Actor::member("bobby")).with_command_id(id),
        apply(&job, "pick me"),
    )
    .await
    .unwrap();
    svc.execute(&Ctx::new(Actor::member("carol")), apply(&job, "or me"))
        .await
        .unwrap();
    assert_eq!(
        told(&svc, "alice").await,
        [ApplicationReceived, ApplicationReceived, CreditsGranted]
    );
    let page = svc
        .inbox(&alice, tally_ports::inbox::InboxQuery::newest(1))
        .await
        .unwrap();
    let newest = &page.items[0];
    assert_eq!(newest.member.as_deref(), Some("carol"));
    assert_eq!(newest.job_title.as_deref(), Some("Logo"));
    assert_eq!(newest.summary, "carol applied to \u{201c}Logo\u{201d}");
    svc.execute(&alice, inputs::accept(&job, "bobby"))
        .await
        .unwrap();
    assert_eq!(told(&svc, "bobby").await, [ApplicationAccepted]);
    assert_eq!(told(&svc, "carol").await, [ApplicationNotSelected]);
    svc.execute(&alice, inputs::complete(&job)).await.unwrap();
    assert_eq!(told(&svc, "bobby").await, [JobPaid, ApplicationAccepted]);
    // Admins and visitors have no inbox.
    assert_eq!(
        svc.inbox(&admin(), tally_ports::inbox::InboxQuery::newest(5))
            .await
            .unwrap_err()
            .code(),
        "members_only"
    );
    assert_eq!(
        svc.inbox(
            &Ctx::new(Actor::Anonymous),
            tally_ports::inbox::InboxQuery::newest(5)
        )
        .await
        .unwrap_err()
        .code(),
        "unauthorized"
    );
    assert_eq!(svc.unread_notifications(&admin()).await.unwrap(), 0);
}

/// A plan's outbox goes with its events or not at all: a stale expected version, an
/// `append_if_current` that finds a stream moved, and a transaction dropped before commit
/// all leave the outbox empty.
pub async fn an_append_that_does_not_commit_enqueues_nothing(h: &Harness) {
    let s = stream("alice");
    let message = |to: &str| tally_ports::inbox::OutboxMessage {
        id: Uuid::now_v7(),
        notification: tally_domain::Notification {
            recipient: Handle::parse(to).unwrap(),
            kind: tally_domain::NotificationKind::CreditsGranted,
            job: None,
            member: None,
            amount: None,
            reason: None,
        },
        command_id: Uuid::now_v7(),
        time: chrono_now(),
    };
    let with_outbox = |mut p: AppendPlan, to: &str| {
        p.outbox = vec![message(to)];
        p
    };
    let mut tx = h.store.begin().await.unwrap();
    tx.append(with_outbox(plan(&[(&s, 0, 1)], None), "alice"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let alice = Handle::parse("alice").unwrap();
    let count = || async {
        h.outbox
            .inbox(&alice, &tally_ports::inbox::InboxQuery::newest(50))
            .await
            .unwrap()
            .items
            .len()
    };
    assert_eq!(count().await, 1, "committed with its events");
    // Stale expected version.
    let mut tx = h.store.begin().await.unwrap();
    let stale = tx
        .append(with_outbox(plan(&[(&s, 0, 1)], None), "alice"))
        .await;
    let stale = match stale {
        Ok(()) => tx.commit().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(count().await, 1);
    // Moved on.
    let moved = h
        .store
        .append_if_current(
            &[(s.clone(), 0)],
            with_outbox(plan(&[(&s, 1, 1)], None), "alice"),
        )
        .await
        .unwrap();
    assert!(moved.is_none());
    assert_eq!(count().await, 1);
    // Dropped before commit.
    let mut tx = h.store.begin().await.unwrap();
    tx.append(with_outbox(plan(&[(&s, 1, 1)], None), "alice"))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(count().await, 1);
    assert_eq!(h.outbox.unread(&alice).await.unwrap(), 1);
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    tally_ports::driven::Clock::now(&tally_ports::driven::SystemClock::default())
}

/// An inbox pages newest first, filters the unread, counts them, and marks one or all read;
/// a member cannot mark another's.
pub async fn an_inbox_pages_newest_first_and_marks_read(h: &Harness) {
    use tally_ports::inbox::{InboxQuery, MarkRead};
    let svc = h.service();
    member_with(&svc, "alice", 0).await;
    member_with(&svc, "bobby", 5).await;
    for n in 1..=5 {
        svc.execute(&admin(), grant("alice", n, &format!("grant {n}")))
            .await
            .unwrap();
    }
    let alice = Ctx::new(Actor::member("alice"));
    let reasons = |p: &tally_ports::inbox::InboxPage| -> Vec<String> {
        p.items.iter().map(|i| i.reason.clone().unwrap()).collect()
    };
    let first = svc.inbox(&alice, InboxQuery::newest(2)).await.unwrap();
    assert_eq!(reasons(&first), ["grant 5", "grant 4"]);
    assert_eq!(first.unread, 5);
    let second = svc
        .inbox(
            &alice,
            InboxQuery {
                before: first.next,
                ..InboxQuery::newest(2)
            },
        )
        .await
        .unwrap();
    assert_eq!(reasons(&second), ["grant 3", "grant 2"]);
    let last = svc
        .inbox(
            &alice,
            InboxQuery {
                before: second.next,
                ..InboxQuery::newest(2)
            },
        )
        .await
        .unwrap();
    assert_eq!(reasons(&last), ["grant 1"]);
    assert_eq!(last.next, None);
    // Mark one read (twice: the second marks nothing); bobby cannot mark alice's.
    let four = first.items[1].id;
    let bobby = Ctx::new(Actor::member("bobby"));
    assert_eq!(
        svc.mark_read(&bobby, MarkRead::One(four))
            .await
            .unwrap_err()
            .code(),
        "no_such_notification"
    );
    assert_eq!(svc.mark_read(&alice, MarkRead::One(four)).await.unwrap(), 1);
    assert_eq!(svc.mark_read(&alice, MarkRead::One(four)).await.unwrap(), 0);
    assert_eq!(svc.unread_notifications(&alice).await.unwrap(), 4);
    let unread = svc
        .inbox(
            &alice,
            InboxQuery {
                unread_only: true,
                ..InboxQuery::newest(10)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        reasons(&unread),
        ["grant 5", "grant 3", "grant 2", "grant 1"]
    );
    assert!(
        svc.inbox(&alice, InboxQuery::newest(10))
            .await
            .unwrap()
            .items[1]
            .read_at
            .is_some()
    );
    assert_eq!(svc.mark_read(&alice, MarkRead::All).await.unwrap(), 4);
    assert_eq!(svc.unread_notifications(&alice).await.unwrap(), 0);
    assert_eq!(
        svc.unread_notifications(&bobby).await.unwrap(),
        1,
        "bobby's own grant"
    );
}

/// Whether `needle` occurs in `hay`, byte for byte.
fn holds(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Alice's personal strings, each findable byte for byte.
const ALICE_NAME: &str = "Alice Quixotica";
const ALICE_REASON: &str = "Refund for the quixotic outage";
const ALICE_PITCH: &str = "I paint quixotically well";
const ALICE_DESCRIPTION: &str = "Quixotic fence, two coats";

/// Alice registers, is granted credits with a reason, applies to Bob's job with a pitch and
/// launches a job of her own; returns (Bob's job, Alice's job).
async fn alice_and_bob(svc: &TallyService) -> (String, String) {
    let admin = Ctx::new(Actor::admin("root"));
    svc.execute(&admin, register("alice", ALICE_NAME))
        .await
        .unwrap();
    svc.execute(&admin, register("bob", "Bob Builder"))
        .await
        .unwrap();
    svc.execute(&admin, grant("alice", 100, ALICE_REASON))
        .await
        .unwrap();
    svc.execute(&admin, grant("bob", 100, "Welcome Bob"))
        .await
        .unwrap();
    let bob = Ctx::new(Actor::member("bob"));
    let alice = Ctx::new(Actor::member("alice"));
    let r = svc
        .execute(
            &bob,
            inputs::launch_described("Paint", "Bob's own fence", 30),
        )
        .await
        .unwrap();
    let bobs = r.launched_job().unwrap().to_owned();
    svc.execute(&alice, apply(&bobs, ALICE_PITCH))
        .await
        .unwrap();
    let r = svc
        .execute(
            &alice,
            inputs::launch_described("Fence", ALICE_DESCRIPTION, 20),
        )
        .await
        .unwrap();
    (bobs, r.launched_job().unwrap().to_owned())
}

/// Personal fields are stored sealed (the store underneath holds no plaintext of them),
/// and every reader of the service sees them as written.
pub async fn personal_fields_are_sealed_at_rest_and_read_as_plaintext(h: &Harness) {
    let svc = h.sealed_service();
    let (bobs, alices) = alice_and_bob(&svc).await;
    // What the store underneath holds: ciphertext, naming its subject.
    let raw = h.store.read_all(0, 1000).await.unwrap();
    let text = serde_json::to_string(&raw).unwrap();
    for s in [ALICE_NAME, ALICE_REASON, ALICE_PITCH, ALICE_DESCRIPTION] {
        assert!(!text.contains(s), "{s:?} is stored in plaintext");
    }
    assert!(text.contains("sealed:v1:alice:"), "{text}");
    // What readers see: plaintext.
    let admin = Ctx::new(Actor::admin("root"));
    assert_eq!(
        svc.wallet(&admin, "alice").await.unwrap().display_name,
        ALICE_NAME
    );
    let view = svc
        .job_owner_view(&Ctx::new(Actor::member("bob")), &bobs)
        .await
        .unwrap();
    assert_eq!(view.applications[0].pitch, ALICE_PITCH);
    let mine = svc
        .job_owner_view(&Ctx::new(Actor::member("alice")), &alices)
        .await
        .unwrap();
    assert_eq!(mine.job.description, ALICE_DESCRIPTION);
    let feed = serde_json::to_string(&svc.feed(&admin, 0, 1000).await.unwrap().events).unwrap();
    for s in [ALICE_NAME, ALICE_REASON, ALICE_PITCH, ALICE_DESCRIPTION] {
        assert!(feed.contains(s), "the feed lacks {s:?}");
    }
    assert!(!feed.contains("sealed:v1:"), "the feed serves ciphertext");
    // Rebuilt from the events alone (no cache row, no state in memory), the same.
    (h.clear_cache)().await;
    let fresh = h.sealed_service();
    let view = fresh
        .job_owner_view(&Ctx::new(Actor::member("bob")), &bobs)
        .await
        .unwrap();
    assert_eq!(view.applications[0].pitch, ALICE_PITCH);
    assert_eq!(
        fresh.wallet(&admin, "alice").await.unwrap().display_name,
        ALICE_NAME
    );
}

/// Once Alice is forgotten, nothing stored holds her personal strings (a dump of the whole
/// storage, searched byte for byte); views, histories and the feed show the placeholder
/// where they were; her credits and the jobs stay accounted for; her account is gone.
pub async fn a_forgotten_members_personal_data_is_gone_from_everything_stored(h: &Harness) {
    use tally_ports::accounts::{Account, Role};
    let svc = h.sealed_service();
    h.accounts
        .create_account(Account {
            name: "alice".into(),
            role: Role::Member,
            password_hash: "hash".into(),
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let (bobs, alices) = alice_and_bob(&svc).await;
    let admin = Ctx::new(Actor::admin("root"));
    // Her plaintext is in the cache and the outbox (disposable copies) before.
    let before = (h.dump)().await;
    assert!(holds(&before, ALICE_NAME) || holds(&before, ALICE_PITCH));
    let r = svc.execute(&admin, inputs::forget("alice")).await.unwrap();
    assert_eq!(r.events[0].event_type, "MemberForgotten");
    let after = (h.dump)().await;
    for s in [ALICE_NAME, ALICE_REASON, ALICE_PITCH, ALICE_DESCRIPTION] {
        assert!(!holds(&after, s), "{s:?} is still stored somewhere");
    }
    assert!(holds(&after, "Bob Builder") || holds(&after, "sealed:v1:bob:"));
    // Views, from this service and from a fresh one (nothing held in memory).
    for svc in [svc, h.sealed_service()] {
        let w = svc.wallet(&admin, "alice").await.unwrap();
        assert_eq!(w.display_name, tally_domain::FORGOTTEN);
        assert_eq!(w.balance, 80, "her credits are still accounted for");
        let view = svc
            .job_owner_view(&Ctx::new(Actor::member("bob")), &bobs)
            .await
            .unwrap();
        assert_eq!(view.applications[0].participant, "alice");
        assert_eq!(view.applications[0].pitch, tally_domain::FORGOTTEN);
        let hers = svc.job_owner_view(&admin, &alices).await.unwrap();
        assert_eq!(hers.job.description, tally_domain::FORGOTTEN);
        assert_eq!(hers.job.reward, 20, "her job and its escrow stay");
        let history = svc
            .history(&admin, &EntityRef::member("alice"))
            .await
            .unwrap();
        let grant = history
            .iter()
            .find(|e| e.event_type == "CreditsGranted")
            .unwrap();
        assert_eq!(grant.payload["reason"], tally_domain::FORGOTTEN);
        let feed = svc.feed(&admin, 0, 1000).await.unwrap().events;
        let text = serde_json::to_string(&feed).unwrap();
        for s in [ALICE_NAME, ALICE_REASON, ALICE_PITCH, ALICE_DESCRIPTION] {
            assert!(!text.contains(s), "the feed still serves {s:?}");
        }
        assert!(text.contains("Bob Builder"), "others' data is untouched");
        let forgotten = feed
            .iter()
            .find(|e| e.event_type == "MemberForgotten")
            .unwrap();
        assert_eq!(forgotten.actor, Actor::admin("root"));
        assert_eq!(forgotten.payload, json!({}));
    }
    assert!(
        h.accounts.account("alice").await.unwrap().is_none(),
        "her account is gone"
    );
}

/// Another member may not forget Alice; nobody forgets her twice; a forgotten member takes
/// no new grant.
pub async fn only_an_admin_or_the_member_forgets_a_member_and_only_once(h: &Harness) {
    let svc = h.sealed_service();
    let admin = Ctx::new(Actor::admin("root"));
    svc.execute(&admin, register("alice", ALICE_NAME))
        .await
        .unwrap();
    svc.execute(&admin, register("bob", "Bob Builder"))
        .await
        .unwrap();
    let bob = Ctx::new(Actor::member("bob"));
    let e = svc
        .execute(&bob, inputs::forget("alice"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "not_yourself", "{e}");
    let anyone = Ctx::new(Actor::Anonymous);
    assert!(svc.execute(&anyone, inputs::forget("alice")).await.is_err());
    assert_eq!(
        svc.wallet(&admin, "alice").await.unwrap().display_name,
        ALICE_NAME
    );
    // Alice herself may (the pages and the API ask for her password first).
    let alice = Ctx::new(Actor::member("alice"));
    svc.execute(&alice, inputs::forget("alice")).await.unwrap();
    let e = svc
        .execute(&admin, inputs::forget("alice"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "member_forgotten", "{e}");
    let e = svc
        .execute(&admin, grant("alice", 5, "more"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "member_forgotten", "{e}");
    let e = svc
        .execute(&admin, inputs::forget("nobody"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unknown_member", "{e}");
}

/// A service over this harness that commits commands together (group commit), whether or not
/// the store does so by default.
fn grouped(h: &Harness) -> TallyService {
    h.service()
        .with_group_commit(Some(tally_ports::service::GroupCommit::default()))
}

fn batch_entry(reads: Vec<(StreamId, u64)>, plan: AppendPlan, group: usize) -> BatchEntry {
    BatchEntry { reads, plan, group }
}

fn record(id: Uuid) -> Option<CommandRecord> {
    Some(CommandRecord {
        command_id: id,
        fingerprint: "f".into(),
    })
}

/// In a batch, each command keeps its own guard: those whose streams moved are left out
/// (and the later commands of their group with them), the others land, with consecutive
/// positions in the batch's order; a refusal (no events) is confirmed when what it read is
/// current.
pub async fn a_batch_lands_its_current_commands_and_leaves_out_the_rest(h: &Harness) {
    let (a, b, c, d) = (
        stream("alice"),
        stream("bob"),
        stream("carol"),
        stream("dave"),
    );
    commit(h, plan(&[(&a, 0, 1)], None)).await.unwrap();
    commit(h, plan(&[(&b, 0, 2)], None)).await.unwrap();
    let ids: Vec<Uuid> = (0..7).map(|_| Uuid::now_v7()).collect();
    let got = h
        .store
        .append_batch(vec![
            // 0: alice at 1, current: lands.
            batch_entry(vec![(a.clone(), 1)], plan(&[(&a, 1, 1)], record(ids[0])), 0),
            // 1: decided on bob at 1, but he is at 2: left out.
            batch_entry(vec![(b.clone(), 1)], plan(&[(&b, 1, 1)], record(ids[1])), 1),
            // 2: a new stream, two events: lands.
            batch_entry(vec![(c.clone(), 0)], plan(&[(&c, 0, 2)], record(ids[2])), 2),
            // 3: decided on the state 0 leaves (its group): alice 2 -> 3.
            batch_entry(vec![], plan(&[(&a, 2, 1)], record(ids[3])), 0),
            // 4: a refusal decided after 0 and 3, having read dave (none): confirmed.
            batch_entry(vec![(d.clone(), 0)], AppendPlan::default(), 0),
            // 5: decided on what 1 would have left: left out with it, though bob is at 2.
            batch_entry(vec![], plan(&[(&b, 2, 1)], record(ids[5])), 1),
            // 6: a refusal decided on bob at 1: he moved, so it is not confirmed.
            batch_entry(vec![(b.clone(), 1)], AppendPlan::default(), 6),
        ])
        .await;
    assert_eq!(got.len(), 7);
    let landed = |i: usize| -> Vec<RecordedEvent> {
        match &got[i] {
            Ok(Some(events)) => events.clone(),
            other => panic!("command {i} should have landed: {other:?}"),
        }
    };
    assert_eq!(landed(0).len(), 1);
    assert_eq!(landed(2).len(), 2);
    assert_eq!(landed(3)[0].version, 3);
    assert!(landed(4).is_empty(), "a refusal writes nothing");
    for i in [1, 5, 6] {
        assert!(matches!(got[i], Ok(None)), "command {i}: {:?}", got[i]);
    }
    let positions: Vec<u64> = [0, 2, 3]
        .iter()
        .flat_map(|&i| landed(i))
        .map(|e| e.position)
        .collect();
    assert!(
        positions.windows(2).all(|w| w[1] == w[0] + 1),
        "{positions:?}"
    );
    assert_eq!(h.store.load(&a, 0).await.unwrap().len(), 3);
    assert_eq!(h.store.load(&b, 0).await.unwrap().len(), 2);
    assert_eq!(h.store.load(&c, 0).await.unwrap().len(), 2);
    assert!(h.store.load(&d, 0).await.unwrap().is_empty());
    for (i, recorded) in [(0, true), (1, false), (2, true), (3, true), (5, false)] {
        let outcome = h.store.command_outcome(ids[i]).await.unwrap();
        assert_eq!(outcome.is_some(), recorded, "command {i}");
    }
}

/// A command id twice in one batch: the first lands, the second is told it is a duplicate
/// and writes nothing, and the rest of the batch lands.
pub async fn a_command_id_twice_in_a_batch_is_recorded_once(h: &Harness) {
    let (a, b, c) = (stream("alice"), stream("bob"), stream("carol"));
    let (id, other) = (Uuid::now_v7(), Uuid::now_v7());
    let got = h
        .store
        .append_batch(vec![
            batch_entry(vec![(a.clone(), 0)], plan(&[(&a, 0, 1)], record(id)), 0),
            batch_entry(vec![(b.clone(), 0)], plan(&[(&b, 0, 1)], record(id)), 1),
            batch_entry(vec![(c.clone(), 0)], plan(&[(&c, 0, 1)], record(other)), 2),
        ])
        .await;
    assert!(
        matches!(&got[0], Ok(Some(e)) if e.len() == 1),
        "{:?}",
        got[0]
    );
    assert!(
        matches!(&got[1], Err(StoreError::Duplicate(d)) if *d == id),
        "{:?}",
        got[1]
    );
    assert!(
        matches!(&got[2], Ok(Some(e)) if e.len() == 1),
        "{:?}",
        got[2]
    );
    assert!(h.store.load(&b, 0).await.unwrap().is_empty());
    let outcome = h
        .store
        .command_outcome(id)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(outcome.events[0].stream, a);
}

/// Commands queued on one entity are decided one after the other on the state the earlier
/// ones leave: each gets its own answer, a refused one records nothing and does not stop
/// the rest, and the books are right.
pub async fn commands_queued_on_one_entity_are_decided_in_turn(h: &Harness) {
    let svc = Arc::new(grouped(h));
    member_with(&svc, "alice", 10).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            let alice = Ctx::new(Actor::member("alice"));
            svc.execute(&alice, launch("Fence", 3)).await
        }));
    }
    let (mut launched, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => {
                assert!(r.launched_job().is_some());
                launched += 1;
            }
            Err(e) => {
                assert_eq!(e.code(), "insufficient_credits");
                refused += 1;
            }
        }
    }
    assert_eq!((launched, refused), (3, 5));
    let wallet = svc.wallet(&admin(), "alice").await.unwrap();
    assert_eq!((wallet.balance, wallet.escrowed), (1, 9));
    // register, grant, three escrows: nothing else on her stream.
    assert_eq!(h.store.load(&stream("alice"), 0).await.unwrap().len(), 5);
    // A hot wallet: 16 clients, 5 grants each, all land in order.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                svc.execute(&admin(), grant("alice", 2, "hot"))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let events = h.store.load(&stream("alice"), 0).await.unwrap();
    assert_eq!(events.len(), 85);
    assert!(events.iter().zip(1..).all(|(e, v)| e.version == v));
    let wallet = svc.wallet(&admin(), "alice").await.unwrap();
    assert_eq!(wallet.balance, 161);
    assert_eq!(
        svc.stats()
            .conflicts
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    if h.store.group_commit() {
        assert!(
            svc.stats()
                .batched
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0,
            "no two commands landed together"
        );
    }
}

/// A command decided on a state that another process has moved meanwhile is left out of its
/// batch and runs again through the full path, while the others land.
pub async fn a_command_whose_stream_moved_runs_again_and_the_batch_lands(h: &Harness) {
    let svc = Arc::new(grouped(h));
    let other = h.service();
    for m in ["alice", "bob", "carol", "dave"] {
        member_with(&svc, m, 10).await;
    }
    // Another process grants alice: the state this one holds of her is out of date.
    other
        .execute(&admin(), grant("alice", 5, "elsewhere"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for m in ["alice", "bob", "carol", "dave"] {
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            svc.execute(&admin(), grant(m, 1, "batch")).await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every command lands");
    }
    assert_eq!(svc.wallet(&admin(), "alice").await.unwrap().balance, 16);
    for m in ["bob", "carol", "dave"] {
        assert_eq!(svc.wallet(&admin(), m).await.unwrap().balance, 11);
    }
    let alice = h.store.load(&stream("alice"), 0).await.unwrap();
    assert_eq!(
        alice.len(),
        4,
        "register, grant, the other's grant, this one"
    );
}
