//! The `geoportal` command line.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use geoportal::config::Config;
use geoportal::db::{Cluster, Database};
use geoportal::registry::{self, Registry};
use geoportal::{backup, demo, server, users};

#[derive(Debug, Parser)]
#[command(
    name = "geoportal",
    version,
    about = "Municipal GIS server: PostGIS layers as vector tiles, OGC API Features and analytics"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate, check the layer files and serve HTTP until Ctrl-C / SIGTERM.
    Serve {
        /// Load the demo city first if the database holds no city yet.
        #[arg(long)]
        demo_if_empty: bool,
        #[arg(long, default_value_t = 1.0)]
        demo_scale: f64,
        #[arg(long, default_value_t = 42)]
        demo_seed: u64,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Generate the demo city deterministically and load it (empty database only).
    Demo {
        /// Multiplies the number of features (1 = tens of thousands of plots).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Same seed, same city.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write the whole database to FILE (pg_dump custom format).
    Backup { file: PathBuf },
    /// Replace the whole database with the contents of FILE, in one transaction.
    Restore { file: PathBuf },
    /// The embedded PostgreSQL cluster.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Check the layer files against the database and list the layers.
    Layers,
    /// Build vector tiles ahead: warm a running server's cache, or write an MBTiles file.
    SeedTiles(geoportal::tiles::seed::SeedArgs),
    /// Write every open dataset (resolution 835) in every format into DIR.
    Export { dir: PathBuf },
    /// Import a file into a layer or register, all or nothing (GeoJSON, CSV, Shapefile, GeoPackage, cadastral XML).
    Import(geoportal::import::cli::ImportArgs),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from the first line of stdin.
    Add {
        username: String,
        /// Comma-separated roles, e.g. land_editor,deputy.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// Email address (for password reset links).
        #[arg(long)]
        email: Option<String>,
    },
    /// List the accounts.
    List,
    /// Disable an account (its sessions end at once); `--enable` undoes it.
    Disable {
        username: String,
        #[arg(long)]
        enable: bool,
    },
    /// Set a new password, read from the first line of stdin; sessions end.
    ResetPassword { username: String },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Start the embedded cluster and leave it running; prints its URL.
    Start,
    /// Stop the embedded cluster.
    Stop,
    /// Print the libpq URL of the embedded database (for psql).
    Url,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GEOPORTAL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command {
        Command::Db { command } => return db_command(&config, command),
        Command::User { command } => return user_command(&config, command).await,
        _ => {}
    }

    let db = open(&config).await?;
    let result = with_database(&config, &db, cli.command).await;
    db.close().await;
    result
}

async fn open(config: &Config) -> anyhow::Result<Database> {
    let db = Database::open(config.database_url.as_deref(), &config.data_dir).await?;
    db.migrate().await?;
    Ok(db)
}

async fn load_registry(config: &Config, db: &Database) -> anyhow::Result<Registry> {
    let registry = Registry::load_dir(&config.layers_dir)?;
    registry::check_against_database(&registry, &db.pool).await?;
    geoportal::api::publication::load(&registry, &db.pool).await?;
    Ok(registry)
}

async fn with_database(config: &Config, db: &Database, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            demo_if_empty,
            demo_scale,
            demo_seed,
        } => {
            let registry = load_registry(config, db).await?;
            if demo_if_empty && demo::is_empty(&db.pool).await? {
                tracing::info!(
                    scale = demo_scale,
                    seed = demo_seed,
                    "empty database: loading the demo city"
                );
                let options = demo::DemoOptions {
                    scale: demo_scale,
                    seed: demo_seed,
                };
                demo::load(&db.pool, &options, true).await?;
            }
            let pool = geoportal::db::request_pool(&db.pool, config);
            let state = server::AppState::new(pool, Arc::new(registry), Arc::new(config.clone()));
            server::serve(state).await
        }
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::Demo { scale, seed } => {
            let summary = demo::load(&db.pool, &demo::DemoOptions { scale, seed }, true).await?;
            let total: u64 = summary.rows.values().sum();
            println!(
                "demo city loaded: {total} rows in {} tables (batch {})",
                summary.rows.len(),
                summary.batch_id
            );
            Ok(())
        }
        Command::Layers => {
            let registry = load_registry(config, db).await?;
            for layer in registry.all() {
                println!(
                    "{:<22} {:<16} published={:<5} {}",
                    layer.id,
                    layer.geometry.geometry_type.postgis_name(),
                    layer.is_published(),
                    layer.title.en
                );
            }
            Ok(())
        }
        Command::Backup { file } => {
            let url = db.libpq_url(config.database_url.as_deref());
            tokio::task::block_in_place(|| backup::backup(db, &url, &file))?;
            println!("backup written to {}", file.display());
            Ok(())
        }
        Command::Restore { file } => {
            let url = db.libpq_url(config.database_url.as_deref());
            tokio::task::block_in_place(|| backup::restore(db, &url, &file))?;
            println!("database restored from {}", file.display());
            Ok(())
        }
        Command::SeedTiles(args) => {
            let registry = load_registry(config, db).await?;
            let state = server::AppState::new(db.pool.clone(), Arc::new(registry), Arc::new(config.clone()));
            geoportal::tiles::seed::run_cli(&state, args).await
        }
        Command::Export { dir } => {
            let files = geoportal::opendata::export(&db.pool, &dir, true).await?;
            println!("{} open data files written to {}", files.len(), dir.display());
            Ok(())
        }
        Command::Import(args) => {
            let registry = load_registry(config, db).await?;
            geoportal::import::cli::run(&db.pool, &registry, args).await
        }
        Command::User { .. } | Command::Db { .. } => Ok(()),
    }
}

