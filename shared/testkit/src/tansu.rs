//! A real Kafka-protocol broker for tests over TCP: tansu with in-memory storage on a free
//! loopback port, one per test (topic names are fixed, so tests must not share a broker),
//! killed when dropped. The binary comes from `TANSU_BIN`, `PATH`, or the cache that
//! `scripts/test` installs it into.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Tansu {
    child: Child,
    pub brokers: String,
}

impl Tansu {
    pub fn spawn() -> Self {
        Self::spawn_advertising(None)
    }

    /// A free loopback port for a broker to listen on.
    pub fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
    }

    /// A broker that tells clients to connect to `advertised` (a proxy in front of it) instead
    /// of its own address.
    pub fn spawn_advertising(advertised: Option<(u16, std::net::SocketAddr)>) -> Self {
        let binary = binary();
        let (port, advertised) = match advertised {
            Some((port, proxy)) => (port, format!("tcp://{proxy}")),
            None => {
                let port = Self::free_port();
                (port, format!("tcp://127.0.0.1:{port}"))
            }
        };
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let brokers = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&brokers).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {brokers}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, brokers }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("tansu"))
        .find(|candidate| candidate.is_file());
    let cached = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/contactd/tools/bin/tansu"));
    on_path.or(cached.filter(|c| c.is_file())).expect("tansu not found: run ./scripts/test (it installs tansu) or set TANSU_BIN")
}
