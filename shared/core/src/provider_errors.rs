//! What a provider's error says about whom: one message (an undeliverable number, a customer
//! without WhatsApp) or the whole account (locked, unpaid, rate-limited, token expired), which
//! stops every send and needs a person now. The webhook counts both; the alarm watches the second.

/// How far an error reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorScope {
    /// One message or one recipient: the survey falls down its channel chain, nothing else.
    Message,
    /// The sending account itself: every customer is affected until someone acts.
    Account,
}

impl ErrorScope {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorScope::Message => "message",
            ErrorScope::Account => "account",
        }
    }
}

/// A Meta (WhatsApp Cloud API) error code, as `value.errors[].code` or a failed status's
/// `errors[].code` carry it. Built to Meta's error code reference
/// (developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes):
/// authorization and permission errors, throughput and spam rate limits, a locked, restricted,
/// unpaid or unregistered account are the account's; everything else (131026 undeliverable,
/// 131047 re-engagement window, 131049 ecosystem limit, unknown codes…) is one message's.
pub fn meta_error_scope(code: &str) -> ErrorScope {
    let Ok(code) = code.trim().parse::<u64>() else {
        return ErrorScope::Message;
    };
    match code {
        // 0 AuthException, 3 API method, 10 permission denied, 190 access token expired,
        // 200–299 API permission.
        0 | 3 | 10 | 190 | 200..=299
        // 4 too many API calls, 80007 account rate limit, 130429 throughput rate limit,
        // 131048 spam rate limit.
        | 4 | 80007 | 130429 | 131048
        // 368 temporarily blocked for policy violations, 130497 restricted from messaging users
        // in this country, 131031 account locked, 131042 payment issue, 131045 incorrect
        // certificate, 131057 account in maintenance mode, 133010 number not registered.
        | 368 | 130497 | 131031 | 131042 | 131045 | 131057 | 133010 => ErrorScope::Account,
        _ => ErrorScope::Message,
    }
}

/// A GREEN-API failure status of one of our messages (WhatsApp and MAX instances alike):
/// `yellowCard` means the account got restrictions for spam and may stop sending at all; the
/// others (`failed`, `noAccount`, `notInGroup`, `noActiveSession`) are one recipient's.
pub fn green_status_scope(status: &str) -> ErrorScope {
    match status {
        "yellowCard" => ErrorScope::Account,
        _ => ErrorScope::Message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_problems_are_the_accounts_and_one_recipients_are_not() {
        for code in [
            "130429", "131031", "131042", "131048", "368", "190", "10", "250",
        ] {
            assert_eq!(meta_error_scope(code), ErrorScope::Account, "{code}");
        }
        for code in ["131026", "131047", "131049", "131051", "470", "", "x", "-1"] {
            assert_eq!(meta_error_scope(code), ErrorScope::Message, "{code}");
        }
        assert_eq!(green_status_scope("yellowCard"), ErrorScope::Account);
        for s in ["noAccount", "failed", "notInGroup", "noActiveSession"] {
            assert_eq!(green_status_scope(s), ErrorScope::Message, "{s}");
        }
    }
}
