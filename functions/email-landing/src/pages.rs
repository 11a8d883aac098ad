//! The routes under `/r/` and the answers they give: which follow-up a path asks for, and the
//! page (or JSON) each outcome shows. The words and the HTML are the core's (`otklik_core::landing`).

use super::*;

/// What the request asks for, from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    Link(&'a str),
    Contact(&'a str),
    Comment(&'a str),
}

/// `…/r/{token}[/contact|/comment]`; a stage prefix before `/r/` is allowed.
pub(crate) fn target(path: &str) -> Option<Target<'_>> {
    let rest = &path[path.rfind("/r/")? + 3..];
    let mut parts = rest.trim_end_matches('/').split('/');
    let token = parts.next().filter(|t| !t.is_empty())?;
    let t = match parts.next() {
        None => Target::Link(token),
        Some("contact") => Target::Contact(token),
        Some("comment") => Target::Comment(token),
        Some(_) => return None,
    };
    parts.next().is_none().then_some(t)
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

pub(crate) fn already_answered(shop: &Shop<'_>) -> Answer {
    page(
        shop,
        StatusCode::CONFLICT,
        &Page::AlreadyAnswered,
        json!({ "recorded": false, "reason": "already_answered" }),
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
        assert_eq!(target("/r/abc.def"), Some(Target::Link("abc.def")));
        assert_eq!(target("/prod/r/abc.def/"), Some(Target::Link("abc.def")));
        assert_eq!(target("/r/t/contact"), Some(Target::Contact("t")));
        assert_eq!(target("/r/t/comment"), Some(Target::Comment("t")));
        assert_eq!(target("/r/t/other"), None);
        assert_eq!(target("/r/t/contact/x"), None);
        assert_eq!(target("/r/"), None);
        assert_eq!(target("/x/t"), None);
    }
}
