//! Personal data at the store's edge: an [`EventStore`] that seals every personal field
//! (marked in the domain's event declarations, [`tally_domain::Personal`]) with its data
//! subject's key before the store underneath writes it, and opens it again on every read.
//! The command algorithm, the domain, the views and the feed keep seeing plaintext; what
//! is stored (history, backups, replicas) holds ciphertext only. Once a member is forgotten
//! (their key deleted), their fields read as [`FORGOTTEN`], wherever they are read from.
//!
//! The state cache and the outbox are not sealed: they are disposable copies, and forgetting
//! a member purges the rows that hold their plaintext in the same transaction (see
//! [`AppendPlan::erase`]).

use crate::driven::{AppendPlan, EventStore, Fold, FoldMany, StoreError, WriteTx};
use crate::envelope::{FoldEvent, Payload, RecordedEvent, StreamId};
use crate::keys::{DataKeys, Opened, SEALED_PREFIX};
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;
use tally_domain::{Actor, EntityKind, FORGOTTEN, Personal, Subject};
use uuid::Uuid;

/// The personal fields of an event type (none for a type this build does not know).
pub fn personal_fields(event_type: &str) -> &'static [Personal] {
    crate::contracts::current()
        .find(|t| t.name == event_type)
        .map_or(&[], |t| t.personal)
}

fn other(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(e.to_string())
}

/// The data subject of a personal field of an event of `event_type` on `stream` by `actor`.
fn subject_of(
    p: &Personal,
    event_type: &str,
    stream: &StreamId,
    actor: &Actor,
    payload: &Value,
) -> Result<String, StoreError> {
    let found = match p.subject {
        Subject::Field(f) => payload.get(f).and_then(Value::as_str).map(str::to_owned),
        Subject::Stream => (stream.kind() == EntityKind::Member).then(|| stream.key().to_owned()),
        Subject::Actor => match actor {
            Actor::Member(h) => Some(h.to_string()),
            _ => None,
        },
    };
    found.ok_or_else(|| {
        other(format!(
            "{event_type} on {stream} by {actor}: no data subject for its personal field {}",
            p.field
        ))
    })
}

/// Seals the personal fields of one payload; `fresh`: the payload is plaintext as the
/// domain wrote it (every field is sealed); else it was stored by an earlier build (the
/// migration), and a field already sealed is left as it is. Empty text holds nothing
/// personal and stays as it is. Returns how many fields it sealed.
///
/// # Errors
/// When a field has no data subject, or the key store fails.
pub async fn seal_fields(
    keys: &DataKeys,
    event_type: &str,
    stream: &StreamId,
    actor: &Actor,
    payload: &mut Value,
    fresh: bool,
) -> Result<usize, StoreError> {
    let mut n = 0;
    for p in personal_fields(event_type) {
        let Some(text) = payload.get(p.field).and_then(Value::as_str) else {
            continue;
        };
        if text.is_empty() || (!fresh && crate::keys::sealed_subject(text).is_some()) {
            continue;
        }
        let subject = subject_of(p, event_type, stream, actor, payload)?;
        let sealed = keys.seal(&subject, text).await.map_err(other)?;
        payload[p.field] = Value::String(sealed);
        n += 1;
    }
    Ok(n)
}

/// Seals every personal field of the plan's events.
async fn seal_plan(keys: &DataKeys, plan: &mut AppendPlan) -> Result<(), StoreError> {
    for e in plan.streams.iter_mut().flat_map(|s| &mut s.events) {
        seal_fields(
            keys,
            &e.event_type,
            &e.stream,
            &e.actor,
            &mut e.payload,
            true,
        )
        .await?;
    }
    Ok(())
}

/// Why a payload could not be opened at once.
enum Closed {
    /// This subject's key is not at hand yet.
    NeedKey(String),
    /// The field was altered, or storage failed.
    Bad(String),
}

/// Opens the sealed personal fields of a payload of `event_type` in place, with the keys at
/// hand.
fn open_in_place(keys: &DataKeys, event_type: &str, payload: &mut Value) -> Result<(), Closed> {
    for p in personal_fields(event_type) {
        let Some(Value::String(s)) = payload.get_mut(p.field) else {
            continue;
        };
        if !s.starts_with(SEALED_PREFIX) {
            continue;
        }
        match keys
            .open_cached(s)
            .map_err(|e| Closed::Bad(e.to_string()))?
        {
            Opened::Text(t) => *s = t,
            Opened::Forgotten => *s = FORGOTTEN.to_owned(),
            Opened::NeedKey(subject) => return Err(Closed::NeedKey(subject)),
        }
    }
    Ok(())
}

