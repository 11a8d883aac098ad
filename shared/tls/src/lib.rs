//! The TLS roots every outbound client of ours trusts (AWS, retailCRM, WhatsApp): the roots of
//! Mozilla's CA program, compiled into the binary by `webpki-root-certs`.
//!
//! Why not the system store: loading it is the largest part of a cold start. `rustls-native-certs`
//! reads the bundle file and every file of the certificate directory (on Debian 290 of them, about
//! 20 ms), and the platform verifier behind reqwest does that again for each client it builds. The
//! compiled-in roots cost no file system access. AWS, retailCRM, Meta and Green-API all present
//! certificates from public CAs in that program. The price is that a new root needs a rebuild,
//! which every deployment is anyway.

use base64::Engine as _;

pub use webpki_root_certs::TLS_SERVER_ROOT_CERTS as ROOTS;

/// The roots as reqwest certificates, for `ClientBuilder::tls_certs_only`: only these are trusted
/// and the platform verifier (which would load the system store) is not built.
pub fn reqwest_roots() -> impl Iterator<Item = reqwest::Certificate> {
    ROOTS.iter().map(|der| {
        reqwest::Certificate::from_der(der.as_ref())
            .expect("a compiled-in root is a DER certificate")
    })
}

/// A reqwest client builder that trusts exactly [`ROOTS`].
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_certs_only(reqwest_roots())
}

/// Each root as one PEM `CERTIFICATE` block: the form the AWS SDK's trust store takes.
pub fn pem_roots() -> impl Iterator<Item = Vec<u8>> {
    ROOTS.iter().map(|der| pem(der.as_ref()))
}

fn pem(der: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = Vec::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    out
}

/// For tests that prove a client needs no system store: points `SSL_CERT_DIR` and `SSL_CERT_FILE`
/// (which `rustls-native-certs` obeys before anything else) at an empty directory and a missing
/// file, for the rest of the process. Call it only in a test binary of its own.
pub fn empty_the_system_store_for_this_process() {
    let empty = std::env::temp_dir().join(format!("otklik-no-certs-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("a temporary directory");
    std::env::set_var("SSL_CERT_DIR", &empty);
    std::env::set_var("SSL_CERT_FILE", empty.join("none.pem"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_s_roots_are_compiled_in() {
        // Mozilla's program has well over a hundred server roots; a handful would mean a wrong
        // crate or feature.
        assert!(ROOTS.len() > 100, "only {} roots", ROOTS.len());
    }

    #[test]
    fn each_pem_block_decodes_back_to_its_certificate() {
        for (der, pem) in ROOTS.iter().zip(pem_roots()) {
            let text = String::from_utf8(pem).unwrap();
            assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
            assert!(text.ends_with("-----END CERTIFICATE-----\n"));
            assert!(
                text.lines().all(|l| l.len() <= 64),
                "PEM lines are at most 64 characters"
            );
            let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
            let back = base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap();
            assert_eq!(back, der.as_ref());
        }
    }
}
