//! The commands as the steps send them: field by field, as a person types them (the port
//! parses them, so that a scenario about bad input goes through every adapter).

use tally_ports::{CommandKind, Input};

pub(crate) fn register(handle: &str, name: &str) -> Input {
    Input::new(CommandKind::RegisterMember)
        .with("handle", handle)
        .with("display_name", name)
}

pub(crate) fn grant(handle: &str, amount: i64, reason: &str) -> Input {
    Input::new(CommandKind::GrantCredits)
        .with("handle", handle)
        .with("amount", amount)
        .with("reason", reason)
}

pub(crate) fn grant_in(handle: &str, amount: i64, reason: &str, category: &str) -> Input {
    grant(handle, amount, reason).with("category", category)
}

pub(crate) fn launch(title: &str, reward: i64) -> Input {
    Input::new(CommandKind::LaunchJob)
        .with("title", title)
        .with("description", format!("Everything about {title}."))
        .with("reward", reward)
}

pub(crate) fn apply(job: &str, pitch: &str) -> Input {
    Input::new(CommandKind::Apply)
        .with("job", job)
        .with("pitch", pitch)
}

pub(crate) fn apply_proposing(job: &str, pitch: &str, days: i64) -> Input {
    apply(job, pitch).with("proposed_days", days)
}

pub(crate) fn withdraw(job: &str) -> Input {
    Input::new(CommandKind::WithdrawApplication).with("job", job)
}

pub(crate) fn accept(job: &str, participant: &str) -> Input {
    Input::new(CommandKind::AcceptApplicant)
        .with("job", job)
        .with("participant", participant)
}

pub(crate) fn complete(job: &str) -> Input {
    Input::new(CommandKind::CompleteJob).with("job", job)
}

pub(crate) fn cancel(job: &str, reason: &str) -> Input {
    Input::new(CommandKind::CancelJob)
        .with("job", job)
        .with("reason", reason)
}
