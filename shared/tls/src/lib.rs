//! The TLS roots every outbound client of ours trusts, compiled into the binary by
//! `webpki-root-certs` (Mozilla's CA program): all of them for retailCRM and WhatsApp, the five
//! AWS's endpoints chain to for the AWS clients ([`aws_pem_roots`]).
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

/// The common names of the roots AWS's service endpoints chain to: Amazon Trust Services' four
/// roots and the Starfield root that cross-signs them.
pub const AWS_ROOT_NAMES: [&str; 5] = [
    "Amazon Root CA 1",
    "Amazon Root CA 2",
    "Amazon Root CA 3",
    "Amazon Root CA 4",
    "Starfield Services Root Certificate Authority - G2",
];

/// The roots the AWS clients trust: only those of [`AWS_ROOT_NAMES`], each as one PEM
/// `CERTIFICATE` block (the form the AWS SDK's trust store takes). Only those, because the SDK
/// decodes every PEM block with a constant-time base64 decoder when it builds its connector at
/// start: the whole program took about 4 ms of each cold start, these five a few hundredths of
/// that. Every AWS endpoint a function calls presents an Amazon Trust Services certificate.
pub fn aws_pem_roots() -> impl Iterator<Item = Vec<u8>> {
    ROOTS
        .iter()
        .filter(|der| {
            AWS_ROOT_NAMES
                .iter()
                .any(|name| names_subject(der.as_ref(), name))
        })
        .map(|der| pem(der.as_ref()))
}

/// Whether `name` appears in the certificate as a whole DER string (tag, length, then the exact
/// bytes): "Amazon Root CA 1" does not match inside "Amazon Root CA 10".
fn names_subject(der: &[u8], name: &str) -> bool {
    let bytes = name.as_bytes();
    der.windows(bytes.len() + 2).any(|w| {
        // PrintableString (0x13) or UTF8String (0x0c), short-form length.
        (w[0] == 0x13 || w[0] == 0x0c) && usize::from(w[1]) == bytes.len() && &w[2..] == bytes
    })
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
    fn the_aws_roots_are_the_five_aws_endpoints_chain_to() {
        let pems: Vec<String> = aws_pem_roots()
            .map(|p| String::from_utf8(p).unwrap())
            .collect();
        assert_eq!(pems.len(), AWS_ROOT_NAMES.len());
        for name in AWS_ROOT_NAMES {
            let found = ROOTS
                .iter()
                .filter(|der| names_subject(der.as_ref(), name))
                .count();
            assert_eq!(found, 1, "{name}");
        }
        // A name is matched whole: a prefix of a real name matches nothing.
        assert!(!ROOTS
            .iter()
            .any(|der| names_subject(der.as_ref(), "Amazon Root CA")));
    }

    #[test]
    fn each_pem_block_decodes_back_to_its_certificate() {
        for (der, pem) in ROOTS.iter().zip(ROOTS.iter().map(|d| pem(d.as_ref()))) {
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
