//! Comparing a secret someone sent us with ours. Every door that takes a shared secret (the
//! retailCRM trigger, GREEN-API's bearer token, SMS.ru's URL secret, Meta's verify token) uses
//! this one comparison, so none of them can leak by its timing how close a guess was.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `given` equals `expected`, in time that depends on neither's content nor length: both
/// are hashed first, and the two 32-byte digests are compared in constant time. (A plain
/// constant-time comparison of the raw bytes returns at once when the lengths differ, which
/// tells a prober the secret's length; a security probe of the trigger found exactly that.)
/// An empty `expected` (not configured) matches nothing.
pub fn secret_eq(given: &str, expected: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.as_slice().ct_eq(b.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_secret_matches_and_an_unconfigured_one_matches_nothing() {
        assert!(secret_eq("s3cret-trigger", "s3cret-trigger"));
        assert!(!secret_eq("s3cret-trigge", "s3cret-trigger"));
        assert!(!secret_eq("s3cret-triggers", "s3cret-trigger"));
        assert!(!secret_eq("", "s3cret-trigger"));
        assert!(!secret_eq("", ""));
        assert!(!secret_eq("anything", ""));
    }
}
