//! The routes under `/r/` (email) and `/s/` (SMS) and the answers they give: which follow-up a
//! path asks for, and the page (or JSON) each outcome shows. The words and the HTML are the core's (`otklik_core::landing`).

use super::*;

/// What the request asks for, from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    Link(&'a str),
    Contact(&'a str),
    Comment(&'a str),
}

/// `…/r/{token}[/contact|/comment]` (email) or `…/s/{id}[/contact|/comment]` (SMS); a stage
/// prefix before them is allowed. The last `/r/` or `/s/` counts, so a stage named `r` or `s`
/// cannot be taken for the link.
pub(crate) fn target(path: &str) -> Option<(Origin, Target<'_>)> {
    let (at, origin) = match (path.rfind("/r/"), path.rfind("/s/")) {
        (Some(r), Some(s)) if s > r => (s, Origin::Sms),
        (Some(r), _) => (r, Origin::Email),
        (None, Some(s)) => (s, Origin::Sms),
        (None, None) => return None,
    };
    let rest = &path[at + 3..];
    let mut parts = rest.trim_end_matches('/').split('/');
    let token = parts.next().filter(|t| !t.is_empty())?;
    let t = match parts.next() {
        None => Target::Link(token),
        Some("contact") => Target::Contact(token),
        Some("comment") => Target::Comment(token),
        Some(_) => return None,
    };
    parts.next().is_none().then_some((origin, t))
}

/// The method and the form of a request: GET and HEAD have none; a POST's body must be a form of
/// at most [`MAX_FORM_BYTES`]. Any other method is a bad request (the page asks for nothing else).
pub(crate) fn read_form(req: &Request) -> Result<(bool, Vec<(String, String)>), ErrorPage> {
    let method = req.method();
    if method == Method::GET || method == Method::HEAD {
        return Ok((true, Vec::new()));
    }
    if method != Method::POST {
        return Err(ErrorPage::BadRequest);
    }
    let raw = body_bytes(req);
    if raw.len() > MAX_FORM_BYTES {
        return Err(ErrorPage::TooLarge);
    }
    std::str::from_utf8(raw)
        .ok()
        .and_then(|t| serde_urlencoded::from_str::<Vec<(String, String)>>(t).ok())
        .map(|f| (false, f))
        .ok_or(ErrorPage::BadRequest)
}

/// An answer in the form the client wants.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) page: String,
    pub(crate) json: serde_json::Value,
}

pub(crate) fn page(
    shop: &Shop<'_>,
    status: StatusCode,
    page: &Page<'_>,
    json: serde_json::Value,
) -> Answer {
    Answer {
        status,
        page: render(page, shop),
        json,
    }
}

pub(crate) fn error(shop: &Shop<'_>, e: ErrorPage) -> Answer {
    page(
        shop,
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
        &Page::Error(e),
        json!({ "error": e.code(), "message": e.message(shop) }),
    )
}

/// The survey has its answer already: the page shows the rating we recorded (`recorded`), never
/// the one the link or tap carried, and how to reach a person about a slip.
pub(crate) fn already_answered(shop: &Shop<'_>, recorded: Option<Rating>) -> Answer {
    page(
        shop,
        StatusCode::CONFLICT,
        &Page::AlreadyAnswered { recorded },
        json!({
            "recorded": false,
            "reason": "already_answered",
            "rating": recorded.map(|r| r.value()),
        }),
    )
}

pub(crate) fn recorded(shop: &Shop<'_>, token: &str, rating: Rating) -> Answer {
    page(
        shop,
        StatusCode::OK,
        &Page::Recorded { rating, token },
        json!({ "recorded": true, "rating": rating.value(), "next": next_for(rating).code() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_token_and_the_follow_up() {
        let email = |t| Some((Origin::Email, t));
        let sms = |t| Some((Origin::Sms, t));
        assert_eq!(target("/r/abc.def"), email(Target::Link("abc.def")));
        assert_eq!(target("/prod/r/abc.def/"), email(Target::Link("abc.def")));
        assert_eq!(target("/r/t/contact"), email(Target::Contact("t")));
        assert_eq!(target("/r/t/comment"), email(Target::Comment("t")));
        assert_eq!(target("/r/t/other"), None);
        assert_eq!(target("/r/t/contact/x"), None);
        assert_eq!(target("/r/"), None);
        assert_eq!(target("/x/t"), None);
        assert_eq!(target("/s/Ab3dE6gH9jKm"), sms(Target::Link("Ab3dE6gH9jKm")));
        assert_eq!(
            target("/s/Ab3dE6gH9jKm/contact"),
            sms(Target::Contact("Ab3dE6gH9jKm"))
        );
        assert_eq!(
            target("/s/Ab3dE6gH9jKm/comment/"),
            sms(Target::Comment("Ab3dE6gH9jKm"))
        );
        assert_eq!(target("/s/Ab3dE6gH9jKm/other"), None);
        // A stage named like a route prefix is not the link.
        assert_eq!(target("/s/r/tok"), email(Target::Link("tok")));
        assert_eq!(
            target("/r/s/Ab3dE6gH9jKm"),
            sms(Target::Link("Ab3dE6gH9jKm"))
        );
    }
}
