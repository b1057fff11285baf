//! TLS for tests: a certificate authority made by the test ([`TestCa`]) that issues server
//! certificates for `localhost` / `127.0.0.1`, and a TLS-terminating proxy ([`TlsProxy`]) that
//! puts TLS in front of a plaintext server (tansu serves Kafka over plain TCP only).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509Name, X509};
use tokio::net::{TcpListener, TcpStream};
pub use tokio_native_tls::native_tls;

/// A throwaway certificate authority (ECDSA P-256).
pub struct TestCa {
    key: PKey<Private>,
    cert: X509,
    days: u32,
}

/// A server certificate and its key, PEM.
pub struct ServerCert {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl ServerCert {
    /// A blocking TLS acceptor serving this certificate.
    pub fn acceptor(&self) -> native_tls::TlsAcceptor {
        let identity = native_tls::Identity::from_pkcs8(&self.cert_pem, &self.key_pem).expect("TLS identity");
        native_tls::TlsAcceptor::new(identity).expect("TLS acceptor")
    }
}

impl TestCa {
    /// A CA whose certificates are valid for a day (one test run).
    pub fn new(name: &str) -> Self {
        Self::valid_for(name, 1)
    }

    /// A CA whose certificates are valid for `days` (certificates kept beyond one run).
    pub fn valid_for(name: &str, days: u32) -> Self {
        let key = p256_key();
        let subject = x509_name(name);
        let mut builder = X509::builder().expect("x509 builder");
        builder.set_version(2).expect("v3");
        builder.set_serial_number(&serial()).expect("serial");
        builder.set_subject_name(&subject).expect("subject");
        builder.set_issuer_name(&subject).expect("issuer");
        builder.set_pubkey(&key).expect("public key");
        builder.set_not_before(&Asn1Time::days_from_now(0).expect("now")).expect("not before");
        builder.set_not_after(&Asn1Time::days_from_now(days).expect("expiry")).expect("not after");
        builder.append_extension(BasicConstraints::new().critical().ca().build().expect("constraints")).expect("extension");
        builder
            .append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build().expect("usage"))
            .expect("extension");
        let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None)).expect("key id");
        builder.append_extension(ski).expect("extension");
        builder.sign(&key, MessageDigest::sha256()).expect("self-signed");
        Self { key, cert: builder.build(), days }
    }

    /// The CA certificate, PEM (what a client trusts).
    pub fn cert_pem(&self) -> Vec<u8> {
        self.cert.to_pem().expect("PEM")
    }

    /// Writes the CA certificate to `dir/<file>` and returns the path.
    pub fn write_cert(&self, dir: &Path, file: &str) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, self.cert_pem()).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// A server certificate for `localhost` and `127.0.0.1`, signed by this CA.
    pub fn server_cert(&self) -> ServerCert {
        let key = p256_key();
        let mut builder = X509::builder().expect("x509 builder");
        builder.set_version(2).expect("v3");
        builder.set_serial_number(&serial()).expect("serial");
        builder.set_subject_name(&x509_name("localhost")).expect("subject");
        builder.set_issuer_name(self.cert.subject_name()).expect("issuer");
        builder.set_pubkey(&key).expect("public key");
        builder.set_not_before(&Asn1Time::days_from_now(0).expect("now")).expect("not before");
        builder.set_not_after(&Asn1Time::days_from_now(self.days).expect("expiry")).expect("not after");
        builder.append_extension(BasicConstraints::new().build().expect("constraints")).expect("extension");
        builder
            .append_extension(KeyUsage::new().critical().digital_signature().key_agreement().build().expect("usage"))
            .expect("extension");
        builder.append_extension(ExtendedKeyUsage::new().server_auth().build().expect("usage")).expect("extension");
        let context = builder.x509v3_context(Some(&self.cert), None);
        let san = SubjectAlternativeName::new().dns("localhost").ip("127.0.0.1").build(&context).expect("names");
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&context).expect("authority key id");
        builder.append_extension(san).expect("extension");
        builder.append_extension(aki).expect("extension");
        builder.sign(&self.key, MessageDigest::sha256()).expect("signed");
        ServerCert {
            cert_pem: builder.build().to_pem().expect("PEM"),
            key_pem: key.private_key_to_pem_pkcs8().expect("PKCS#8 PEM"),
        }
    }
}

fn p256_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    PKey::from_ec_key(EcKey::generate(&group).expect("EC key")).expect("key")
}

fn x509_name(common_name: &str) -> X509Name {
    let mut name = X509Name::builder().expect("name builder");
    name.append_entry_by_nid(Nid::COMMONNAME, common_name).expect("CN");
    name.build()
}

fn serial() -> Asn1Integer {
    let mut serial = BigNum::new().expect("bignum");
    serial.rand(127, MsbOption::MAYBE_ZERO, false).expect("random serial");
    serial.to_asn1_integer().expect("serial")
}

/// Accepts TLS on a loopback port and forwards the plaintext to `upstream`, one TCP connection
/// per TLS connection. Runs on a thread of its own until dropped.
pub struct TlsProxy {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsProxy {
    /// Binds a free loopback port; `upstream` is resolved per connection (it may start later).
    pub fn start(cert: &ServerCert, upstream: impl Into<String>) -> Self {
        let acceptor = tokio_native_tls::TlsAcceptor::from(cert.acceptor());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        listener.set_nonblocking(true).expect("non-blocking");
        let upstream = upstream.into();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("proxy runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("tokio listener");
                tokio::select! {
                    _ = stopped => {}
                    _ = accept_loop(listener, acceptor, upstream) => {}
                }
            });
        });
        Self { addr, stop: Some(stop), thread: Some(thread) }
    }
}

async fn accept_loop(listener: TcpListener, acceptor: tokio_native_tls::TlsAcceptor, upstream: String) {
    while let Ok((client, _)) = listener.accept().await {
        let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
        tokio::spawn(async move {
            // A client that fails the handshake (e.g. one speaking plaintext) is just dropped.
            let Ok(mut tls) = acceptor.accept(client).await else { return };
            let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
        });
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A directory of the test's own under the system's temp directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(purpose: &str) -> Self {
        let path = std::env::temp_dir().join(format!("contactd-{purpose}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
