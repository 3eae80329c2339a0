//! A commit whose connection is lost leaves its outcome unknown to the store's caller; the
//! service finds it again by the command id every command records. A store that loses the
//! answer of its fast-path write (after or before committing), and optionally cannot answer
//! lookups either, stands in for the connection that PostgreSQL's chaos tests really kill.

use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use tally_contract::inputs;
use tally_memory::MemoryStore;
use tally_ports::driven::{AppendPlan, CommandOutcome, EventStore, StoreError, WriteTx};
use tally_ports::{Actor, Ctx, Error, RecordedEvent, StreamId, Tally, TallyService, Unavailable};
use uuid::Uuid;

/// How the next fast-path writes fail.
#[derive(Clone, Copy)]
enum Loss {
    /// The write commits, and its answer is lost.
    AfterCommit,
    /// The connection is lost before the write reaches storage.
    BeforeCommit,
}

struct Lossy {
    inner: MemoryStore,
    loss: Loss,
    /// How many fast-path writes still lose their answer.
    losses: AtomicU32,
    /// Whether command lookups fail too.
    blind: AtomicBool,
}

#[async_trait]
impl EventStore for Lossy {
    async fn load(&self, s: &StreamId, after: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.load(s, after).await
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        self.inner.begin().await
    }

    async fn append_if_current(
        &self,
        reads: &[(StreamId, u64)],
        plan: AppendPlan,
    ) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        let lose = self
            .losses
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if !lose {
            return self.inner.append_if_current(reads, plan).await;
        }
        if let Loss::AfterCommit = self.loss {
            self.inner.append_if_current(reads, plan).await?;
        }
        Err(StoreError::Unknown("connection lost at commit".into()))
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after, limit).await
    }

    async fn command_outcome(&self, id: Uuid) -> Result<Option<CommandOutcome>, StoreError> {
        if self.blind.load(Ordering::SeqCst) {
            return Err(StoreError::Other("storage unreachable".into()));
        }
        self.inner.command_outcome(id).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

fn service(loss: Loss, losses: u32, blind: bool) -> (TallyService, Arc<Lossy>, MemoryStore) {
    let inner = MemoryStore::new();
    let store = Arc::new(Lossy {
        inner: inner.clone(),
        loss,
        losses: AtomicU32::new(losses),
        blind: AtomicBool::new(blind),
    });
    let svc = TallyService::new(store.clone(), Arc::new(inner.clone()));
    (svc, store, inner)
}

fn admin() -> Ctx {
    Ctx::new(Actor::admin("root"))
}

async fn with_alice(svc: &TallyService, store: &Lossy) {
    let losses = store.losses.swap(0, Ordering::SeqCst);
    svc.execute(&admin(), inputs::register("alice", "Alice"))
        .await
        .unwrap();
    store.losses.store(losses, Ordering::SeqCst);
}

#[tokio::test]
async fn a_commit_whose_answer_was_lost_is_found_by_its_command_id() {
    let (svc, store, inner) = service(Loss::AfterCommit, 0, false);
    with_alice(&svc, &store).await;
    store.losses.store(1, Ordering::SeqCst);
    let before = inner.event_count();
    // No idempotency key: the service's own command id finds the outcome.
    let r = svc
        .execute(&admin(), inputs::grant("alice", 5, "lost"))
        .await
        .expect("the receipt of the command that did commit");
    assert_eq!(r.events.len(), 1);
    assert_eq!(inner.event_count(), before + 1, "recorded once");
    assert_eq!(svc.stats().resolved.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_commit_lost_before_it_recorded_runs_again() {
    let (svc, store, inner) = service(Loss::BeforeCommit, 0, false);
    with_alice(&svc, &store).await;
    store.losses.store(1, Ordering::SeqCst);
    let before = inner.event_count();
    let r = svc
        .execute(&admin(), inputs::grant("alice", 5, "again"))
        .await
        .expect("run again, and recorded");
    assert_eq!(r.events.len(), 1);
    assert_eq!(inner.event_count(), before + 1, "recorded once");
}

#[tokio::test]
async fn an_outcome_that_cannot_be_looked_up_is_named_and_repeating_it_is_safe() {
    let (svc, store, inner) = service(Loss::AfterCommit, 0, true);
    with_alice(&svc, &store).await;
    store.losses.store(1, Ordering::SeqCst);
    let before = inner.event_count();
    let input = inputs::grant("alice", 5, "unknown");
    let e = svc.execute(&admin(), input.clone()).await.unwrap_err();
    let Error::Unavailable(Unavailable::OutcomeUnknown { command_id }) = e else {
        panic!("expected outcome_unknown, got {e:?}")
    };
    assert!(e.to_string().contains(&command_id.to_string()), "{e}");
    // Once storage answers again, the named id gives the outcome, and records nothing new.
    store.blind.store(false, Ordering::SeqCst);
    let r = svc
        .execute(&admin().with_command_id(command_id), input)
        .await
        .unwrap();
    assert_eq!(r.command_id, command_id);
    assert_eq!(inner.event_count(), before + 1, "recorded once");
}
