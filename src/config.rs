//! Configuration: command-line flags over environment variables over
//! defaults (clap resolves all three in that order).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(long, env = "GEOPORTAL_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: SocketAddr,

    /// PostgreSQL server to use; without it an embedded cluster is started.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the embedded database, photos and other files.
    #[arg(long, env = "GEOPORTAL_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Base of every absolute link the server writes (default: http:// + listen address).
    #[arg(long, env = "GEOPORTAL_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Directory of the layer definitions.
    #[arg(long, env = "GEOPORTAL_LAYERS_DIR", default_value = "layers", global = true)]
    pub layers_dir: PathBuf,

    /// Directory of the built web portal served at `/` (`npm run build` in `web/`).
    #[arg(long, env = "GEOPORTAL_WEB_DIR", default_value = "web/dist", global = true)]
    pub web_dir: PathBuf,

    /// Directory of the MapLibre styles served at `/styles/`.
    #[arg(long, env = "GEOPORTAL_STYLES_DIR", default_value = "styles", global = true)]
    pub styles_dir: PathBuf,

    /// Directory of the TrueType/OpenType fonts whose glyphs draw map labels
    /// (`/fonts/…`); Debian's `fonts-dejavu-core`/`-extra` by default.
    #[arg(
        long,
        env = "GEOPORTAL_FONTS_DIR",
        default_value = "/usr/share/fonts/truetype/dejavu",
        global = true
    )]
    pub fonts_dir: PathBuf,

    /// An external basemap (a MapLibre style URL or a raster tile URL
    /// template with `{z}/{x}/{y}`); without it the portal draws its own
    /// basemap from the city's base layers and needs no internet.
    #[arg(long, env = "GEOPORTAL_BASEMAP_URL", global = true)]
    pub basemap_url: Option<String>,

    /// Origins allowed by CORS, comma-separated; `*` allows any.
    #[arg(
        long,
        env = "GEOPORTAL_CORS_ORIGINS",
        default_value = "*",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,

    /// Seconds before a request is cut off with 503.
    #[arg(long, env = "GEOPORTAL_REQUEST_TIMEOUT", default_value_t = 30, global = true)]
    pub request_timeout_secs: u64,

    /// Largest JSON request body, in bytes.
    #[arg(long, env = "GEOPORTAL_JSON_LIMIT", default_value_t = 5 * 1024 * 1024, global = true)]
    pub json_limit: usize,

    /// Largest file accepted by `POST /api/layers/{id}/import`, in bytes.
    #[arg(long, env = "GEOPORTAL_IMPORT_LIMIT", default_value_t = 200 * 1024 * 1024, global = true)]
    pub import_limit: usize,

    /// Size of the in-memory vector tile cache, in MiB (0 turns it off).
    #[arg(long, env = "GEOPORTAL_TILE_CACHE_MB", default_value_t = 256, global = true)]
    pub tile_cache_mb: u64,

    /// `Cache-Control` of tile responses (e.g. `public, max-age=60`); the
    /// default makes clients revalidate, which the tiles' `ETag` keeps cheap.
    #[arg(
        long,
        env = "GEOPORTAL_TILE_CACHE_CONTROL",
        default_value = "no-cache",
        value_parser = header_value,
        global = true
    )]
    pub tile_cache_control: String,

    /// Hours a sign-in (bearer token) stays valid.
    #[arg(long, env = "GEOPORTAL_SESSION_HOURS", default_value_t = 12, global = true)]
    pub session_hours: u64,

    /// SMTP server for outgoing mail, e.g. `smtps://user:pass@mail.example:465`;
    /// without it messages are written to `<data dir>/outbox.log`.
    #[arg(long, env = "GEOPORTAL_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender address of outgoing mail.
    #[arg(
        long,
        env = "GEOPORTAL_MAIL_FROM",
        default_value = "geoportal <noreply@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Days after closing when an appeal author's contact details are erased.
    #[arg(
        long,
        env = "GEOPORTAL_CONTACT_RETENTION_DAYS",
        default_value_t = 1826,
        global = true
    )]
    pub contact_retention_days: u32,

    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    #[arg(long, env = "GEOPORTAL_TRUST_PROXY", default_value_t = false, global = true)]
    pub trust_proxy: bool,

    /// Seconds a statement of an HTTP request may run before PostgreSQL
    /// cancels it (503); 0 = no limit. Imports and CLI work are not bound by it.
    #[arg(long, env = "GEOPORTAL_STATEMENT_TIMEOUT", default_value_t = 25, global = true)]
    pub statement_timeout_secs: u64,

    /// Connections the server's request pool may open.
    #[arg(long, env = "GEOPORTAL_DB_POOL_SIZE", default_value_t = 32, global = true)]
    pub db_pool_size: u32,

    /// Milliseconds a request waits for a database connection before a 503
    /// with `Retry-After` (pool exhausted or database unreachable).
    #[arg(long, env = "GEOPORTAL_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3000, global = true)]
    pub db_acquire_timeout_ms: u64,

    /// PostgreSQL streaming replicas that take read traffic (tiles,
    /// features, analytics, search, open data), comma-separated URLs;
    /// writes always go to the primary (`DATABASE_URL`).
    #[arg(
        long,
        env = "DATABASE_REPLICA_URLS",
        value_delimiter = ',',
        value_parser = pg_url,
        global = true,
        hide_env_values = true
    )]
    pub database_replica_urls: Vec<String>,

    /// A replica further behind the primary than this many milliseconds
    /// gets no reads until it catches up.
    #[arg(long, env = "GEOPORTAL_REPLICA_MAX_LAG_MS", default_value_t = 5000, global = true)]
    pub replica_max_lag_ms: u64,
}

/// A PostgreSQL URL (a replica), checked at start.
fn pg_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    s.parse::<sqlx::postgres::PgConnectOptions>()
        .map(|_| s.to_string())
        .map_err(|e| format!("not a PostgreSQL URL: {e}"))
}

/// A value that can be sent as an HTTP header, checked at start.
fn header_value(s: &str) -> Result<String, String> {
    let s = s.trim();
    axum::http::HeaderValue::from_str(s)
        .map(|_| s.to_string())
        .map_err(|_| format!("`{s}` is not a valid HTTP header value"))
}

impl Config {
    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// A configuration for tests and embedding, with every default.
    pub fn defaults() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            data_dir: PathBuf::from("data"),
            public_url: None,
            layers_dir: PathBuf::from("layers"),
            web_dir: PathBuf::from("web/dist"),
            styles_dir: PathBuf::from("styles"),
            fonts_dir: PathBuf::from("/usr/share/fonts/truetype/dejavu"),
            basemap_url: None,
            cors_origins: vec!["*".into()],
            request_timeout_secs: 30,
            json_limit: 5 * 1024 * 1024,
            import_limit: 200 * 1024 * 1024,
            tile_cache_mb: 256,
            session_hours: 12,
            smtp_url: None,
            mail_from: "geoportal <noreply@localhost>".into(),
            trust_proxy: false,
            contact_retention_days: 1826,
            tile_cache_control: "no-cache".into(),
            statement_timeout_secs: 25,
            db_pool_size: 32,
            db_acquire_timeout_ms: 3000,
            database_replica_urls: Vec::new(),
            replica_max_lag_ms: 5000,
        }
    }
}
