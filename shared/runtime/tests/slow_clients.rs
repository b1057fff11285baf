//! The server's connection limits over a real socket: a client that sends its headers slower than
//! `http.header_read_timeout_ms` allows (a slowloris) and one that connects and sends nothing are
//! disconnected within that timeout, while an ordinary client on the same server is answered.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use runtime::http::server::{self, Readiness};
use runtime::settings::HttpSettings;
use runtime::shutdown::CancellationToken;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(800);
/// How much later than the timeout the connection may close (scheduling on a busy machine).
const SLACK: Duration = Duration::from_secs(3);
/// How often the slow client sends one more byte of its headers: many times within the timeout,
/// so the connection is never idle for as long as the timeout.
const BYTE_EVERY: Duration = Duration::from_millis(50);

async fn serve(shutdown: &CancellationToken) -> SocketAddr {
    let http: HttpSettings = HttpSettings {
        header_read_timeout_ms: u64::try_from(HEADER_READ_TIMEOUT.as_millis()).expect("fits"),
        ..HttpSettings::default()
    };
    let readiness = Readiness { database: None, kafka: None };
    let (addr, _task) = server::serve("slow-clients", &http, Router::new(), readiness, shutdown.clone()).await.expect("serves");
    addr
}

/// Sends `prefix`, then (when `drip`) one byte of a header value every [`BYTE_EVERY`], never
/// ending the headers; returns how long after connecting the server closed the connection and
/// how many bytes were sent by then.
async fn time_until_closed(addr: SocketAddr, prefix: &[u8], drip: bool) -> (Duration, usize) {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let started = Instant::now();
    let (mut reader, mut writer) = stream.split();
    writer.write_all(prefix).await.expect("first bytes sent");
    let mut buffer = [0u8; 1024];
    let mut sent = prefix.len();
    let deadline = tokio::time::sleep(HEADER_READ_TIMEOUT + SLACK);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                // Closed (or reset); whatever it sent first (nothing, or a 408) is no answer to
                // a request, since the headers never ended.
                Ok(0) | Err(_) => return (started.elapsed(), sent),
                Ok(n) => assert!(!buffer[..n].starts_with(b"HTTP/1.1 2"), "answered unfinished headers"),
            },
            () = tokio::time::sleep(BYTE_EVERY), if drip => {
                if writer.write_all(b"a").await.is_err() {
                    return (started.elapsed(), sent);
                }
                sent += 1;
            },
            () = &mut deadline => panic!(
                "still connected {:?} after connecting ({sent} bytes of headers sent); the header read timeout is {HEADER_READ_TIMEOUT:?}",
                started.elapsed()
            ),
        }
    }
}

#[tokio::test]
async fn a_client_sending_its_headers_byte_by_byte_is_disconnected_within_the_header_read_timeout() {
    let shutdown = CancellationToken::new();
    let addr = serve(&shutdown).await;

    let prefix = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    let (slow, sent) = time_until_closed(addr, prefix, true).await;
    println!("slow-header client closed after {slow:?}, {sent} bytes sent (header read timeout {HEADER_READ_TIMEOUT:?})");
    assert!(sent > prefix.len() + 5, "the client kept sending bytes while connected ({sent})");
    assert!(slow <= HEADER_READ_TIMEOUT + SLACK, "{slow:?}");

    let (idle, _) = time_until_closed(addr, b"", false).await;
    println!("idle client closed after {idle:?}");
    assert!(idle <= HEADER_READ_TIMEOUT + SLACK, "{idle:?}");

    // Meanwhile an ordinary request on the same server is answered.
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.expect("sent");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer read");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    shutdown.cancel();
}
