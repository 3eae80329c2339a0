//! The reports, for admins: daily totals and fraud signals, with how far they have caught
//! up with the history (they are eventually consistent: a background follower folds the
//! global order into them).

use super::Problems;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::CallCtx;
use axum::Json;
use axum::extract::State;
use tally_api::paths;
use tally_ports::reports::ReportsView;

/// The reports as folded so far (admins only): `checkpoint` is the last position folded and
/// `behind` how many recorded events are not folded yet.
#[utoipa::path(get, path = paths::REPORTS, tag = "reports", operation_id = "reports",
    responses((status = 200, description = "The reports", body = ReportsView), Problems))]
pub(crate) async fn reports(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
) -> Result<Json<ReportsView>, ApiError> {
    Ok(Json(s.tally.reports(&ctx).await?))
}
