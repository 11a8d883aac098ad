"""Schemathesis checks of our own, loaded by scripts/api-fuzz.sh (SCHEMATHESIS_HOOKS)."""

import json

import schemathesis


@schemathesis.check
def errors_are_json(ctx, response, case):
    """Every 4xx from a machine-facing route carries a JSON body with `error` and `message`.

    The rating-link pages (/r/... from the email, /s/... from the SMS, and /r, /s: a link cut
    short) are for people's browsers: their refusals are friendly HTML pages by design
    (docs/openapi.yaml documents them as text/html). So are the dashboard's (/reports and below it, but not the JSON /reports/kpi).
    """
    landing = case.path in ("/r", "/s") or case.path.startswith(("/r/", "/s/"))
    if not 400 <= response.status_code < 500 or landing:
        return None
    if case.path.startswith("/reports") and case.path != "/reports/kpi":
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"{response.status_code} without a JSON body: {response.content[:120]!r}"
        )
    if not (isinstance(body, dict) and body.get("error") and body.get("message")):
        raise AssertionError(f"{response.status_code} body lacks error/message: {body}")
    return None
