//! A TCP proxy a test can cut, standing between the services and PostgreSQL or Kafka: [`cut`]
//! drops every open connection and refuses new ones (the dependency is "down"), [`restore`]
//! lets connections through again. Fault tests use it to take a dependency away mid-stream
//! without touching the shared server.
//!
//! [`cut`]: TcpProxy::cut
//! [`restore`]: TcpProxy::restore

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct TcpProxy {
    pub addr: SocketAddr,
    cut: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds a loopback port");
        let addr = listener.local_addr().expect("proxy address");
        let (cut, watching) = watch::channel(false);
        let task = tokio::spawn(accept(listener, upstream, watching));
        Self { addr, cut, task }
    }

    /// Drops every connection and refuses new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
        // Open connections watch the sender; its drop ends them.
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, cut: watch::Receiver<bool>) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        if *cut.borrow() {
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, upstream, cut.clone()));
    }
}

async fn forward(mut client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}
