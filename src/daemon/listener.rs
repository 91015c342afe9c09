//! Serving a router on a listener with limits that hold against idle and slow clients:
//! - a connection must send a whole request head within `header_timeout` (which is also the
//!   longest a kept-alive connection may sit idle between requests);
//! - at most `max_connections` are served at once (fewer when the process may open few files);
//!   when all are taken, the oldest connection with no request in progress is closed to make
//!   room, so sockets left open can never starve a real delivery or `/healthz`;
//! - a connection lives at most `max_connection_age`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From the moment the server waits for a request (a new connection, or an idle kept-alive
    /// one) until its whole head has arrived.
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// After this a connection finishes the request in progress and is closed.
    pub max_connection_age: Duration,
    /// How long open requests may finish after `stop`.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 512,
            max_connection_age: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// One served connection, as the accept loop sees it.
#[derive(Default)]
struct Connection {
    /// Requests being answered on it now.
    in_flight: AtomicUsize,
    /// Fired to close it at once.
    evict: CancellationToken,
}

/// The open connections in the order they were accepted.
#[derive(Default)]
struct Registry {
    next_id: AtomicUsize,
    open: Mutex<BTreeMap<usize, Arc<Connection>>>,
}

impl Registry {
    fn add(&self) -> (usize, Arc<Connection>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection::default());
        self.lock().insert(id, connection.clone());
        (id, connection)
    }

    fn remove(&self, id: usize) {
        self.lock().remove(&id);
    }

    /// Closes the oldest connection with no request in progress; false when every one is busy.
    fn evict_oldest_idle(&self) -> bool {
        let open = self.lock();
        let idle = open
            .values()
            .find(|c| c.in_flight.load(Ordering::Acquire) == 0 && !c.evict.is_cancelled());
        match idle {
            Some(connection) => {
                connection.evict.cancel();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Arc<Connection>>> {
        // The map stays whole even if a holder panicked.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves `router` on `listener` until `stop` fires, then lets open requests finish for
/// `shutdown_grace`.
pub async fn serve_with_limits(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
) {
    let capacity = limits.max_connections.min(descriptor_budget()).max(1);
    let slots = Arc::new(Semaphore::new(capacity));
    let registry = Arc::new(Registry::default());
    let connections = TaskTracker::new();
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of descriptors: close an idle connection; either way wait a moment
                    // rather than spin. The listener itself stays.
                    registry.evict_oldest_idle();
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                registry.evict_oldest_idle();
                tokio::select! {
                    _ = stop.cancelled() => break,
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let (id, connection) = registry.add();
        let registry = registry.clone();
        let router = router.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            let _slot = slot;
            serve_one(stream, router, &connection, limits, &stop).await;
            registry.remove(id);
        });
    }
    drop(listener);
    connections.close();
    let _ = tokio::time::timeout(limits.shutdown_grace, connections.wait()).await;
}

async fn serve_one(
    stream: tokio::net::TcpStream,
    router: Router,
    connection: &Arc<Connection>,
    limits: ConnectionLimits,
    stop: &CancellationToken,
) {
    let counted = connection.clone();
    let service = tower::service_fn(
        move |request: axum::extract::Request<hyper::body::Incoming>| {
            let counted = counted.clone();
            let router = router.clone();
            async move {
                counted.in_flight.fetch_add(1, Ordering::AcqRel);
                let response = router.oneshot(request).await;
                counted.in_flight.fetch_sub(1, Ordering::AcqRel);
                response
            }
        },
    );
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let served = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(served);
    let too_old = tokio::time::sleep(limits.max_connection_age);
    tokio::select! {
        _ = served.as_mut() => return,
        // Evicted: closed at once (it had no request in progress).
        _ = connection.evict.cancelled() => return,
        _ = stop.cancelled() => {}
        _ = too_old => {}
    }
    served.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(limits.shutdown_grace, served).await;
}

/// Connections this process can hold open: half its file-descriptor limit, leaving the rest
/// for the ledger, outgoing calls and logs.
fn descriptor_budget() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into the struct it is given.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if !known || limit.rlim_cur == libc::RLIM_INFINITY {
        return usize::MAX;
    }
    usize::try_from(limit.rlim_cur / 2).unwrap_or(usize::MAX)
}
