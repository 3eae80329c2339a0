//! Errors as `application/problem+json` (RFC 9457): the one mapping of the driving port's
//! error taxonomy to HTTP, and the problems only HTTP has (a body too large, no route).

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tally_ports::Error;
use utoipa::ToSchema;

/// The media type of problems.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem report: what went wrong, for people (`title`, `detail`) and for programs
/// (`status`, `code`, `field`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:tally:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time, for a person.
    pub detail: String,
    /// A stable machine code, the same one the driving port returns (e.g. `insufficient_credits`).
    pub code: String,
    /// The input field at fault (for invalid input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
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
            problem: Box::new(Problem {
                problem_type: format!("urn:tally:problem:{code}"),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                code: code.to_owned(),
                field: None,
            }),
            cause: None,
        }
    }

    /// The same problem, naming the field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.problem.field = Some(field.into());
        self
    }

    /// An internal error: the client sees an opaque problem, the cause goes to the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        );
        e.cause = Some(cause.to_string());
        e
    }

    /// The problem as the client will see it.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, title) = match &e {
            Error::Invalid { .. } => (StatusCode::BAD_REQUEST, "Invalid input"),
            Error::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "Not signed in"),
            Error::Forbidden { .. } => (StatusCode::FORBIDDEN, "Not allowed"),
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, "Not found"),
            Error::Conflict { .. } => (StatusCode::CONFLICT, "Conflict"),
            Error::Rejected { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "Rejected"),
            Error::Infrastructure { message } => return Self::internal(message),
        };
        let detail = match &e {
            Error::Invalid { message, .. }
            | Error::Unauthorized { message }
            | Error::Forbidden { message, .. }
            | Error::NotFound { message, .. }
            | Error::Conflict { message, .. }
            | Error::Rejected { message, .. }
            | Error::Infrastructure { message } => message.clone(),
        };
        let mut out = Self::new(status, e.code(), detail);
        title.clone_into(&mut out.problem.title);
        if let Error::Invalid { field, .. } = e {
            out = out.with_field(field);
        }
        out
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

    #[test]
    fn each_port_error_has_its_status() {
        let cases = [
            (Error::invalid("amount", "invalid_amount", "no"), 400),
            (Error::unauthorized(), 401),
            (Error::forbidden("admin_only", "no"), 403),
            (Error::not_found("unknown_job", "no"), 404),
            (
                Error::Conflict {
                    code: "conflict".into(),
                    message: "again".into(),
                },
                409,
            ),
            (
                Error::Rejected {
                    code: "insufficient_credits".into(),
                    message: "poor".into(),
                },
                422,
            ),
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

    #[test]
    fn invalid_input_names_its_field() {
        let p = ApiError::from(Error::invalid("handle", "invalid_handle", "bad")).problem;
        assert_eq!(p.field.as_deref(), Some("handle"));
        assert_eq!(p.problem_type, "urn:tally:problem:invalid_handle");
    }
}
