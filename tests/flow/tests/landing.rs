//! The email landing page and the SMS's short-link page over real HTTP (the local gateway running
//! the real handler on the local AWS endpoint), and once in headless Chromium at a phone's size.

use std::ops::Deref;
use std::sync::Arc;

use chrono::{Duration, Utc};
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{COMPLAINTS_QUEUE, CRM_WRITES_QUEUE};
use otklik_core::links::{opt_out_link, rating_links, LinkAction, LinkSigner, ShortLinkId};
use otklik_core::machine::{Command, Contact, Survey};
use otklik_core::model::{Channel, Email, OrderRef, Outcome, Rating, SurveyState};
use otklik_core::ports::{DoNotContactList, SurveyStore};
use otklik_email_landing::Landing;
use otklik_flow_tests::{commands, nonce_of, TestStack};
use otklik_local_runner::gateway::{handler, Route};
use otklik_local_runner::stack;
use serde_json::Value;

/// A bare stack with the landing page served, and the queues its answers go to.
struct Stack {
    stack: TestStack,
    signer: LinkSigner,
    crm_writes: SqsQueue,
    complaints: SqsQueue,
    next_order: std::sync::atomic::AtomicU64,
}

// The test's own pieces (the queues, the signer) sit beside everything the harness offers.
impl Deref for Stack {
    type Target = TestStack;
    fn deref(&self) -> &TestStack {
        &self.stack
    }
}

async fn stack(test: &str) -> Stack {
    let mut stack = TestStack::bare(test, "meta").await;
    let landing = Arc::new(Landing::from_parts(&stack.parts()).await.unwrap());
    let serve = |landing: Arc<Landing>| {
        handler(move |req| {
            let landing = landing.clone();
            async move { landing.handle(req, Utc::now()).await }
        })
    };
    stack
        .serve(vec![
            Route::new("/r/", serve(landing.clone())),
            Route::new("/s/", serve(landing)),
        ])
        .await;
    Stack {
        signer: LinkSigner::new(stack::LINK_SECRET.as_bytes()),
        crm_writes: stack.queue(&CRM_WRITES_QUEUE).await,
        complaints: stack.queue(&COMPLAINTS_QUEUE).await,
        next_order: 5000.into(),
        stack,
    }
}

impl Stack {
    /// A survey whose email went out `ago` ago.
    async fn emailed(&self, ago: Duration) -> Survey {
        let id = self
            .next_order
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let sent = Utc::now() - ago;
        let mut s = Survey::new(
            OrderRef::new("main-shop", id).unwrap(),
            Contact {
                phone: None,
                email: Some(Email::parse(&format!("buyer{id}@example.ru")).unwrap()),
            },
            sent - Duration::days(2),
            sent,
        );
        s.state = SurveyState::Sent;
        s.channel = Some(Channel::Email);
        s.sent_at = Some(sent);
        s.employees = vec![otklik_core::model::EmployeeId::new(11).unwrap()];
        assert!(self.store.create(&s).await.unwrap());
        self.store.get(&s.id).await.unwrap().unwrap()
    }

    /// A survey asked by SMS `ago` ago, with its short link (valid for `valid`, from now), as
    /// dispatch leaves it.
    async fn texted(&self, ago: Duration, valid: Duration) -> (Survey, String) {
        let id = self
            .next_order
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let sent = Utc::now() - ago;
        let mut s = Survey::new(
            OrderRef::new("main-shop", id).unwrap(),
            Contact {
                phone: Some(otklik_core::model::Phone::parse("+79001234567", "RU").unwrap()),
                email: None,
            },
            sent - Duration::days(2),
            sent,
        );
        s.state = SurveyState::Sent;
        s.channel = Some(Channel::Sms);
        s.sent_at = Some(sent);
        s.employees = vec![otklik_core::model::EmployeeId::new(11).unwrap()];
        assert!(self.store.create(&s).await.unwrap());
        let link = ShortLinkId::parse(&format!("Sms{id:09}")).unwrap();
        assert!(self
            .store
            .create_short_link(&link, &s.id, Utc::now() + valid)
            .await
            .unwrap());
        (
            self.store.get(&s.id).await.unwrap().unwrap(),
            link.url(&self.api_url()),
        )
    }