/// Whether a payload may hold a sealed personal field (worth opening).
fn may_be_sealed(event_type: &str, payload: Payload<'_>) -> bool {
    let fields = personal_fields(event_type);
    !fields.is_empty()
        && match payload {
            Payload::Text(t) => t.contains(SEALED_PREFIX),
            Payload::Json(v) => fields.iter().any(|p| {
                v.get(p.field)
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.starts_with(SEALED_PREFIX))
            }),
        }
}

/// The payload of a folded event with its personal fields opened, if it had sealed ones.
fn open_fold(keys: &DataKeys, e: &FoldEvent<'_>) -> Result<Option<Value>, Closed> {
    if !may_be_sealed(e.event_type, e.payload) {
        return Ok(None);
    }
    let mut v = match e.payload {
        Payload::Json(v) => v.clone(),
        Payload::Text(t) => serde_json::from_str(t)
            .map_err(|err| Closed::Bad(format!("cannot read a {}: {err}", e.event_type)))?,
    };
    open_in_place(keys, e.event_type, &mut v)?;
    Ok(Some(v))
}

/// Opens every sealed personal field of `events`, fetching the keys it needs.
async fn open_events(keys: &DataKeys, events: &mut [RecordedEvent]) -> Result<(), StoreError> {
    for e in events {
        if !may_be_sealed(&e.event_type, Payload::Json(&e.payload)) {
            continue;
        }
        loop {
            match open_in_place(keys, &e.event_type, &mut e.payload) {
                Ok(()) => break,
                Err(Closed::NeedKey(s)) => keys.load(&s).await.map_err(other)?,
                Err(Closed::Bad(m)) => return Err(StoreError::Other(m)),
            }
        }
    }
    Ok(())
}

/// The plaintext events of `plan` with the positions the store gave the sealed ones.
fn positioned(plain: Vec<RecordedEvent>, stored: Vec<RecordedEvent>) -> Vec<RecordedEvent> {
    let by_id: std::collections::HashMap<Uuid, u64> =
        stored.iter().map(|e| (e.event_id, e.position)).collect();
    plain
        .into_iter()
        .map(|mut e| {
            if let Some(p) = by_id.get(&e.event_id) {
                e.position = *p;
            }
            e
        })
        .collect()
}

/// Seals a plan after checking its plaintext against the contracts (sealed text can no
/// longer be checked); returns the plaintext events, to answer with.
async fn prepare(keys: &DataKeys, plan: &mut AppendPlan) -> Result<Vec<RecordedEvent>, StoreError> {
    crate::contracts::check_plan(plan)?;
    let plain = plan
        .streams
        .iter()
        .flat_map(|s| s.events.iter().cloned())
        .collect();
    seal_plan(keys, plan).await?;
    Ok(plain)
}

/// An event store whose personal fields are sealed at rest (see the module's doc).
pub struct SealingStore {
    inner: Arc<dyn EventStore>,
    keys: Arc<DataKeys>,
}

impl SealingStore {
    /// `inner`, with personal fields sealed by `keys`.
    pub fn new(inner: Arc<dyn EventStore>, keys: Arc<DataKeys>) -> Self {
        Self { inner, keys }
    }

    /// The keys it seals with.
    pub fn keys(&self) -> &Arc<DataKeys> {
        &self.keys
    }
}

/// Runs a fold over `read`, opening sealed fields as the events pass; when a key is not at
/// hand, fetches it and reads again (folds skip the versions they have).
macro_rules! folding_with_keys {
    ($keys:expr, $fold:ident, |$opening:ident| $read:expr, $($i:ident)?) => {{
        loop {
            let mut need: Option<String> = None;
            let result = {
                let keys = &$keys;
                let need = &mut need;
                let mut $opening = |$($i: usize,)? e: FoldEvent<'_>| -> Result<(), String> {
                    match open_fold(keys, &e) {
                        Ok(None) => $fold($($i,)? e),
                        Ok(Some(v)) => $fold(
                            $($i,)?
                            FoldEvent {
                                payload: Payload::Json(&v),
                                ..e
                            },
                        ),
                        Err(Closed::NeedKey(s)) => {
                            *need = Some(s);
                            Err("a data key is needed".into())
                        }
                        Err(Closed::Bad(m)) => Err(m),
                    }
                };
                $read
            };
            match (result, need) {
                (Err(_), Some(subject)) => $keys.load(&subject).await.map_err(other)?,
                (r, _) => break r,
            }
        }
    }};
}

