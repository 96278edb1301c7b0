//! The HTTP/1.1 server loop: axum's router on hyper connections, with a timer so that a
//! client that does not finish sending its headers within the request timeout has its
//! connection closed (axum's own `serve` sets no timer, so such a client would hold its
//! connection forever). On shutdown, connections finish their request and close.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::say;

/// Serves `app` until `shutdown` completes, then waits for the open connections to end.
pub async fn serve(listener: TcpListener, app: Router, header_timeout: Duration, shutdown: impl Future<Output = ()>) {
    let (stopping, stop_seen) = watch::channel(false);
    // Every connection holds a receiver; `closed()` completes when the last one is dropped.
    let (all_closed, open) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: passes; do not spin.
                    say!("hmr2-launch: serve: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut stop_seen = stop_seen.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = stop_seen.changed() => conn.as_mut().graceful_shutdown(),
                }
            }
            drop(open);
        });
    }
    drop(listener);
    stopping.send_replace(true);
    drop(open);
    all_closed.closed().await;
}
