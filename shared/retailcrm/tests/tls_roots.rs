//! The retailCRM client trusts the compiled-in roots (`otklik-tls`), so building it reads no
//! system certificate store: that load, repeated for every HTTP client, was most of a cold start.
//! Its own binary, because it empties the store through the process's environment.

#[test]
fn the_client_builds_with_no_system_certificates() {
    otklik_tls::empty_the_system_store_for_this_process();
    let built = otklik_retailcrm::RetailCrm::new(otklik_retailcrm::ClientConfig::new(
        "https://shop.retailcrm.ru",
        "key",
    ));
    // With reqwest's platform verifier this fails: "No CA certificates were loaded from the system".
    assert!(built.is_ok(), "{:?}", built.err());
}
