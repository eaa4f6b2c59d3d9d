//! Database access: the connection pool, the embedded cluster when no
//! `DATABASE_URL` is given, and migrations.

pub mod embedded;
pub mod follow;
pub mod replica;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

pub use embedded::{Cluster, Durability, EmbeddedError, RunningCluster};

/// The name of the database inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "geoportal";

/// Migrations compiled into the binary, so a deployed binary needs no files.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
}

/// Where the data lives: a server named by DATABASE_URL, or our own cluster.
#[derive(Debug)]
pub enum Target {
    External(PgConnectOptions),
    Embedded(RunningCluster),
}

/// An open database: the pool and, in embedded mode, the cluster it runs on
/// (stopped when this is dropped, if this process started it).
#[derive(Debug)]
pub struct Database {
    pub pool: PgPool,
    pub target: Target,
}

impl Database {
    /// Opens the database described by the configuration, starting the
    /// embedded cluster and creating its database if needed.
    pub async fn open(database_url: Option<&str>, data_dir: &std::path::Path) -> Result<Database, DbError> {
        let (options, target) = match database_url {
            Some(url) => {
                let options: PgConnectOptions = url.parse().map_err(DbError::BadUrl)?;
                (options.clone(), Target::External(options))
            }
            None => {
                let cluster =
                    tokio::task::block_in_place(|| Cluster::for_data_dir(data_dir).and_then(Cluster::ensure_running))?;
                create_database_if_missing(&cluster.cluster, EMBEDDED_DATABASE).await?;
                (
                    cluster.cluster.connect_options(EMBEDDED_DATABASE),
                    Target::Embedded(cluster),
                )
            }
        };
        let pool = pool_options().connect_with(quiet(options)).await?;
        Ok(Database { pool, target })
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Libpq connection string for command-line tools (pg_dump, psql).
    pub fn libpq_url(&self, external_url: Option<&str>) -> String {
        match (&self.target, external_url) {
            (Target::Embedded(c), _) => c.cluster.url(EMBEDDED_DATABASE),
            (Target::External(_), Some(url)) => url.to_string(),
            (Target::External(o), None) => format!(
                "postgresql://{}@{}:{}/{}",
                o.get_username(),
                o.get_host(),
                o.get_port(),
                o.get_database().unwrap_or("postgres")
            ),
        }
    }

    /// Directory of the PostgreSQL client binaries matching the server.
    pub fn bin(&self, name: &str) -> std::path::PathBuf {
        match &self.target {
            Target::Embedded(c) => c.cluster.bin(name),
            Target::External(_) => embedded::client_bin(name),
        }
    }

    /// Closes the pool, then stops the embedded cluster if we started it.
    pub async fn close(self) {
        self.pool.close().await;
        if let Target::Embedded(cluster) = self.target {
            tokio::task::block_in_place(move || drop(cluster));
        }
    }
}

pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(32)
        .acquire_timeout(Duration::from_secs(10))
}

/// The pool HTTP requests use: the same server as `pool`, with the
/// configured size, a short acquire timeout (an exhausted pool or a database
/// that is down answers 503 quickly instead of holding the request) and
/// `statement_timeout` on every connection, so a pathological query cannot
/// hold a worker. Connects lazily. Work that must not be cut (a file import)
/// lifts the limit for its transaction (`SET LOCAL statement_timeout = 0`);
/// CLI commands use the unbounded pool of [`Database::open`].
pub fn request_pool(pool: &PgPool, config: &crate::config::Config) -> PgPool {
    let mut options = (*pool.connect_options()).clone();
    if config.statement_timeout_secs > 0 {
        options = options.options([("statement_timeout", format!("{}s", config.statement_timeout_secs))]);
    }
    PgPoolOptions::new()
        .max_connections(config.db_pool_size.max(1))
        .acquire_timeout(Duration::from_millis(config.db_acquire_timeout_ms.max(1)))
        .connect_lazy_with(options)
}

/// Statement logging at debug level only: at info it would flood the log
/// (and could carry personal data from bound parameters' context).
pub fn quiet(options: PgConnectOptions) -> PgConnectOptions {
    options
        .log_statements(tracing::log::LevelFilter::Debug)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(5))
}

/// Creates a database in a cluster if it does not exist yet.
pub async fn create_database_if_missing(cluster: &Cluster, name: &str) -> Result<(), DbError> {
    let mut conn: sqlx::PgConnection =
        sqlx::Connection::connect_with(&quiet(cluster.connect_options("postgres"))).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        // Identifiers cannot be bound; `name` is ours, quoted all the same.
        sqlx::query(&format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")))
            .execute(&mut conn)
            .await?;
    }
    sqlx::Connection::close(conn).await?;
    Ok(())
}
