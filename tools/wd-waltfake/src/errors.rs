//! The error bodies walt.id 0.18.2 answers with.
//!
//! An exception that reaches Ktor's StatusPages becomes
//! `{"exception":true,"id":"<class>","status":"<reason>","code":"<n>","message":"…"}` with the
//! status `NotFoundException` → 404, `IllegalArgumentException`/`BadRequestException` → 400,
//! `IllegalStateException` and anything else → 500, `WebException(status)` → its status
//! (waltid-services/waltid-service-commons/src/main/kotlin/id/walt/commons/web/plugins/StatusPages.kt).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::StoreError;

/// An exception as StatusPages renders it.
pub fn exception(status: StatusCode, class: &str, message: impl Into<String>) -> Response {
    let body = json!({
        "exception": true,
        "id": class,
        "status": status.canonical_reason().unwrap_or(""),
        "code": status.as_u16().to_string(),
        "message": message.into(),
    });
    (status, Json(body)).into_response()
}

pub fn not_found(message: impl Into<String>) -> Response {
    exception(StatusCode::NOT_FOUND, "NotFoundException", message)
}

pub fn bad_request(message: impl Into<String>) -> Response {
    exception(StatusCode::BAD_REQUEST, "BadRequestException", message)
}

pub fn illegal_argument(message: impl Into<String>) -> Response {
    exception(StatusCode::BAD_REQUEST, "IllegalArgumentException", message)
}

/// A Redis failure: Jedis throws a `JedisConnectionException`, StatusPages answers 500.
impl IntoResponse for StoreError {
    fn into_response(self) -> Response {
        exception(
            StatusCode::INTERNAL_SERVER_ERROR,
            "JedisConnectionException",
            self.0,
        )
    }
}
