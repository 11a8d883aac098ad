//! Which message the machine asks us to send the customer after a reply (a thank-you, a question
//! about a call, ...). Its own module because both sides need it: the machine decides the kind
//! (re-exported as `machine::MessageKind`), `texts` turns it into words.

use serde::{Deserialize, Serialize};

/// What we say to the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// 4–5: a sincere thank-you; it will count.
    Thanks,
    /// 1–2: the quality team has it; someone will be in touch.
    ComplaintAcknowledged,
    /// 3: shall we call you?
    AskContactConsent,
    /// 3 + yes: someone will call.
    ContactConfirmed,
    /// 3 + no: sorry, and goodbye.
    Apology,
    /// Opt-out: we will not write again.
    OptOutConfirmed,
    /// Words we could not read as an answer, while the survey waits for one: we got them, and a
    /// colleague (the inspector) will reply. Once per burst of such messages.
    HandedToColleague,
}