#[async_trait]
impl EventStore for SealingStore {
    async fn load(
        &self,
        stream: &StreamId,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.inner.load(stream, after_version).await?;
        open_events(&self.keys, &mut events).await?;
        Ok(events)
    }

    async fn fold_events(
        &self,
        stream: &StreamId,
        after_version: u64,
        fold: &mut Fold<'_>,
    ) -> Result<(), StoreError> {
        folding_with_keys!(self.keys, fold, |opening| self
            .inner
            .fold_events(stream, after_version, &mut opening)
            .await,)
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        Ok(Box::new(SealingTx {
            inner: self.inner.begin().await?,
            keys: self.keys.clone(),
            plain: None,
        }))
    }

    async fn append_if_current(
        &self,
        reads: &[(StreamId, u64)],
        mut plan: AppendPlan,
    ) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        let plain = prepare(&self.keys, &mut plan).await?;
        Ok(self
            .inner
            .append_if_current(reads, plan)
            .await?
            .map(|stored| positioned(plain, stored)))
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.inner.read_all(after, limit).await?;
        open_events(&self.keys, &mut events).await?;
        Ok(events)
    }

    async fn read_matching(
        &self,
        after: u64,
        limit: usize,
        filter: &crate::feed::FeedFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.inner.read_matching(after, limit, filter).await?;
        open_events(&self.keys, &mut events).await?;
        Ok(events)
    }

    async fn read_before(
        &self,
        before: u64,
        limit: usize,
        filter: &crate::feed::FeedFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.inner.read_before(before, limit, filter).await?;
        open_events(&self.keys, &mut events).await?;
        Ok(events)
    }

    async fn position_of(&self, event_id: Uuid) -> Result<Option<u64>, StoreError> {
        self.inner.position_of(event_id).await
    }

    fn commits(&self) -> Option<crate::feed::CommitsReceiver> {
        self.inner.commits()
    }

    async fn head(&self) -> Result<Option<u64>, StoreError> {
        self.inner.head().await
    }

    async fn command_outcome(
        &self,
        id: Uuid,
    ) -> Result<Option<crate::driven::CommandOutcome>, StoreError> {
        let Some(mut outcome) = self.inner.command_outcome(id).await? else {
            return Ok(None);
        };
        open_events(&self.keys, &mut outcome.events).await?;
        Ok(Some(outcome))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

/// A write transaction of a [`SealingStore`].
struct SealingTx {
    inner: Box<dyn WriteTx>,
    keys: Arc<DataKeys>,
    /// The plaintext of what was appended, to answer with.
    plain: Option<Vec<RecordedEvent>>,
}

#[async_trait]
impl WriteTx for SealingTx {
    async fn load(
        &mut self,
        reads: &[(StreamId, u64)],
    ) -> Result<Vec<Vec<RecordedEvent>>, StoreError> {
        let mut out = self.inner.load(reads).await?;
        for events in &mut out {
            open_events(&self.keys, events).await?;
        }
        Ok(out)
    }

    async fn fold_events(
        &mut self,
        reads: &[(StreamId, u64)],
        fold: &mut FoldMany<'_>,
    ) -> Result<(), StoreError> {
        let keys = self.keys.clone();
        let inner = &mut self.inner;
        folding_with_keys!(
            keys,
            fold,
            |opening| inner.fold_events(reads, &mut opening).await,
            i
        )
    }

    async fn append(&mut self, mut plan: AppendPlan) -> Result<(), StoreError> {
        let plain = prepare(&self.keys, &mut plan).await?;
        self.inner.append(plan).await?;
        self.plain = Some(plain);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<Vec<RecordedEvent>, StoreError> {
        let stored = self.inner.commit().await?;
        Ok(match self.plain {
            Some(plain) => positioned(plain, stored),
            None => stored,
        })
    }
}

/// Whether a cached state names `handle` (as a string value or an object key): the rows
/// forgetting a member purges, since they may hold the member's plaintext (their wallet,
/// the jobs they launched or applied to).
pub fn names(state: &Value, handle: &str) -> bool {
    match state {
        Value::String(s) => s == handle,
        Value::Array(a) => a.iter().any(|v| names(v, handle)),
        Value::Object(m) => m.iter().any(|(k, v)| k == handle || names(v, handle)),
        _ => false,
    }
}
