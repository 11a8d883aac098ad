//! Provider faults for the fault-injection run (`PUT /sim/faults`): a share of the sends to the
//! MAX instance (`sendMessage`) and to SMS.ru (`/sms/send`) is refused before anything is taken,
//! or taken — recorded and delivered like any other — and then answered with a 500 or only after
//! the caller has given up. Duplicated and reordered statuses and retried webhooks are
//! `SimConfig`'s (`duplicateStatuses`, `reverseStatuses`, `webhookRetries`); they apply to MAX
//! statuses and SMS.ru callbacks as to WhatsApp's.
//!
//! A refused send is what the providers answer when they are overloaded (GREEN-API and SMS.ru
//! both answer 503 / "repeat the request" then): the sender may try again. A send taken and then
//! failed or held is the case a sender cannot tell from a lost one, so it must never send again.
//! A 500 *before* taking the message is not simulated: to the sender it looks the same as one
//! after, and at-most-once sending loses that message by design (docs/reliability.md).

use std::future::Future;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::sim::Sim;

/// The shares of sends that fail, each way (`PUT /sim/faults`; `DELETE` turns them off).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ProviderFaults {
    /// Refused with a 503 before anything is taken.
    pub refuse_rate: f64,
    /// Taken, then answered with a 500.
    pub accept_then_error_rate: f64,
    /// Taken, then answered only after `hold_ms` (longer than the caller waits).
    pub accept_then_hold_rate: f64,
    pub hold_ms: u64,
    /// Seeds the draws, so that a run can be repeated.
    pub seed: u64,
}

impl ProviderFaults {
    /// Refused unless every rate is a share and together they are at most one.
    pub fn check(&self) -> Result<(), String> {
        let rates = [
            self.refuse_rate,
            self.accept_then_error_rate,
            self.accept_then_hold_rate,
        ];
        if rates.iter().any(|r| !(0.0..=1.0).contains(r)) || rates.iter().sum::<f64>() > 1.0 {
            return Err("each rate is between 0 and 1, and together at most 1".into());
        }
        Ok(())
    }
}

/// How many sends each fault hit (`GET /sim/stats`, `providerFaults`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultStats {
    pub refused: u64,
    pub accepted_then_error: u64,
    pub accepted_then_held: u64,
}

/// What happens to one send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Refuse,
    AcceptThenError,
    AcceptThenHold(Duration),
}

/// Draws the fault for one send from `faults` with `rng`.
pub(crate) fn draw(faults: &ProviderFaults, rng: &mut fastrand::Rng) -> Fault {
    let x = rng.f64();
    let refuse = faults.refuse_rate;
    let error = refuse + faults.accept_then_error_rate;
    let hold = error + faults.accept_then_hold_rate;
    if x < refuse {
        Fault::Refuse
    } else if x < error {
        Fault::AcceptThenError
    } else if x < hold {
        Fault::AcceptThenHold(Duration::from_millis(faults.hold_ms))
    } else {
        Fault::None
    }
}

/// Runs one send (`send` records it and builds the provider's answer) under the fault drawn for
/// it. A send the provider refused on its own merits is answered as it is.
pub(crate) async fn send_with_faults<F>(sim: &Sim, send: F) -> Response
where
    F: Future<Output = Response>,
{
    match sim.draw_fault() {
        Fault::None => send.await,
        Fault::Refuse => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "Service Unavailable (injected)" })),
        )
            .into_response(),
        Fault::AcceptThenError => {
            let answer = send.await;
            if !answer.status().is_success() {
                return answer;
            }
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "Internal Server Error (injected, after the send)" })),
            )
                .into_response()
        }
        Fault::AcceptThenHold(hold) => {
            let answer = send.await;
            tokio::time::sleep(hold).await;
            answer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_follow_the_rates() {
        let faults = ProviderFaults {
            refuse_rate: 0.1,
            accept_then_error_rate: 0.2,
            accept_then_hold_rate: 0.05,
            hold_ms: 7,
            seed: 1,
        };
        let mut rng = fastrand::Rng::with_seed(1);
        let mut counts = [0u32; 4];
        for _ in 0..20_000 {
            counts[match draw(&faults, &mut rng) {
                Fault::None => 0,
                Fault::Refuse => 1,
                Fault::AcceptThenError => 2,
                Fault::AcceptThenHold(d) => {
                    assert_eq!(d, Duration::from_millis(7));
                    3
                }
            }] += 1;
        }
        let share = |n: u32| f64::from(n) / 20_000.0;
        assert!((share(counts[1]) - 0.1).abs() < 0.015, "{counts:?}");
        assert!((share(counts[2]) - 0.2).abs() < 0.015, "{counts:?}");
        assert!((share(counts[3]) - 0.05).abs() < 0.01, "{counts:?}");
        assert_eq!(
            draw(&ProviderFaults::default(), &mut rng),
            Fault::None,
            "no faults unless asked"
        );
    }

    #[test]
    fn rates_must_be_shares() {
        let bad = ProviderFaults {
            refuse_rate: 0.7,
            accept_then_error_rate: 0.5,
            ..Default::default()
        };
        assert!(bad.check().is_err());
        assert!(ProviderFaults::default().check().is_ok());
    }
}
