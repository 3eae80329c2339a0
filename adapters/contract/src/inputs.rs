//! Commands as tests send them, field by field (the port parses them).

use tally_ports::{CommandKind, Input};

/// The admin registers `handle`, named `name`.
pub fn register(handle: &str, name: &str) -> Input {
    Input::new(CommandKind::RegisterMember)
        .with("handle", handle)
        .with("display_name", name)
}

/// The admin grants `amount` credits to `handle`.
pub fn grant(handle: &str, amount: i64, reason: &str) -> Input {
    Input::new(CommandKind::GrantCredits)
        .with("handle", handle)
        .with("amount", amount)
        .with("reason", reason)
}

/// The acting member launches a job.
pub fn launch(title: &str, reward: i64) -> Input {
    Input::new(CommandKind::LaunchJob)
        .with("title", title)
        .with("description", "")
        .with("reward", reward)
}

/// The acting member applies to `job`.
pub fn apply(job: &str, pitch: &str) -> Input {
    Input::new(CommandKind::Apply)
        .with("job", job)
        .with("pitch", pitch)
}

/// The acting member withdraws from `job`.
pub fn withdraw(job: &str) -> Input {
    Input::new(CommandKind::WithdrawApplication).with("job", job)
}

/// The owner accepts `participant` on `job`.
pub fn accept(job: &str, participant: &str) -> Input {
    Input::new(CommandKind::AcceptApplicant)
        .with("job", job)
        .with("participant", participant)
}

/// The owner completes `job`.
pub fn complete(job: &str) -> Input {
    Input::new(CommandKind::CompleteJob).with("job", job)
}

/// The owner cancels `job`.
pub fn cancel(job: &str, reason: &str) -> Input {
    Input::new(CommandKind::CancelJob)
        .with("job", job)
        .with("reason", reason)
}

/// The acting member launches a job with this description.
pub fn launch_described(title: &str, description: &str, reward: i64) -> Input {
    Input::new(CommandKind::LaunchJob)
        .with("title", title)
        .with("description", description)
        .with("reward", reward)
}

/// Forgets the member `handle` (an admin, or the member themselves).
pub fn forget(handle: &str) -> Input {
    Input::new(CommandKind::ForgetMember).with("handle", handle)
}
