//! The HTTP server: one router, one state, every API area registering its
//! routes here.

mod health;
mod metrics;
pub mod pages;
pub mod security;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use sqlx::PgPool;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::Problem;
use crate::registry::Registry;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub registry: Arc<Registry>,
    pub config: Arc<Config>,
    /// The vector tile cache (`src/tiles`); editing calls its `invalidate`.
    pub tiles: crate::tiles::TileCache,
    /// Sessions, API keys, rate limiters and the mail sender (`src/auth`).
    pub auth: crate::auth::AuthState,
    /// Read replicas (`DATABASE_REPLICA_URLS`, `src/db/replica.rs`): read
    /// handlers take their pool from `reader`/`reader_for`.
    pub replicas: crate::db::replica::Replicas,
    /// Glyphs of the map labels (`src/fonts.rs`).
    pub fonts: crate::fonts::Fonts,
}

impl AppState {
    pub fn new(pool: PgPool, registry: Arc<Registry>, config: Arc<Config>) -> AppState {
        let tiles = crate::tiles::TileCache::new(&config, &registry);
        let auth = crate::auth::AuthState::new(&config);
        let replicas = crate::db::replica::Replicas::from_config(pool.clone(), &config);
        tiles.attach_replicas(replicas.clone());
        let fonts = crate::fonts::Fonts::load(&config.fonts_dir);
        AppState {
            pool,
            registry,
            config,
            tiles,
            auth,
            replicas,
            fonts,
        }
    }

    /// The pool for a read by `viewer` that may touch any table: a replica
    /// that has replayed everything this read must see, else the primary.
    pub async fn reader(&self, viewer: &crate::access::Viewer) -> PgPool {
        self.start_change_listener();
        self.replicas.read_pool(viewer.actor.as_deref(), None).await
    }

    /// The pool for a read by `viewer` of `tables` only.
    pub async fn reader_for(&self, viewer: &crate::access::Viewer, tables: &[&str]) -> PgPool {
        self.start_change_listener();
        self.replicas.read_pool(viewer.actor.as_deref(), Some(tables)).await
    }

    /// The pool to build a tile of `layer_ids` from.
    pub async fn tile_reader(&self, viewer: &crate::access::Viewer, layer_ids: &[String]) -> PgPool {
        if self.replicas.is_empty() {
            return self.pool.clone();
        }
        let tables: Vec<&str> = layer_ids
            .iter()
            .filter_map(|id| self.registry.get(id))
            .map(|l| l.table())
            .collect();
        self.reader_for(viewer, &tables).await
    }

    /// Replicas are read only while this instance hears about changes.
    fn start_change_listener(&self) {
        if !self.replicas.is_empty() {
            self.tiles.start_listener(&self.pool);
        }
    }
}

/// The whole application as a `Router`: tests drive it with `oneshot`.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let api = Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(crate::api::layers::routes())
        .merge(crate::api::search::routes())
        .merge(crate::api::publication::routes(&state))
        .merge(crate::opendata::routes())
        .merge(crate::ogc::routes().merge(crate::openapi::routes()))
        .merge(crate::tiles::routes())
        .merge(crate::fonts::routes())
        .merge(crate::analytics::routes(&state))
        .merge(crate::auth::routes())
        .merge(crate::appeals::routes())
        .merge(crate::import::routes())
        .merge(pages::routes(&config))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::db::replica::track,
        ))
        // `limit_bodies` (below) is the body limit; axum's own default of
        // 2 MB would refuse edits between 2 and 5 MB that the limit allows.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state);

    // Static front end at `/`; anything not found is a problem document.
    let web = ServeDir::new(&config.web_dir)
        .append_index_html_on_directories(true)
        .fallback(tower::service_fn(|_req| async {
            Ok::<_, std::convert::Infallible>(
                Problem::new(StatusCode::NOT_FOUND, Some("no such resource".into())).into_response(),
            )
        }));

    let untimed = api
        .fallback_service(web)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn_with_state(
            config.clone(),
            crate::import::limit_bodies,
        ))
        .layer(CompressionLayer::new());
    let app = untimed.clone().layer(TimeoutLayer::with_status_code(
        StatusCode::SERVICE_UNAVAILABLE,
        config.request_timeout(),
    ));
    // tower-http's CORS layer answers every OPTIONS as a preflight; an
    // OPTIONS that is not one (no Access-Control-Request-Method) must reach
    // the handlers, which answer `Allow` (OGC API Features Part 4).
    let with_cors = app.clone().layer(cors(&config.cors_origins));
    // A file import (up to 200 MB, all or nothing) may take minutes: it is
    // bounded by its size limit and the database, not the request timeout.
    let import = untimed.layer(cors(&config.cors_origins));
    Router::new()
        .fallback_service(tower::service_fn(move |req: axum::extract::Request| {
            let service = if crate::import::http::is_import_path(req.method(), req.uri().path()) {
                import.clone()
            } else if req.method() != Method::OPTIONS
                || req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
            {
                with_cors.clone()
            } else {
                app.clone()
            };
            tower::ServiceExt::oneshot(service, req)
        }))
        .layer(axum::middleware::from_fn_with_state(
            security::SecurityHeaders::new(&config),
            security::add_headers,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(security::request_span))
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::IF_MATCH,
            header::ACCEPT,
            crate::db::replica::MIN_LSN_HEADER,
        ])
        .expose_headers([header::ETAG, header::LOCATION, crate::db::replica::LSN_HEADER]);
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
            .collect();
        layer.allow_origin(AllowOrigin::list(list))
    }
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let listen = state.config.listen;
    let public = state.config.public_url();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    // A streamed body goes out in several writes; with Nagle's algorithm the
    // last one waits for the client's delayed ACK (≈ 40 ms per response on a
    // kept-alive connection, e.g. a GIS client paging through items).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    // The tile cache's change listener runs from the start.
    state.tiles.start_listener(&state.pool);
    state.replicas.start();
    crate::auth::outbox::spawn_worker(state.pool.clone(), state.auth.sender.clone());
    crate::appeals::spawn_retention(state.pool.clone(), state.config.contact_retention_days);
    tracing::info!(%listen, "serving");
    println!("geoportal is serving on {public}/");
    // The peer address feeds the per-address rate limits.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("server stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