    /// A tap on the SMS page: the form post of one rating button, HTML back.
    async fn tap(&self, url: &str, rating: &str) -> (u16, String) {
        let r = self
            .driver
            .http
            .post(url)
            .form(&[("rating", rating)])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    fn links(&self, s: &Survey) -> Vec<(Rating, String)> {
        rating_links(
            &self.signer,
            &self.api_url(),
            &s.id,
            Utc::now() + Duration::days(30),
        )
    }

    fn link(&self, s: &Survey, rating: u8) -> String {
        self.links(s)
            .into_iter()
            .find(|(r, _)| r.value() == rating)
            .unwrap()
            .1
    }
}

#[tokio::test]
async fn a_scanner_opening_all_five_links_records_nothing() {
    let s = stack("scanner").await;
    let survey = s.emailed(Duration::hours(2)).await;
    // The scanner opens every link within a moment, and even runs the pages' scripts.
    let mut pages = Vec::new();
    for (_, url) in s.links(&survey) {
        let (status, html) = s.open(&url).await;
        assert_eq!(status, 200);
        assert!(html.contains("data-state=\"pending\""));
        pages.push((url, nonce_of(&html)));
    }
    assert_eq!(s.survey(&survey).await, survey, "GETs record nothing");
    for (url, nonce) in &pages {
        let (status, body) = s.post_json(url, &[("nonce", nonce)]).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["reason"], "confirm");
    }
    let after = s.survey(&survey).await;
    assert_eq!(after.rating, None);
    assert_eq!(after.state, SurveyState::Sent);
    assert!(commands(&s.crm_writes).await.is_empty());
}

