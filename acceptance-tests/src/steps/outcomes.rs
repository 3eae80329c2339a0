//! How a command or query ended: accepted, or refused with a stable code and nothing recorded.

use crate::TallyWorld;
use anyhow::{Result, ensure};
use cucumber::then;

#[then(expr = "it is rejected with {string}")]
async fn rejected_with(w: &mut TallyWorld, code: String) -> Result<()> {
    let e = w.error()?;
    ensure!(
        e.code() == code,
        "expected {code:?}, got {:?}: {e}",
        e.code()
    );
    Ok(())
}

#[then("it succeeds")]
async fn it_succeeds(w: &mut TallyWorld) -> Result<()> {
    w.succeeded()
}

#[then("nothing was recorded")]
async fn nothing_recorded(w: &mut TallyWorld) -> Result<()> {
    let before = w.head_before()?;
    let now = w.head().await?;
    ensure!(
        now == before,
        "the history grew from position {before} to {now}{}",
        w.after_last()
    );
    Ok(())
}
