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
    // Asked for every event a fold reads: a map, not a walk through every type's spec.
    static BY_TYPE: std::sync::LazyLock<
        std::collections::HashMap<&'static str, &'static [Personal]>,
    > = std::sync::LazyLock::new(|| {
        crate::contracts::current()
            .map(|t| (t.name, t.personal))
            .collect()
    });
    BY_TYPE.get(event_type).copied().unwrap_or(&[])
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
#[derive(Debug)]
enum Closed {
    /// This subject's key is not at hand yet.
    NeedKey(String),
    /// The field was altered, or storage failed.
    Bad(String),
}

/// Personal fields that no entity's state keeps, as (event type, field): folding a state
/// needs no plaintext of them, so a fold reads them as empty text instead of decrypting them
/// (a wallet keeps no grant reason; a replay of 10,000 sealed grants cost 3x the plaintext
/// one with them decrypted). `folding_ignores_the_fields_it_does_not_open` proves the fold
/// gives the same state.
pub const NOT_FOLDED: &[(&str, &str)] = &[("CreditsGranted", "reason")];

fn folded(event_type: &str, field: &str) -> bool {
    !NOT_FOLDED.contains(&(event_type, field))
}

/// Opens the sealed personal fields of a payload of `event_type` in place, with the keys at
/// hand; `folding`: only those a state keeps (see [`NOT_FOLDED`]).
fn open_in_place(
    keys: &DataKeys,
    event_type: &str,
    payload: &mut Value,
    folding: bool,
) -> Result<(), Closed> {
    for p in personal_fields(event_type) {
        let Some(Value::String(s)) = payload.get_mut(p.field) else {
            continue;
        };
        if !s.starts_with(SEALED_PREFIX) {
            continue;
        }
        if folding && !folded(event_type, p.field) {
            s.clear();
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

/// A folded event's payload with its personal fields opened.
enum OpenedPayload {
    Json(Value),
    Text(String),
}

/// The payload of a folded event with its personal fields opened, if it had sealed ones.
fn open_fold(keys: &DataKeys, e: &FoldEvent<'_>) -> Result<Option<OpenedPayload>, Closed> {
    if !may_be_sealed(e.event_type, e.payload) {
        return Ok(None);
    }
    match e.payload {
        Payload::Json(v) => {
            let mut v = v.clone();
            open_in_place(keys, e.event_type, &mut v, true)?;
            Ok(Some(OpenedPayload::Json(v)))
        }
        Payload::Text(t) => Ok(open_text(keys, e.event_type, t, true)?.map(OpenedPayload::Text)),
    }
}

/// Opens the sealed personal fields of a payload's JSON text in the text itself: what a
/// cold replay reads. Parsing each payload into a `Value` to open it made a replay of 10,000
/// sealed events 2.3x the plaintext one (`PG_BENCH_ONLY=sealing cargo bench -p
/// tally-postgres --bench pg`); splicing the plaintext into the text keeps the store's fast
/// text decoding. A sealed value is `"sealed:v1:<handle>:<base64>"`, with no quote or
/// backslash inside, and is opened only where it is the value of a personal field
/// (`"<field>": ` or `"<field>":` before it: inside a JSON string every quote is escaped, so
/// that cannot occur in text someone typed).
fn open_text(
    keys: &DataKeys,
    event_type: &str,
    text: &str,
    folding: bool,
) -> Result<Option<String>, Closed> {
    const NEEDLE: &str = "\"sealed:v1:";
    let fields = personal_fields(event_type);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find(NEEDLE) {
        let before = &rest[..i];
        let key = before.strip_suffix(' ').unwrap_or(before);
        let personal = key.strip_suffix("\":").and_then(|k| {
            fields.iter().find(|p| {
                k.strip_suffix(p.field)
                    .is_some_and(|head| head.ends_with('"') && !head.ends_with("\\\""))
            })
        });
        let start = i + 1;
        let Some(len) = rest[start..].find('"') else {
            break;
        };
        let value = &rest[start..start + len];
        out.push_str(before);
        if let Some(p) = personal
            && folding
            && !folded(event_type, p.field)
        {
            out.push_str("\"\"");
            changed = true;
        } else if personal.is_some() {
            let plain = match keys
                .open_cached(value)
                .map_err(|e| Closed::Bad(e.to_string()))?
            {
                Opened::Text(t) => t,
                Opened::Forgotten => FORGOTTEN.to_owned(),
                Opened::NeedKey(subject) => return Err(Closed::NeedKey(subject)),
            };
            out.push_str(&serde_json::to_string(&plain).map_err(|e| Closed::Bad(e.to_string()))?);
            changed = true;
        } else {
            out.push('"');
            out.push_str(value);
            out.push('"');
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(changed.then_some(out))
}

/// Opens every sealed personal field of `events`, fetching the keys it needs.
async fn open_events(keys: &DataKeys, events: &mut [RecordedEvent]) -> Result<(), StoreError> {
    for e in events {
        if !may_be_sealed(&e.event_type, Payload::Json(&e.payload)) {
            continue;
        }
        loop {
            match open_in_place(keys, &e.event_type, &mut e.payload, false) {
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
                        Ok(Some(OpenedPayload::Json(v))) => $fold(
                            $($i,)?
                            FoldEvent {
                                payload: Payload::Json(&v),
                                ..e
                            },
                        ),
                        Ok(Some(OpenedPayload::Text(t))) => $fold(
                            $($i,)?
                            FoldEvent {
                                payload: Payload::Text(&t),
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

    async fn append_batch(
        &self,
        entries: Vec<crate::driven::BatchEntry>,
    ) -> Vec<Result<Option<Vec<RecordedEvent>>, StoreError>> {
        // Each entry sealed on its own: one that cannot be is answered with why, and the
        // later entries of its group are left out, as the store would.
        let mut out: Vec<Option<Result<Option<Vec<RecordedEvent>>, StoreError>>> = Vec::new();
        let (mut sent, mut plains, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        for mut e in entries {
            if failed.contains(&e.group) {
                out.push(Some(Ok(None)));
                continue;
            }
            match prepare(&self.keys, &mut e.plan).await {
                Ok(plain) => {
                    out.push(None);
                    plains.push(plain);
                    sent.push(e);
                }
                Err(err) => {
                    failed.push(e.group);
                    out.push(Some(Err(err)));
                }
            }
        }
        let mut landed = self
            .inner
            .append_batch(sent)
            .await
            .into_iter()
            .zip(plains)
            .map(|(r, plain)| r.map(|o| o.map(|stored| positioned(plain, stored))));
        out.into_iter()
            .map(|o| {
                o.or_else(|| landed.next())
                    .unwrap_or_else(|| Err(StoreError::Other("a batch was answered short".into())))
            })
            .collect()
    }

    fn group_commit(&self) -> bool {
        self.inner.group_commit()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyStore, MasterKey, WrappedKey};
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Keys(Mutex<HashMap<String, WrappedKey>>);

    #[async_trait]
    impl KeyStore for Keys {
        async fn key(&self, s: &str) -> crate::Result<Option<WrappedKey>> {
            Ok(self.0.lock().unwrap().get(s).cloned())
        }
        async fn add_key(&self, s: &str, k: WrappedKey) -> crate::Result<WrappedKey> {
            Ok(self.0.lock().unwrap().entry(s.into()).or_insert(k).clone())
        }
        async fn delete_key(&self, s: &str) -> crate::Result<bool> {
            Ok(self.0.lock().unwrap().remove(s).is_some())
        }
        async fn keys(&self) -> crate::Result<Vec<(String, WrappedKey)>> {
            Ok(self.0.lock().unwrap().clone().into_iter().collect())
        }
        async fn rewrap(&self, _: &[(String, WrappedKey)]) -> crate::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_payloads_text_opens_in_place_and_only_in_personal_fields() {
        let keys = DataKeys::new(Arc::new(Keys::default()), MasterKey::generate().unwrap());
        let sealed = keys.seal("alice", "Two \"coats\"\n, white").await.unwrap();
        // Someone typed what looks like a sealed field into the (not personal) title.
        let lookalike = format!("x {sealed} y");
        let text = serde_json::to_string(&serde_json::json!({
            "job": "j1", "owner": "alice", "title": format!("\"{lookalike}\""),
            "description": sealed, "reward": 5,
        }))
        .unwrap();
        for text in [text.clone(), text.replace("\":", "\": ")] {
            let Ok(Some(opened)) = open_text(&keys, "JobLaunched", &text, false) else {
                panic!("not opened: {text}");
            };
            let v: Value = serde_json::from_str(&opened).unwrap();
            assert_eq!(v["description"], "Two \"coats\"\n, white");
            assert_eq!(
                v["title"],
                format!("\"{lookalike}\""),
                "the title was touched"
            );
        }
        // Nothing sealed in a personal field: nothing to do.
        let plain = r#"{"title": "sealed:v1:alice:AAAA", "description": "d"}"#;
        assert!(
            open_text(&keys, "JobLaunched", plain, false)
                .unwrap()
                .is_none()
        );
        // Forgotten: the placeholder.
        keys.forget("alice").await.unwrap();
        let Ok(Some(opened)) = open_text(&keys, "JobLaunched", &text, false) else {
            panic!("not opened");
        };
        let v: Value = serde_json::from_str(&opened).unwrap();
        assert_eq!(v["description"], FORGOTTEN);
    }

    /// What a fold does not open, no state keeps: folding a wallet with its grant reasons
    /// read as empty text gives the state folded from the plaintext.
    #[tokio::test]
    async fn folding_ignores_the_fields_it_does_not_open() {
        use tally_domain::{Entity, MemberEvent, Wallet};
        let keys = DataKeys::new(Arc::new(Keys::default()), MasterKey::generate().unwrap());
        let texts: Vec<String> = [
            serde_json::json!({"handle": "alice", "display_name": "Alice"}),
            serde_json::json!({"amount": 5, "reason": "Because", "category": "purchase"}),
        ]
        .iter()
        .map(Value::to_string)
        .collect();
        let types = ["MemberRegistered", "CreditsGranted"];
        let stream = StreamId::parse("member:alice").unwrap();
        let mut plain = Wallet::default();
        let mut sealed_then_folded = Wallet::default();
        for (t, text) in types.iter().zip(&texts) {
            let version = crate::contracts::current_version(t).unwrap();
            let e: MemberEvent = crate::codec::decode_one_text(t, version, text).unwrap();
            plain = plain.evolve(&e);
            let mut v: Value = serde_json::from_str(text).unwrap();
            seal_fields(&keys, t, &stream, &Actor::admin("root"), &mut v, true)
                .await
                .unwrap();
            let opened = open_text(&keys, t, &v.to_string(), true).unwrap().unwrap();
            if *t == "CreditsGranted" {
                assert!(opened.contains("\"reason\":\"\""), "{opened}");
            }
            let e: MemberEvent = crate::codec::decode_one_text(t, version, &opened).unwrap();
            sealed_then_folded = sealed_then_folded.evolve(&e);
        }
        assert_eq!(plain, sealed_then_folded);
        assert_eq!(
            NOT_FOLDED,
            &[("CreditsGranted", "reason")],
            "prove each new entry here"
        );
    }
}
