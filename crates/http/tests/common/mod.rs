//! A real server on loopback for the integration tests.

use std::net::SocketAddr;
use std::time::Duration;

use entente_http::{AppState, ConnectionLimits, ServeOptions};

/// Serves `state` over plain HTTP on a free loopback port, on a runtime of
/// its own thread, until the test process ends; returns the bound address.
pub fn serve_on_loopback(state: AppState, limits: ConnectionLimits) -> SocketAddr {
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: None,
        allow_plain_http: false,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(entente_http::serve(
                state,
                options,
                limits,
                move |addr| tx.send(addr).unwrap(),
                std::future::pending(),
            ))
            .unwrap();
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}
