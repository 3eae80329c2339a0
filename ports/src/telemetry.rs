//! The service's metrics, through the [`metrics`] facade: recorded wherever the work happens,
//! exported by whichever recorder the binary installs (Prometheus in `tally serve`), and free
//! when none is installed (tests, benchmarks).
//!
//! Names follow Prometheus conventions: `_total` for counters, base units (seconds) for
//! histograms. [`describe`] registers their help texts.

use crate::error::Error;
use tally_domain::CommandKind;

/// Commands run, by `type` and `outcome` (`ok`, `rejected`, `invalid`, `conflict`,
/// `unavailable`, `error`) and `code` (the error's machine code; `ok` when recorded).
pub const COMMANDS: &str = "tally_commands_total";
/// How long commands took, by `type`, in seconds (from parse to answer, retries included).
pub const COMMAND_SECONDS: &str = "tally_command_duration_seconds";
/// Attempts of a command that conflicted with a concurrent writer and were run again.
pub const RETRIES: &str = "tally_command_retries_total";
/// First attempts, by `result`: `hit` when the states held were current and the command
/// committed in one statement, `miss` when it went on to the full transaction.
pub const FAST_PATH: &str = "tally_command_fast_path_total";
/// Entity states looked up, by `source`: `memory` (held by this process), `cache` (a row of
/// the state cache) or `miss` (replayed from the events).
pub const STATE_LOOKUPS: &str = "tally_state_lookups_total";
/// State-cache rows found but not used: another format (after an upgrade) or unreadable.
pub const CACHE_DISCARDED: &str = "tally_state_cache_discarded_total";
/// States brought up to date from the events and written back to the cache by a read.
pub const CACHE_REBUILDS: &str = "tally_state_cache_rebuilds_total";
/// Events folded to bring one state up to date (a histogram of replay lengths).
pub const REPLAY_EVENTS: &str = "tally_replay_events";

/// Commands landed together by group commit (a histogram of batch sizes).
pub const GROUP_COMMIT_BATCH: &str = "tally_group_commit_batch_commands";

/// Feed pages read forwards, by how many events their reader was behind the head after them
/// (0: caught up): the lag of the history's followers over HTTP.
pub const FEED_LAG: &str = "tally_feed_lag_events";
/// Feed readers waiting in a long poll now.
pub const FEED_LONG_POLLS: &str = "tally_feed_long_polls";

/// Registers the help text of every metric recorded by this crate.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(COMMANDS, "Commands run, by type, outcome and code");
    describe_histogram!(
        COMMAND_SECONDS,
        Unit::Seconds,
        "How long commands took, retries included"
    );
    describe_counter!(
        RETRIES,
        "Command attempts that conflicted and were run again"
    );
    describe_counter!(
        FAST_PATH,
        "First attempts: hit (one statement) or miss (full transaction)"
    );
    describe_counter!(
        STATE_LOOKUPS,
        "Entity states looked up, by source: memory, cache or miss"
    );
    describe_counter!(
        CACHE_DISCARDED,
        "State-cache rows of another format or unreadable"
    );
    describe_counter!(
        CACHE_REBUILDS,
        "States replayed by a read and written back to the cache"
    );
    describe_histogram!(REPLAY_EVENTS, "Events folded to bring one state up to date");
    describe_histogram!(
        GROUP_COMMIT_BATCH,
        "Commands landed together in one transaction (group commit)"
    );
    describe_histogram!(
        FEED_LAG,
        "Feed pages by how many events their reader was behind the head"
    );
    describe_gauge!(FEED_LONG_POLLS, "Feed readers waiting in a long poll");
    describe_counter!(
        crate::webhooks::ATTEMPTS,
        "Webhook attempts, by the delivery's status after them"
    );
}

/// A feed reader in a long poll, counted until it is answered (or gives up).
pub(crate) struct LongPoll;

impl LongPoll {
    pub(crate) fn start() -> Self {
        metrics::gauge!(FEED_LONG_POLLS).increment(1.0);
        Self
    }
}

impl Drop for LongPoll {
    fn drop(&mut self) {
        metrics::gauge!(FEED_LONG_POLLS).decrement(1.0);
    }
}

/// Records a command's outcome and duration.
pub(crate) fn command(kind: CommandKind, result: Result<(), &Error>, seconds: f64) {
    let (outcome, code) = match result {
        Ok(()) => ("ok", "ok"),
        Err(e) => (outcome(e), e.code()),
    };
    let kind = kind.name();
    metrics::counter!(COMMANDS, "type" => kind, "outcome" => outcome, "code" => code.to_owned())
        .increment(1);
    metrics::histogram!(COMMAND_SECONDS, "type" => kind).record(seconds);
}

fn outcome(e: &Error) -> &'static str {
    match e {
        Error::Rejected(_) => "rejected",
        Error::Invalid(_) | Error::NotFound(_) | Error::Unauthorized(_) => "invalid",
        Error::Conflict(_) => "conflict",
        Error::Unavailable(_) => "unavailable",
        Error::Infrastructure(_) => "error",
    }
}
