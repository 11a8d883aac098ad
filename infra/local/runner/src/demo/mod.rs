//! `make demo`: a scripted day of three shops, through the whole local stack, checked.
//!
//! About forty orders are completed under different timing rules; their customers answer on
//! WhatsApp (a Meta shop, and a smaller Green-API shop), by email, and — in the "Russia 2026" shop,
//! whose chain is MAX → SMS → email — on MAX and through the SMS's short link, with every kind of
//! answer. Nothing is called by hand: the simulators fire the trigger and post the webhooks, the
//! runner plays SQS and the Scheduler (two days pass in about ten seconds). At the end the demo
//! prints the funnel, the response rate per channel, what reached retailCRM, the complaints, the
//! inspector's tasks and the KPI table, and fails naming every expected outcome that did not happen.
//!
//! `cases` and `russia` hold who does what, `run` plays a shop's day, `check` compares with what was expected,
//! `report` prints the numbers.

mod cases;
mod check;
mod report;
mod run;
mod russia;

pub use cases::{green_day, meta_day};
pub use check::{check, dashboard, inspector_works};
pub use report::{per_channel, report, ChannelRate};
pub use run::{play, Played};
pub use russia::russia_day;

use otklik_core::model::Channel;

/// What the customer does. A new kind of answer is a variant here, its arm in `run::answer`
/// (what the customer does) and in `run::question_arrived` (what they wait for before acting).
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// Messages on WhatsApp, each sent after our previous message arrived.
    Say(&'static [&'static str]),
    /// Messages in the MAX chat, each sent after our previous message arrived.
    OnMax(&'static [&'static str]),
    /// Opens the rating link of the email in a browser.
    Click(u8),
    /// A mail server's link scanner opens every link first; the person clicks later.
    ScannedThenClick(u8),
    /// Opens the SMS's short link and taps a rating on the page.
    Tap(Tap),
    /// Says nothing to the question on MAX; taps the link of the reminder SMS that follows.
    AfterReminder(Tap),
    /// Never answers.
    Silent,
}

/// A tap on the SMS's rating page.
#[derive(Debug, Clone, Copy)]
pub struct Tap {
    pub rating: u8,
    /// Words typed into the page's comment box after a 1 or 2.
    pub comment: Option<&'static str>,
    /// The phone's messenger fetched the link for its preview before the person opened it.
    pub previewed: bool,
}

/// Whether the customer's number has a MAX account (the simulator's `checkAccount` answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxAccount {
    None,
    Has,
    /// The account exists, but the message to it fails (the instance reports `failed`).
    Failing,
}

/// What must have happened by the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expect {
    pub rating: Option<u8>,
    pub complaint: bool,
    pub inspector_task: bool,
    pub opted_out: bool,
    /// The channels the question went out on, in order (empty: not checked).
    pub asked: &'static [Channel],
    /// The answer came after the one reminder.
    pub after_reminder: bool,
}

impl Expect {
    /// The same outcome, reached after asking on `asked`.
    pub const fn on(self, asked: &'static [Channel]) -> Expect {
        Expect { asked, ..self }
    }

    /// The same outcome, reached by answering the reminder.
    pub const fn after_reminder(self) -> Expect {
        Expect {
            after_reminder: true,
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub who: &'static str,
    pub site: &'static str,
    /// `courier` (asked two days later) or `self-delivery` (two hours later).
    pub delivery: &'static str,
    pub phone: Option<&'static str>,
    pub has_whatsapp: bool,
    pub max: MaxAccount,
    pub email: Option<&'static str>,
    /// The manager who took the order, and the one who finished it.
    pub managers: (u64, u64),
    pub answer: Answer,
    pub expect: Expect,
}

/// One shop of the demo: its name in the story, its WhatsApp provider, its configuration and its
/// day.
#[derive(Clone, Copy)]
pub struct Shop {
    pub name: &'static str,
    /// `meta` or `green-api`.
    pub provider: &'static str,
    /// What it changes in the local configuration (already pointed at the simulators).
    pub config: fn(String) -> String,
    pub day: fn() -> Vec<Case>,
}

/// The demo's configuration: the shipped example, with link clicks allowed 3 s after sending
/// (instead of 15 s) so the email customers need not wait.
fn demo_config(text: String) -> String {
    text.replace("min_click_delay = \"15s\"", "min_click_delay = \"3s\"")
}

/// The Russian shop reminds whoever has not answered six (compressed) days after the question:
/// about half a minute here, later than any scripted answer, so only the customer who waits for
/// the reminder meets it.
fn russia_config(text: String) -> String {
    crate::stack::with_russia_site(demo_config(text))
        .replace("reminder_after = \"off\"", "reminder_after = \"6d\"")
}

/// The three shops, in the order the demo plays them; the first one's KPI table closes the report.
pub const SHOPS: [Shop; 3] = [
    Shop {
        name: "Meta WhatsApp",
        provider: "meta",
        config: demo_config,
        day: meta_day,
    },
    Shop {
        name: "Green-API",
        provider: "green-api",
        config: demo_config,
        day: green_day,
    },
    Shop {
        name: "Russia 2026 (MAX → SMS → email)",
        provider: "meta",
        config: russia_config,
        day: russia_day,
    },
];