#[tokio::test]
async fn a_person_opening_one_link_records_exactly_one_rating() {
    let s = stack("person").await;
    let survey = s.emailed(Duration::hours(2)).await;
    let url = s.link(&survey, 4);
    let (status, html) = s.open(&url).await;
    assert_eq!(status, 200);
    // Nothing is recorded yet, so nothing thanks yet.
    assert!(html.contains("<h1>Ваша оценка</h1>"), "{html}");
    assert!(!html.contains("Спасибо за вашу оценку"));
    assert!(html.len() < 20 * 1024, "{} bytes", html.len());
    let nonce = nonce_of(&html);
    // The script's POST, then a replay of it (a double load, a back button).
    for _ in 0..2 {
        let (status, body) = s.post_json(&url, &[("nonce", &nonce)]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["recorded"], true);
        assert_eq!(body["rating"], 4);
        assert_eq!(body["next"], "thanks");
    }
    let after = s.survey(&survey).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(4));
    assert_eq!(
        after.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
    let writes = commands(&s.crm_writes).await;
    let ratings: Vec<_> = writes
        .iter()
        .filter(|c| matches!(c, Command::WriteRating { .. }))
        .collect();
    assert_eq!(ratings.len(), 1, "{writes:?}");
    // Another link afterwards: the page shows the rating we have (4, not the clicked 1) and
    // where a person answers; nothing changes.
    let other = s.link(&survey, 1);
    let (status, html) = s.open(&other).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("data-state=\"answered\""), "{html}");
    assert!(html.contains("Записана ваша оценка: 4 из 5."), "{html}");
    assert!(!html.contains("1 из 5"), "{html}");
    assert!(html.contains(&s.config.email.reply_to), "{html}");
    let (status, body) = s
        .driver
        .http
        .get(&other)
        .header("accept", "application/json")
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 409);
    let body: Value = body.json().await.unwrap();
    assert_eq!(body["rating"], 4, "{body}");
    // The same link again shows the recorded page, thanks and all.
    let (status, html) = s.open(&url).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Спасибо за вашу оценку</h1>"), "{html}");
    assert_eq!(s.survey(&survey).await.rating.map(|r| r.value()), Some(4));
    // A nonce of another link is refused.
    let (status, _) = s.post_json(&other, &[("nonce", &nonce)]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_click_right_after_sending_needs_a_confirmation() {
    let s = stack("soon").await;
    let survey = s.emailed(Duration::seconds(1)).await;
    let url = s.link(&survey, 5);
    let (_, html) = s.open(&url).await;
    let nonce = nonce_of(&html);
    let (status, _) = s.post_json(&url, &[("nonce", &nonce)]).await;
    assert_eq!(status, 202);
    assert_eq!(s.survey(&survey).await.rating, None);
    // The person presses «Да, это моя оценка» (a plain form post, HTML back).
    let r = s
        .driver
        .http
        .post(&url)
        .form(&[("nonce", nonce.as_str()), ("confirm", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(s.survey(&survey).await.rating.map(|r| r.value()), Some(5));
}

#[tokio::test]
async fn yes_call_me_without_a_phone_promises_an_email_not_a_call() {
    let s = stack("no-phone").await;
    // The email survey's customer left no phone.
    let three = s.emailed(Duration::hours(3)).await;
    assert!(three.contact.phone.is_none());
    let url = s.link(&three, 3);
    let (status, _) = s.click(&url).await;
    assert_eq!(status, 200);
    // The page's form post (HTML back, as without script).
    let r = s
        .driver
        .http
        .post(format!("{url}/contact"))
        .form(&[("answer", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("напишем вам на почту"), "{html}");
    assert!(!html.contains("перезвоним"), "{html}");
}

#[tokio::test]
async fn three_asks_about_a_call_and_one_takes_a_comment() {
    let s = stack("followups").await;
    let three = s.emailed(Duration::hours(3)).await;
    let url = s.link(&three, 3);
    let (status, body) = s.click(&url).await;
    assert_eq!((status, body["next"].as_str()), (200, Some("contact")));
    let (status, body) = s
        .post_json(&format!("{url}/contact"), &[("answer", "yes")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        s.survey(&three).await.state,
        SurveyState::Closed {
            outcome: Outcome::ComplaintOpened
        }
    );
    // The contact question belongs to the 3 only.
    let one = s.emailed(Duration::hours(3)).await;
    let url1 = s.link(&one, 1);
    let (status, _) = s
        .post_json(&format!("{url1}/contact"), &[("answer", "yes")])
        .await;
    assert_eq!(status, 404);
    let (status, body) = s.click(&url1).await;
    assert_eq!((status, body["next"].as_str()), (200, Some("comment")));
    for _ in 0..2 {
        let (status, _) = s
            .post_json(
                &format!("{url1}/comment"),
                &[("text", "Курьер опоздал на три часа")],
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = s
        .post_json(&format!("{url1}/comment"), &[("text", &"я".repeat(2001))])
        .await;
    assert_eq!(status, 400, "over 2000 characters");
    let complaints = commands(&s.complaints).await;
    assert_eq!(complaints.len(), 2, "the 3 + yes and the 1: {complaints:?}");
    let words: Vec<_> = commands(&s.crm_writes)
        .await
        .into_iter()
        .filter_map(|c| match c {
            Command::SaveWords { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(words, vec!["Курьер опоздал на три часа".to_string()]);
}

#[tokio::test]
async fn a_refused_contact_answer_or_comment_changes_nothing() {
    // A security probe posted "yes" through a 3's link before any rating: refused, but applied,
    // so the customer's genuine "yes" later was taken for a repeat — no complaint.
    let s = stack("refusals").await;
    let three = s.emailed(Duration::hours(3)).await;
    let url3 = s.link(&three, 3);
    let before = s.survey(&three).await;
    let (status, body) = s
        .post_json(&format!("{url3}/contact"), &[("answer", "yes")])
        .await;
    assert_eq!(status, 409, "{body}");
    let after = s.survey(&three).await;
    assert_eq!(
        (after.version, &after.seen_inputs),
        (before.version, &before.seen_inputs),
        "a refusal changes nothing"
    );
    let (status, _) = s.click(&url3).await;
    assert_eq!(status, 200);
    let (status, body) = s
        .post_json(&format!("{url3}/contact"), &[("answer", "yes")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        s.survey(&three).await.state,
        SurveyState::Closed {
            outcome: Outcome::ComplaintOpened
        }
    );

    // Words through a 1's link to a survey rated 4 (its comment box is never offered there).
    let four = s.emailed(Duration::hours(3)).await;
    let (status, _) = s.click(&s.link(&four, 4)).await;
    assert_eq!(status, 200);
    let rated = s.survey(&four).await;
    let (status, _) = s
        .post_json(
            &format!("{}/comment", s.link(&four, 1)),
            &[("text", "не та оценка")],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(s.survey(&four).await.version, rated.version);
}

#[tokio::test]
async fn a_flood_of_page_views_keeps_a_row_per_rating_and_second() {
    let s = stack("view-flood").await;
    let survey = s.emailed(Duration::hours(3)).await;
    let url = s.link(&survey, 4);
    let start = chrono::Utc::now();
    for _ in 0..40 {
        let (status, _) = s.open(&url).await;
        assert_eq!(status, 200);
    }
    let end = chrono::Utc::now();
    let views = s
        .store
        .views_between(&survey.id, start - Duration::seconds(1), end)
        .await
        .unwrap();
    let seconds = (end - start).num_seconds() as usize + 2;
    assert!(
        !views.is_empty() && views.len() <= seconds,
        "40 views in {seconds} s kept as {} rows",
        views.len()
    );
}

#[tokio::test]
async fn broken_expired_and_foreign_links_get_a_friendly_page() {
    let s = stack("errors").await;
    let survey = s.emailed(Duration::hours(2)).await;
    let expired = s.signer.sign(
        &survey.id,
        LinkAction::Rate(Rating::new(5).unwrap()),
        Utc::now() - Duration::days(1),
    );
    let good = s.link(&survey, 5);
    let token = good.rsplit('/').next().unwrap();
    let mut tampered = token.to_string();
    let flip = if tampered.ends_with('A') { "B" } else { "A" };
    tampered.replace_range(tampered.len() - 1.., flip);
    let foreign = s.signer.sign(
        &otklik_core::model::SurveyId::parse("s-main-shop-999999").unwrap(),
        LinkAction::Rate(Rating::new(5).unwrap()),
        Utc::now() + Duration::days(1),
    );
    let other_key = LinkSigner::new(b"somebody else's key, long enough to pass").sign(
        &survey.id,
        LinkAction::Rate(Rating::new(5).unwrap()),
        Utc::now() + Duration::days(1),
    );
    let base = format!("{}/r/", s.api_url());
    for (t, status) in [
        (expired, 410),
        (tampered, 400),
        ("garbage".to_string(), 400),
        (foreign, 404),
        (other_key, 400),
    ] {
        let (got, html) = s.open(&format!("{base}{t}")).await;
        assert_eq!(got, status, "{t}");
        assert!(html.contains("lang=\"ru\"") && html.contains("data-state=\"error\""));
        let r = s
            .driver
            .http
            .get(format!("{base}{t}"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status);
        let v: Value = r.json().await.unwrap();
        assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
    }
    assert_eq!(s.survey(&survey).await, survey, "nothing changed");
}

#[tokio::test]
async fn unsubscribe_is_one_click_and_holds_on_every_channel() {
    let s = stack("optout").await;
    let survey = s.emailed(Duration::hours(2)).await;
    let url = opt_out_link(
        &s.signer,
        &s.api_url(),
        &survey.id,
        Utc::now() + Duration::days(30),
    );
    // A GET (a scanner, a preview) only shows the button.
    let (status, html) = s.open(&url).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-state=\"optout\""));
    assert!(!s.store.contains(&survey.contact).await.unwrap());
    // The mail client's RFC 8058 one-click POST.
    let r = s
        .driver
        .http
        .post(&url)
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(s.store.contains(&survey.contact).await.unwrap());
    assert_eq!(
        s.survey(&survey).await.state,
        SurveyState::Closed {
            outcome: Outcome::OptedOut
        }
    );
}

#[tokio::test]
async fn the_sms_link_shows_five_ratings_and_records_only_the_tap() {
    let s = stack("sms-tap").await;
    let (survey, url) = s.texted(Duration::hours(2), Duration::days(14)).await;
    assert!(url.contains("/s/Sms"), "{url}");
    // The phone's link preview, then the person: GETs (and a HEAD) record nothing.
    for _ in 0..2 {
        let (status, html) = s.open(&url).await;
        assert_eq!(status, 200);
        assert!(html.contains("data-state=\"ask\""), "{html}");
        assert!(html.contains("Как вам заказ?"));
        for n in 1..=5 {
            assert!(html.contains(&format!("name=\"rating\" value=\"{n}\"")));
        }
        assert!(html.contains("прислали вам в SMS"));
        assert!(html.len() < 20 * 1024, "{} bytes", html.len());
    }
    let r = s.driver.http.head(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.survey(&survey).await, survey, "GETs record nothing");
    assert!(commands(&s.crm_writes).await.is_empty());
    // The tap on 5: recorded via SMS, thanks shown, the rating on its way to the CRM.
    let (status, html) = s.tap(&url, "5").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("data-state=\"recorded\" data-rating=\"5\""),
        "{html}"
    );
    assert!(!html.contains("id=\"followup-thanks\" hidden"), "{html}");
    let after = s.survey(&survey).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(5));
    assert_eq!(
        after.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
    let writes = commands(&s.crm_writes).await;
    assert_eq!(
        writes
            .iter()
            .filter(|c| matches!(c, Command::WriteRating { .. }))
            .count(),
        1,
        "{writes:?}"
    );
    // The same tap again (a double tap, a reload): the same answer, nothing new.
    let (status, body) = s.post_json(&url, &[("rating", "5")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["recorded"].clone(), body["rating"].clone()),
        (true.into(), 5.into())
    );
    assert_eq!(s.survey(&survey).await, after);
    assert!(commands(&s.crm_writes).await.is_empty());
    // Another rating afterwards: the first stands.
    let (status, body) = s.post_json(&url, &[("rating", "1")]).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (409, Some("already_answered"))
    );
    assert_eq!(s.survey(&survey).await, after);
}

#[tokio::test]
async fn a_tap_again_after_a_crash_sends_what_the_first_one_saved() {
    let s = stack("sms-tap-crash").await;
    let (survey, url) = s.texted(Duration::hours(2), Duration::days(14)).await;
    // The first tap's save landed with its effects in the outbox, then the function died before
    // queueing them (the person saw an error page).
    let cfg = otklik_core::machine::MachineConfig::from(&*s.config);
    let d = otklik_core::machine::decide(
        &survey,
        &otklik_core::machine::Input::page_answer(
            otklik_core::reply::Reply::Rating {
                value: Rating::new(4).unwrap(),
            },
            Channel::Sms,
        ),
        &cfg,
        Utc::now(),
    );
    let mut crashed = d.survey.clone();
    crashed.pending.extend(d.effects.iter().cloned());
    s.store.save(&crashed).await.unwrap();
    assert!(commands(&s.crm_writes).await.is_empty());
    // The person taps 4 again: "recorded", and the rating goes to the CRM after all.
    let (status, html) = s.tap(&url, "4").await;
    assert_eq!(status, 200, "{html}");
    let writes = commands(&s.crm_writes).await;
    assert!(
        writes
            .iter()
            .any(|c| matches!(c, Command::WriteRating { rating } if rating.value() == 4)),
        "{writes:?}"
    );
    assert!(s.survey(&survey).await.pending.is_empty());
}

#[tokio::test]
async fn opening_a_link_of_an_answered_survey_sends_what_a_crash_left() {
    // The rating's save landed with its effects in the outbox and the function died before
    // queueing them. Opening a link again (a GET, which now shows what is recorded instead of a
    // rating form) is the survey's next touch and must send them: the four-channel fault run
    // caught two email ratings that never reached the CRM when it did not.
    let s = stack("email-open-after-crash").await;
    let survey = s.emailed(Duration::hours(3)).await;
    let cfg = otklik_core::machine::MachineConfig::from(&*s.config);
    let d = otklik_core::machine::decide(
        &survey,
        &otklik_core::machine::Input::page_answer(
            otklik_core::reply::Reply::Rating {
                value: Rating::new(2).unwrap(),
            },
            Channel::Email,
        ),
        &cfg,
        Utc::now(),
    );
    let mut crashed = d.survey.clone();
    crashed.pending.extend(d.effects.iter().cloned());
    s.store.save(&crashed).await.unwrap();
    assert!(commands(&s.crm_writes).await.is_empty());
    let (status, _) = s.open(&s.link(&survey, 2)).await;
    assert_eq!(status, 200);
    let writes = commands(&s.crm_writes).await;
    assert!(
        writes
            .iter()
            .any(|c| matches!(c, Command::WriteRating { rating } if rating.value() == 2)),
        "{writes:?}"
    );
    assert_eq!(commands(&s.complaints).await.len(), 1);
    assert!(s.survey(&survey).await.pending.is_empty());
}

#[tokio::test]
async fn a_tap_before_the_sms_send_is_saved_counts_as_the_rating() {
    // SMS.ru took the SMS but its answer is late (or the save after it has not landed): the
    // survey is still `Scheduled` with its SMS send claimed, and the customer already taps. The
    // tap was once taken as unprompted and remembered, so it and every later tap of the same
    // rating were ignored and the rating was lost (found in the fault run).
    let s = stack("sms-tap-overtakes-send").await;
    let (asked, url) = s.texted(Duration::seconds(5), Duration::days(14)).await;
    let mut scheduled = asked.clone();
    scheduled.state = SurveyState::Scheduled;
    scheduled.channel = None;
    scheduled.sent_at = None;
    scheduled.asked = Vec::new();
    s.store.save(&scheduled).await.unwrap();
    s.store
        .claim_send(&asked.id, "sms", Utc::now())
        .await
        .unwrap();

    let (status, html) = s.tap(&url, "4").await;
    assert_eq!(status, 200, "{html}");
    let after = s.survey(&asked).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(4), "{after:?}");
    assert_eq!(after.asked, vec![Channel::Sms]);
    let writes = commands(&s.crm_writes).await;
    assert!(
        writes
            .iter()
            .any(|c| matches!(c, Command::WriteRating { rating } if rating.value() == 4)),
        "{writes:?}"
    );
}

#[tokio::test]
async fn the_sms_page_has_the_email_pages_follow_ups() {
    let s = stack("sms-followups").await;
    let (three, url3) = s.texted(Duration::hours(3), Duration::days(14)).await;
    // The contact question before any rating: not for this survey yet.
    let (status, _) = s
        .post_json(&format!("{url3}/contact"), &[("answer", "yes")])
        .await;
    assert_eq!(status, 404);
    let (status, body) = s.post_json(&url3, &[("rating", "3")]).await;
    assert_eq!(
        (status, body["next"].as_str()),
        (200, Some("contact")),
        "{body}"
    );
    // The page's own form posts to `<id>/contact`, relative to /s/<id>.
    let (_, html) = s.tap(&url3, "3").await;
    let id = url3.rsplit('/').next().unwrap();
    assert!(html.contains(&format!("action=\"{id}/contact\"")), "{html}");
    let (status, body) = s
        .post_json(&format!("{url3}/contact"), &[("answer", "no")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        s.survey(&three).await.state,
        SurveyState::Closed {
            outcome: Outcome::DeclinedContact
        }
    );
    let (one, url1) = s.texted(Duration::hours(3), Duration::days(14)).await;
    let (status, body) = s.post_json(&url1, &[("rating", "1")]).await;
    assert_eq!(
        (status, body["next"].as_str()),
        (200, Some("comment")),
        "{body}"
    );
    let (status, _) = s
        .post_json(&format!("{url1}/contact"), &[("answer", "yes")])
        .await;
    assert_eq!(status, 404, "the contact question belongs to the 3");
    let (status, _) = s
        .post_json(
            &format!("{url1}/comment"),
            &[("text", "Цветы завяли к вечеру")],
        )
        .await;
    assert_eq!(status, 200);
    let words: Vec<_> = commands(&s.crm_writes)
        .await
        .into_iter()
        .filter_map(|c| match c {
            Command::SaveWords { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(words, vec!["Цветы завяли к вечеру".to_string()]);
    let complaints = commands(&s.complaints).await;
    assert_eq!(complaints.len(), 1, "the 1 only: {complaints:?}");
    assert!(s.survey(&one).await.rating.is_some());
}

#[tokio::test]
async fn unknown_expired_and_bad_sms_links_get_a_friendly_page() {
    let s = stack("sms-errors").await;
    let (survey, good) = s.texted(Duration::hours(2), Duration::days(14)).await;
    let (_, expired) = s.texted(Duration::days(20), -Duration::days(1)).await;
    let base = format!("{}/s/", s.api_url());
    for (url, status) in [
        (format!("{base}Unknown00000"), 404),
        (format!("{base}short"), 404),
        (format!("{base}has-a-dash-1"), 404),
        (expired.clone(), 410),
    ] {
        let (got, html) = s.open(&url).await;
        assert_eq!(got, status, "{url}");
        assert!(html.contains("data-state=\"error\"") && html.contains("lang=\"ru\""));
        assert!(html.contains("прислали вам в SMS"), "the SMS footer");
    }
    let (status, html) = s.open(&expired).await;
    assert_eq!(status, 410);
    assert!(html.contains("Ссылка устарела"), "{html}");
    // Taps that are not a rating.
    for bad in ["0", "6", "five", ""] {
        let (status, body) = s.post_json(&good, &[("rating", bad)]).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = s.post_json(&good, &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(s.survey(&survey).await, survey, "nothing changed");
}

#[tokio::test]
async fn chromium_at_phone_size_records_the_rating_and_takes_a_screenshot() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && root
                .join("tests/browser/node_modules/playwright-core")
                .exists(),
        "the browser is not set up: run scripts/browser-setup.sh (make test does)"
    );
    let s = stack("browser").await;
    let survey = s.emailed(Duration::hours(2)).await;
    let url = s.link(&survey, 3);
    let out = root.join("target/test-output");
    std::fs::create_dir_all(&out).unwrap();
    let shot = out.join("landing-390x844.png");
    let _ = std::fs::remove_file(&shot);
    let run = tokio::process::Command::new("node")
        .arg(root.join("tests/browser/landing.mjs"))
        .arg(&url)
        .arg(&shot)
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "browser: {report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(v["state"], "recorded", "{v}");
    assert_eq!(v["consoleErrors"], serde_json::json!([]), "{v}");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 1000,
        "a screenshot"
    );
    let after = s.survey(&survey).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(3));
    assert_eq!(after.state, SurveyState::AwaitingContactConsent);
    println!("screenshot: {}", shot.display());
}

/// Runs `tests/browser/landing.mjs` on `url` at `width` with `args`; the report on success.
async fn in_chromium(name: &str, url: &str, width: u32, args: &[&str]) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = root.join("target/test-output");
    std::fs::create_dir_all(&out).unwrap();
    let shot = out.join(format!("landing-{name}-{width}.png"));
    let run = tokio::process::Command::new("node")
        .arg(root.join("tests/browser/landing.mjs"))
        .arg(url)
        .arg(&shot)
        .arg("--width")
        .arg(width.to_string())
        .args(args)
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "{name} at {width} px: {report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_str(report.trim()).unwrap()
}

/// Every state a customer can meet on the email's page, in Chromium on a phone (390 px) and a
/// desktop (1280 px): what it says, what it must not say, and that nothing spills sideways.
#[tokio::test]
async fn chromium_shows_every_page_state_truthfully_at_phone_and_desktop_width() {
    let s = stack("browser-states").await;
    for width in [390, 1280] {
        // A rating recorded by the page's script: thanked once recorded.
        let survey = s.emailed(Duration::hours(2)).await;
        let v = in_chromium(
            "recorded",
            &s.link(&survey, 5),
            width,
            &["--text", "Спасибо, что нашли минуту"],
        )
        .await;
        assert_eq!(v["state"], "recorded", "{v}");
        // Another link of the answered survey: the recorded 5, not the clicked 2, and a person.
        let v = in_chromium(
            "answered",
            &s.link(&survey, 2),
            width,
            &[
                "--expect",
                "answered",
                "--status",
                "409",
                "--text",
                "Записана ваша оценка: 5 из 5.",
                "--text",
                &s.config.email.reply_to,
                "--absent",
                "2 из 5",
            ],
        )
        .await;
        assert_eq!(v["rating"], "5", "{v}");
        // Opened seconds after sending: the script's POST is taken for a scanner's, so the page
        // asks to confirm, under "Ваша оценка", and thanks for nothing yet.
        let soon = s.emailed(Duration::seconds(1)).await;
        in_chromium(
            "confirm",
            &s.link(&soon, 4),
            width,
            &[
                "--expect",
                "confirm",
                "--text",
                "Да, это моя оценка",
                "--absent",
                "Спасибо",
            ],
        )
        .await;
        assert_eq!(s.survey(&soon).await.rating, None);
        // A 3, then "yes, call me" from a customer with no phone: no call is promised.
        let three = s.emailed(Duration::hours(2)).await;
        in_chromium(
            "call-without-phone",
            &s.link(&three, 3),
            width,
            &[
                "--click",
                "#followup-contact button[type=submit]",
                "--expect",
                "done",
                "--text",
                "напишем вам на почту",
                "--absent",
                "перезвоним",
            ],
        )
        .await;
        assert_eq!(
            s.survey(&three).await.state,
            SurveyState::Closed {
                outcome: Outcome::ComplaintOpened
            }
        );
        // An expired link says what to do next.
        let old = s.emailed(Duration::days(40)).await;
        let token = s.signer.sign(
            &old.id,
            LinkAction::Rate(Rating::new(4).unwrap()),
            Utc::now() - Duration::days(1),
        );
        in_chromium(
            "expired",
            &format!("{}/r/{token}", s.api_url()),
            width,
            &[
                "--expect",
                "error",
                "--status",
                "410",
                "--text",
                "напишите нам",
                "--text",
                &s.config.email.reply_to,
            ],
        )
        .await;
    }
}

/// A link cut short (`/r/`, `/s/`) through the gateway with the template's own routes
/// (`resources::FUNCTIONS`, as on AWS): the landing's friendly page, not the gateway's JSON.
#[tokio::test]
async fn a_link_cut_short_gets_the_friendly_page_through_the_real_routes() {
    let mut t = TestStack::bare("cut-short", "meta").await;
    let landing = Arc::new(Landing::from_parts(&t.parts()).await.unwrap());
    t.serve(vec![Route::function(
        "email-landing",
        handler(move |req| {
            let landing = landing.clone();
            async move { landing.handle(req, Utc::now()).await }
        }),
    )])
    .await;
    let http = reqwest::Client::new();
    for path in ["/r/", "/r", "/s/", "/s"] {
        let url = format!("{}{path}", t.api_url());
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
        let kind = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("lang=\"ru\"") && html.contains("data-state=\"error\""),
            "{path}: {html}"
        );
        let head = http.head(&url).send().await.unwrap();
        assert_eq!(head.status().as_u16(), 404, "HEAD {path}");
        assert!(head.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        // The page's JSON, for a client that asks for it: the landing's own words.
        let v: Value = http
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["error"], "not_found", "{path}: {v}");
        assert_ne!(v["message"], "no such route", "{path}: {v}");
    }
    // A path no function serves is still the gateway's: the routes above are real ones.
    let other = http
        .get(format!("{}/x/", t.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    assert_eq!(
        other.text().await.unwrap(),
        r#"{"error":"not_found","message":"no such route"}"#
    );
}
