//! `kube-apiserver`: parses flags and runs [`apiserver::server::run`].

use anyhow::Context;
use apiserver::options::Options;
use clap::Parser;

/// mimalloc: the apiserver allocates and frees many small buffers per
/// request and per watch event, where it is markedly faster than glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let opts = Options::parse();
    let storage = opts
        .storage()
        .await
        .with_context(|| match opts.etcd_servers.is_empty() {
            true => format!(
                "cannot open the embedded store in {}",
                opts.data_dir.display()
            ),
            false => format!("cannot reach etcd at {}", opts.etcd_servers.join(",")),
        })?;
    let addr = std::net::SocketAddr::new(opts.bind_address, opts.secure_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    apiserver::server::run(listener, storage, opts.config(), shutdown).await?;
    Ok(())
}
