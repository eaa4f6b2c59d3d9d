//! Following a `NOTIFY` channel for the life of the application: the one
//! loop behind the tile cache's change listener, layer publication and the
//! credentials cache. Each listens over a connection of its own (outside
//! the request pool, so it never takes one of the few connections requests
//! share), catches up after every (re)connection because notifications may
//! have been lost in between, reconnects with back-off, and ends when the
//! application's pool closes or the follower says the application is gone.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};

/// What one channel's notifications drive.
pub trait Follower: Send + 'static {
    /// What is followed, for the log.
    const WHAT: &'static str;

    /// Just (re)connected and listening: catch up with what may have been
    /// missed. `Ok(false)`: the application is gone, stop. `Err`: try again
    /// after a back-off.
    fn caught_up(&mut self) -> impl Future<Output = Result<bool, String>> + Send;

    /// Notifications arrived (payloads in order, the ones already buffered
    /// together). `Ok(false)`: stop. `Err`: listen again from scratch.
    fn notified(&mut self, payloads: Vec<String>) -> impl Future<Output = Result<bool, String>> + Send;

    /// The connection was lost or a notification could not be handled:
    /// forget what may now be stale.
    fn lost(&mut self);
}

/// Follows `channel` with `follower` in a task of its own (needs a Tokio
/// runtime).
pub fn spawn<F: Follower>(pool: PgPool, channel: &'static str, follower: F) {
    tokio::spawn(run(pool, channel, follower));
}

async fn run<F: Follower>(pool: PgPool, channel: &'static str, mut follower: F) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(connected) = unless_closed(&pool, listen(&pool, channel)).await else {
            return;
        };
        let ready = match connected {
            Ok(listener) => follower.caught_up().await.map(|go| go.then_some(listener)),
            Err(e) => Err(e.to_string()),
        };
        let mut listener = match ready {
            Ok(Some(listener)) => listener,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot follow {}", F::WHAT);
                if unless_closed(&pool, tokio::time::sleep(backoff)).await.is_none() {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        tracing::debug!(channel, "following {}", F::WHAT);
        loop {
            // The pool closing (the application stopping) ends the task.
            let Some(received) = unless_closed(&pool, listener.try_recv()).await else {
                return;
            };
            let outcome = match received {
                Ok(Some(first)) => {
                    let mut payloads = vec![first.payload().to_string()];
                    while let Some(more) = listener.next_buffered() {
                        payloads.push(more.payload().to_string());
                    }
                    follower.notified(payloads).await
                }
                Ok(None) => Err("the connection was lost".to_string()),
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "{}: listening again", F::WHAT);
                    follower.lost();
                    break;
                }
            }
        }
    }
}

/// Runs `fut` unless `pool` closes first (then `None`).
async fn unless_closed<T: Future>(pool: &PgPool, fut: T) -> Option<T::Output> {
    if pool.is_closed() {
        return None;
    }
    tokio::select! {
        biased;
        () = pool.close_event() => None,
        out = fut => Some(out),
    }
}

/// A `LISTEN` over a connection of its own (the server and options of
/// `pool`, outside it). Reconnection is ours (the follower must catch up),
/// so sqlx's silent one is off.
async fn listen(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = PgListener::connect_with(&own).await?;
    listener.ignore_pool_close_event(true);
    listener.listen(channel).await?;
    Ok(listener)
}
