//! The AWS clients trust the compiled-in roots and never look at the system's certificate store
//! (loading it was most of a cold start). One test in its own binary: it empties the store through
//! the environment, which is process-wide.
//!
//! How it can tell: with the store empty, the SDK's default client trips its own debug assertion
//! ("native roots but no valid root certificates") on its first HTTPS connection, so this test
//! panics if `Clients` fell back to it. Ours builds the connector from the compiled-in roots and
//! gets as far as the server, which hangs up: an ordinary dispatch error.

use otklik_aws::Clients;

#[tokio::test]
async fn an_https_call_needs_no_system_certificates() {
    otklik_tls::empty_the_system_store_for_this_process();
    std::env::set_var("AWS_REGION", "eu-central-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");

    // A TLS-less server that takes the connection and closes it at once.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = tokio::spawn(async move {
        let (conn, _) = listener.accept().await.unwrap();
        drop(conn);
    });

    let clients = Clients::with_endpoint(&format!("https://127.0.0.1:{port}")).await;
    let err = clients
        .dynamodb
        .list_tables()
        .send()
        .await
        .expect_err("the server speaks no TLS");
    let text = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
    assert!(
        matches!(err, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
        "expected the connection to fail, got: {text}"
    );
    accepted.await.unwrap();
}
