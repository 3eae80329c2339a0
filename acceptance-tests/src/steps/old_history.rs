//! Histories recorded by older versions of Tally: events written as raw rows of their old
//! schema version, straight into the backend's storage, then read through the service.

use crate::TallyWorld;
use anyhow::{Context, Result};
use cucumber::given;
use serde_json::{Value, json};
use tally_ports::{Actor, EntityRef, RecordedEvent, StreamId};
use uuid::Uuid;

/// Appends one old event to an entity's stream, after its latest version.
async fn record_old(
    w: &TallyWorld,
    entity: EntityRef,
    actor: Actor,
    event_type: &str,
    payload: Value,
) -> Result<()> {
    let past = w
        .past()
        .context("this target cannot write old events into its storage")?;
    let history = w
        .tally()
        .history(&TallyWorld::admin(), &entity)
        .await
        .context("the admin reading the history")?;
    let stream: StreamId = entity.stream()?;
    let id = Uuid::now_v7();
    past(vec![RecordedEvent {
        position: 0,
        stream,
        version: history.len() as u64 + 1,
        event_id: id,
        event_type: event_type.to_owned(),
        schema_version: 1,
        payload,
        time: chrono::Utc::now(),
        actor,
        command_id: id,
        correlation_id: id,
        causation_id: id,
    }])
    .await;
    Ok(())
}

#[given(
    expr = "an older Tally recorded that the admin granted {int} credits to {word} for {string}"
)]
async fn old_grant(w: &mut TallyWorld, amount: u64, handle: String, reason: String) -> Result<()> {
    record_old(
        w,
        EntityRef::member(&handle),
        Actor::admin("root"),
        "CreditsGranted",
        json!({ "amount": amount, "reason": reason }),
    )
    .await
}

#[given(
    expr = "an older Tally recorded that {word} applied to the job {string} with the pitch {string}"
)]
async fn old_application(
    w: &mut TallyWorld,
    who: String,
    title: String,
    pitch: String,
) -> Result<()> {
    let id = w.job(&title)?;
    record_old(
        w,
        EntityRef::job(id),
        Actor::member(&who),
        "ApplicationSubmitted",
        json!({ "participant": who, "pitch": pitch }),
    )
    .await
}
