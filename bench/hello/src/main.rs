//! `rathaus-bench-hello ADDR`: answers every request with a fixed 13-byte text. Used by
//! bench/http.sh as the baseline the portal's figures are divided by.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
        .parse()
        .unwrap_or_else(|e| panic!("usage: rathaus-bench-hello 127.0.0.1:PORT ({e})"));
    let app = Router::new().route("/", get(|| async { "Hello, world!" }));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    axum::serve(listener, app)
        .await
        .unwrap_or_else(|e| panic!("the server stopped: {e}"));
}
