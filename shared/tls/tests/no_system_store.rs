//! A client built on our roots never needs the system's certificate store. With the store pointed
//! at nothing, reqwest's default (platform) verifier refuses to build at all; ours builds. One test
//! in its own binary, because it changes the process's environment.

#[test]
fn a_client_builds_with_no_system_certificates_at_all() {
    otklik_tls::empty_the_system_store_for_this_process();

    // The control: the platform verifier finds no roots and says so, so this test can tell.
    let default = reqwest::Client::builder().build();
    assert!(
        default.is_err(),
        "reqwest's default verifier should need the system store"
    );

    otklik_tls::reqwest_builder()
        .build()
        .expect("a client on the compiled-in roots needs no system store");
}
