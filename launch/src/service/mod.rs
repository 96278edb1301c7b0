//! `hmr2-launch serve`: the HTTP job service.
//!
//! - `api`: the HTTP routes (axum), uploads, downloads, errors as JSON;
//! - `jobs`: the worker pool; each job runs as a child `hmr2-launch file` process;
//! - `job`: the job model, client options and the API's JSON (pure);
//! - `store`: where jobs are kept, behind [`store::JobStore`] (SQLite embedded);
//! - `metrics`: the Prometheus text.
//!
//! The API is described in `openapi.yaml` (served at `/v1/openapi.yaml`) and launch/README.md.

mod api;
mod http;
pub mod job;
mod jobs;
mod metrics;
pub mod store;
mod upload_check;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use tokio::sync::{watch, Notify};

use crate::cli::{ServiceArgs, ServiceRole};
use crate::{say, Failure};

use store::postgres::PgStore;
use store::sqlite::SqliteStore;
use store::{now_ms, JobStore};

/// The service's settings, from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub workers: usize,
    pub max_queue: u64,
    pub max_upload_bytes: u64,
    pub sync_timeout: std::time::Duration,
    /// Longest time from a request's first byte to its answer (408 beyond).
    pub request_timeout: std::time::Duration,
    pub max_attempts: u32,
    pub token: Option<String>,
    pub models_dir: Option<PathBuf>,
    /// The program each job runs (this binary).
    pub launch_bin: PathBuf,
    /// How long a worker holds a job without renewing its lease.
    pub lease: std::time::Duration,
    /// This process's name in the store: host, process id and a random part.
    pub node: String,
    pub role: ServiceRole,
    /// Prefixes of the server-side paths and URIs jobs may read (`source` option).
    pub allowed_sources: Vec<String>,
}

impl Config {
    pub fn from_args(args: &ServiceArgs) -> Result<Self, Failure> {
        let workers = match args.role {
            ServiceRole::Api => 0,
            _ => args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() / 2).max(1)),
        };
        if workers == 0 && args.role != ServiceRole::Api {
            return Err(Failure::usage("--workers must be at least 1"));
        }
        let launch_bin = std::env::current_exe()
            .map_err(|e| Failure::runtime(format!("cannot find this program's own path: {e}")))?;
        let models_dir = match &args.models_dir {
            Some(d) if !d.is_dir() => {
                return Err(Failure::usage(format!("--models-dir {} is not a folder", d.display())))
            }
            Some(d) => Some(d.canonicalize().unwrap_or_else(|_| d.clone())),
            None => None,
        };
        Ok(Self {
            data_dir: args.data_dir.clone(),
            workers,
            max_queue: args.max_queue,
            max_upload_bytes: args.max_upload_mib.saturating_mul(1024 * 1024),
            sync_timeout: std::time::Duration::from_secs(args.sync_timeout),
            request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
            max_attempts: args.max_attempts.max(1),
            token: args.token.clone().or_else(|| std::env::var("HMR2_SERVE_TOKEN").ok()).filter(|t| !t.is_empty()),
            models_dir,
            launch_bin,
            lease: std::time::Duration::from_secs(args.lease_secs.max(1)),
            node: node_name(),
            role: args.role,
            allowed_sources: args.allow_source.clone(),
        })
    }
}

fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}-{}", host.trim(), std::process::id(), &random[..8])
}

/// What the routes and the workers share.
pub struct Service {
    pub config: Config,
    pub store: Arc<dyn JobStore>,
    /// Rung when a job is queued.
    pub wake: Notify,
    /// Rung when a job ends.
    pub finished: Notify,
    /// Set to true when the service stops.
    pub stop: watch::Sender<bool>,
    pub busy: AtomicUsize,
    pub metrics: metrics::Metrics,
}

/// Runs the service until SIGINT or SIGTERM.
pub fn run(mut args: ServiceArgs) -> Result<(), Failure> {
    args.database_url = args.database_url.or_else(|| std::env::var("HMR2_DATABASE_URL").ok()).filter(|u| !u.is_empty());
    if args.role != ServiceRole::All && args.database_url.is_none() {
        return Err(Failure::usage("--role api and --role worker need a shared database (--database-url)"));
    }
    let config = Config::from_args(&args)?;
    std::fs::create_dir_all(config.data_dir.join("jobs"))
        .map_err(|e| Failure::runtime(format!("cannot create the data folder {}: {e}", config.data_dir.display())))?;
    let store: Arc<dyn JobStore> = match &args.database_url {
        None => {
            let store =
                SqliteStore::open(&config.data_dir.join("jobs.sqlite")).map_err(|e| Failure::runtime(e.to_string()))?;
            // Alone on this file: every running job was left by a service that died.
            let recovery = store.recover(config.max_attempts, now_ms()).map_err(|e| Failure::runtime(e.to_string()))?;
            if !recovery.requeued.is_empty() || !recovery.failed.is_empty() {
                say!(
                    "hmr2-launch: serve: after an unclean stop: {} job(s) queued again, {} failed",
                    recovery.requeued.len(),
                    recovery.failed.len()
                );
            }
            Arc::new(store)
        }
        // Other nodes may be running jobs: only expired leases are taken back, by the workers.
        Some(url) => Arc::new(
            PgStore::connect(url, config.max_attempts)
                .map_err(|e| Failure::runtime(format!("cannot use the database: {e}")))?,
        ),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(config, store, &args.bind, args.database_url))
}

async fn serve(
    config: Config,
    store: Arc<dyn JobStore>,
    bind: &str,
    database_url: Option<String>,
) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| Failure::runtime(format!("cannot listen on {bind}: {e}")))?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| Failure::runtime(e.to_string()))?;
    let (stop, _) = watch::channel(false);
    let workers = config.workers;
    let svc = Arc::new(Service {
        config,
        store,
        wake: Notify::new(),
        finished: Notify::new(),
        stop,
        busy: AtomicUsize::new(0),
        metrics: metrics::Metrics::default(),
    });
    if let (Some(url), true) = (database_url, workers > 0) {
        let waker = svc.clone();
        PgStore::listen_for_jobs(url, move || waker.wake.notify_one());
    }
    let pool: Vec<_> =
        (0..workers).map(|n| tokio::spawn(jobs::worker(svc.clone(), format!("{}/{n}", svc.config.node)))).collect();
    say!(
        "hmr2-launch: serving http://{addr} ({workers} worker(s), data in {}, {})",
        svc.config.data_dir.display(),
        if svc.config.role == ServiceRole::All {
            "all roles".to_owned()
        } else {
            format!("role {:?}", svc.config.role).to_lowercase()
        }
    );
    // GStreamer and the plugins, loaded once, before the first upload is checked with them.
    tokio::task::spawn_blocking(crate::runner::init_gstreamer).await.map_err(|e| Failure::runtime(e.to_string()))??;
    let app = api::router(svc.clone());
    let stopper = svc.clone();
    http::serve(listener, app, svc.config.request_timeout, async move {
        shutdown_signal().await;
        say!("hmr2-launch: serve: stopping; running jobs go back to the queue");
        stopper.stop.send_replace(true);
    })
    .await;
    svc.stop.send_replace(true);
    for w in pool {
        let _ = w.await;
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
