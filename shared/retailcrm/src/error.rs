//! How a retailCRM call failed, in terms a caller can act on (retry later, give up, fix config).

use otklik_core::ports::PortError;
use serde_json::Value;

/// A failed retailCRM call.
///
/// Messages come from retailCRM (`errorMsg`, `errors`) and never contain our API key; they may echo
/// what we sent, so callers should log the kind rather than the whole text where data is personal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// HTTP 404 (`errorMsg`, usually "Not found").
    #[error("retailCRM: not found: {0}")]
    NotFound(String),
    /// HTTP 401/403: the key is wrong or lacks the permission. Names where the key comes from, so
    /// an operator knows what to fix.
    #[error("retailCRM refused the API key ({0}): check OTKLIK_CRM_API_KEY and that the key may use the API methods Otklik needs (orders, history, tasks, custom fields, users)")]
    Unauthorized(String),
    /// Any other refusal: a 4xx, or a 200 with `"success":false`. `errors` is retailCRM's `errors`
    /// flattened: a map becomes `"key: message"` items, a list stays a list.
    #[error("retailCRM rejected the request (HTTP {status}): {message}{}", join_errors(.errors))]
    Rejected {
        status: u16,
        message: String,
        errors: Vec<String>,
    },
    /// HTTP 503/429 on every attempt.
    #[error("retailCRM: rate limited (retries exhausted)")]
    RateLimited,
    /// HTTP 5xx other than the rate limit.
    #[error("retailCRM server error (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    /// The answer was not a JSON object, e.g. the HTML page of an unknown account.
    #[error("retailCRM answered with something other than JSON (HTTP {status}): {snippet}")]
    NotJson { status: u16, snippet: String },
    #[error("retailCRM: request timed out")]
    Timeout,
    #[error("retailCRM: network error: {0}")]
    Network(String),
    /// A success answer without what we asked for (e.g. no `order`).
    #[error("retailCRM: unexpected answer: {0}")]
    Decode(String),
    #[error("retailCRM client misconfigured: {0}")]
    InvalidConfig(String),
}

impl CrmError {
    /// Worth trying again later: the same request may well succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            CrmError::RateLimited | CrmError::Timeout | CrmError::Network(_) => true,
            CrmError::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

impl From<CrmError> for PortError {
    fn from(e: CrmError) -> Self {
        match e {
            CrmError::NotFound(m) => PortError::NotFound(m),
            e if e.is_transient() => PortError::Transient(e.to_string()),
            e => PortError::Permanent(e.to_string()),
        }
    }
}

fn join_errors(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(" ({})", errors.join("; "))
    }
}

/// retailCRM's `errors`: a map `{"order[status]":"…"}`, a list `["…"]`, or absent.
pub(crate) fn flatten_errors(errors: Option<&Value>) -> Vec<String> {
    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    match errors {
        Some(Value::Object(map)) => map
            .iter()
            .flat_map(|(k, v)| match v {
                // `{"order[items]": ["a", "b"]}`: one line per message, each naming the field.
                Value::Array(list) => list.iter().map(|m| format!("{k}: {}", text(m))).collect(),
                other => vec![format!("{k}: {}", text(other))],
            })
            .collect(),
        Some(Value::Array(list)) => list.iter().map(text).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The first `max` characters of a body, whitespace collapsed, for an error message.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(max).collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_refused_key_names_the_variable_to_fix() {
        let e = CrmError::Unauthorized("Wrong \"apiKey\" value.".into()).to_string();
        assert!(
            e.contains("OTKLIK_CRM_API_KEY") && e.contains("apiKey"),
            "{e}"
        );
    }
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_flatten_from_map_list_or_nothing() {
        let map = json!({"order[status]": "Unknown status", "order[items]": ["a", "b"], "n": 5});
        let mut got = flatten_errors(Some(&map));
        got.sort();
        assert_eq!(
            got,
            vec![
                "n: 5",
                "order[items]: a",
                "order[items]: b",
                "order[status]: Unknown status"
            ]
        );
        assert_eq!(flatten_errors(Some(&json!(["x", 1]))), vec!["x", "1"]);
        assert!(flatten_errors(None).is_empty());
        assert!(flatten_errors(Some(&Value::Null)).is_empty());
        assert!(flatten_errors(Some(&json!([]))).is_empty());
    }

    #[test]
    fn transient_kinds() {
        assert!(CrmError::RateLimited.is_transient());
        assert!(CrmError::Timeout.is_transient());
        assert!(CrmError::Network("reset".into()).is_transient());
        assert!(CrmError::Server {
            status: 502,
            message: String::new()
        }
        .is_transient());
        assert!(!CrmError::NotFound("x".into()).is_transient());
        assert!(!CrmError::Unauthorized("x".into()).is_transient());
        assert!(!CrmError::Rejected {
            status: 400,
            message: "x".into(),
            errors: vec![]
        }
        .is_transient());
        assert!(!CrmError::NotJson {
            status: 200,
            snippet: String::new()
        }
        .is_transient());
        assert!(!CrmError::Decode("x".into()).is_transient());
        assert!(!CrmError::InvalidConfig("x".into()).is_transient());
    }

    #[test]
    fn port_error_mapping() {
        assert!(matches!(
            PortError::from(CrmError::Timeout),
            PortError::Transient(_)
        ));
        assert!(matches!(
            PortError::from(CrmError::NotFound("Not found".into())),
            PortError::NotFound(_)
        ));
        assert!(matches!(
            PortError::from(CrmError::Unauthorized("k".into())),
            PortError::Permanent(_)
        ));
    }

    #[test]
    fn rejected_display_lists_errors() {
        let e = CrmError::Rejected {
            status: 400,
            message: "Order is not valid".into(),
            errors: vec!["order[status]: bad".into()],
        };
        assert_eq!(
            e.to_string(),
            "retailCRM rejected the request (HTTP 400): Order is not valid (order[status]: bad)"
        );
    }

    #[test]
    fn snippet_is_bounded_and_char_safe() {
        let body = format!("<html>\n  {}</html>", "щ".repeat(500));
        let s = snippet(body.as_bytes(), 200);
        assert_eq!(s.chars().count(), 200);
        assert!(s.starts_with("<html> щ"));
    }
}
