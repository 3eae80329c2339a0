//! Errors as `application/problem+json` (RFC 9457): the driving ports' errors through the one
//! mapping of `tally-api` ([`tally_api::problem`]), and the problems only HTTP has (a body too
//! large, no route, a timeout).

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
pub use tally_api::problem::{PROBLEM_JSON, Problem};
use tally_ports::Error;

/// The HTTP status of a driving-port error (the one mapping, shared by the API and the pages).
pub fn status_of(e: &Error) -> StatusCode {
    StatusCode::from_u16(tally_api::problem::status(e)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An error a handler returns: a problem, and for internal errors the cause to log.
#[derive(Debug)]
pub struct ApiError {
    // Boxed: handlers return `Result<_, ApiError>` everywhere, and a small error keeps the
    // happy path cheap.
    problem: Box<Problem>,
    cause: Option<String>,
}

impl ApiError {
    /// A problem with a status, code and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            problem: Box::new(Problem::new(status.as_u16(), code, detail)),
            cause: None,
        }
    }

    /// The same problem, naming the field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.problem.field = Some(field.into());
        self
    }

    /// The problem as the client will see it.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let cause = match &e {
            Error::Infrastructure(m) => Some(m.clone()),
            _ => None,
        };
        Self {
            problem: Box::new(Problem::of(&e)),
            cause,
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_path", r.body_text()).with_field("path")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()).with_field("query")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            // The span around the request carries its request id.
            tracing::error!(error = %cause, "internal error");
        }
        let status =
            StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tally\""),
            );
        }
        res
    }
}

/// Turns error responses that are not problems yet (from a timeout, an unknown method, the
/// framework) into problems, so that every error a client sees has the same shape.
pub(crate) async fn problems_everywhere(res: Response) -> Response {
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let code = match status {
        StatusCode::NOT_FOUND => "no_route",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let detail = status.canonical_reason().unwrap_or("error").to_lowercase();
    let allow = res.headers().get(header::ALLOW).cloned();
    let mut out = ApiError::new(status, code, detail).into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_domain::Rejection;

    #[test]
    fn each_port_error_has_its_status() {
        let cases = [
            (Error::invalid("amount", "invalid_amount", "no"), 400),
            (Rejection::SignInFirst.into(), 401),
            (Rejection::AdminOnly.into(), 403),
            (Rejection::OwnJob.into(), 422),
            (Error::infrastructure("disk on fire"), 500),
        ];
        for (e, status) in cases {
            let code = e.code().to_owned();
            let p = ApiError::from(e).problem;
            assert_eq!((p.status, p.code.as_str()), (status, code.as_str()));
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = ApiError::from(Error::infrastructure("password=hunter2 at db:5432"));
        assert!(!e.problem.detail.contains("hunter2"));
        assert_eq!(e.cause.as_deref(), Some("password=hunter2 at db:5432"));
    }
}
