//! The `otklik` binary as an operator runs it.

use std::process::Command;

fn reply(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .arg("reply")
        .args(args)
        .output()
        .expect("the otklik binary runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_keycap_five_is_a_rating() {
    let (ok, out, err) = reply(&["5️⃣"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), r#"{"kind":"rating","value":5}"#);
}

#[test]
fn two_different_numbers_are_unreadable() {
    let (ok, out, _) = reply(&["3 или 4"]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        r#"{"kind":"unreadable","reason":"two different numbers"}"#
    );
}

#[test]
fn sentiment_words_only_with_the_flag() {
    let (_, plain, _) = reply(&["отлично"]);
    assert!(plain.contains(r#""kind":"unreadable""#), "{plain}");
    let (_, with_flag, _) = reply(&["--sentiment-words", "отлично"]);
    assert_eq!(with_flag.trim(), r#"{"kind":"rating","value":5}"#);
}

#[test]
fn a_missing_argument_is_a_clear_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .arg("reply")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("<TEXT>"), "{err}");
}