async fn user_command(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    // Validate and read the password before touching the database.
    let password = match &command {
        UserCommand::Add { roles, .. } => {
            users::parse_roles(roles)?;
            Some(read_password()?)
        }
        UserCommand::ResetPassword { .. } => Some(read_password()?),
        _ => None,
    };
    let db = open(config).await?;
    let result = user_command_in(&db.pool, command, password.unwrap_or_default()).await;
    db.close().await;
    result
}

async fn user_command_in(pool: &sqlx::PgPool, command: UserCommand, password: String) -> anyhow::Result<()> {
    let find = |name: String| async move {
        users::find_by_name(pool, &name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no user named `{name}`"))
    };
    match command {
        UserCommand::Add { username, roles, email } => {
            let roles = users::parse_roles(&roles)?;
            let id = users::add(pool, &username, &roles, &password).await?;
            if let Some(email) = email {
                // Made by an admin, so the address counts as confirmed.
                sqlx::query("UPDATE users SET email = lower($2), email_confirmed_at = now() WHERE id = $1")
                    .bind(id)
                    .bind(email.trim())
                    .execute(pool)
                    .await?;
            }
            println!("user {username} added (id {id})");
        }
        UserCommand::List => {
            println!("{:>5}  {:<24} {:<10} {:<32} email", "id", "username", "state", "roles");
            for u in users::list(pool).await? {
                let state = if u.disabled_at.is_some() { "disabled" } else { "active" };
                println!(
                    "{:>5}  {:<24} {:<10} {:<32} {}",
                    u.id,
                    u.username,
                    state,
                    u.roles.join(","),
                    u.email.unwrap_or_default()
                );
            }
        }
        UserCommand::Disable { username, enable } => {
            let user = find(username).await?;
            users::set_disabled(pool, user.id, !enable).await?;
            println!("user {} {}", user.username, if enable { "enabled" } else { "disabled" });
        }
        UserCommand::ResetPassword { username } => {
            let user = find(username).await?;
            users::set_password(pool, user.id, &password).await?;
            println!("password of {} changed; its sessions have ended", user.username);
        }
    }
    Ok(())
}

fn db_command(config: &Config, command: DbCommand) -> anyhow::Result<()> {
    if config.database_url.is_some() {
        anyhow::bail!("DATABASE_URL is set: there is no embedded cluster to manage");
    }
    let cluster = Cluster::for_data_dir(&config.data_dir)?;
    match command {
        DbCommand::Start => {
            let running = cluster.ensure_running()?;
            let cluster = running.detach();
            println!("{}", cluster.url(geoportal::db::EMBEDDED_DATABASE));
        }
        DbCommand::Stop => cluster.stop()?,
        DbCommand::Url => println!("{}", cluster.url(geoportal::db::EMBEDDED_DATABASE)),
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        anyhow::bail!("no password on stdin (pipe it in: echo 'secret' | geoportal user add …)");
    }
    Ok(password)
}
