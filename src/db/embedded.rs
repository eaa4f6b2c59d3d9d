//! A private PostgreSQL + PostGIS cluster started from the system's binaries.
//!
//! Policy: the cluster is *reused* if it is already running (another
//! `geoportal` process, or one killed without a clean stop), and it is
//! stopped on exit only by the process that started it.
//!
//! `initdb` and `postgres` refuse to run as root. When we run as root the
//! cluster runs as the `postgres` system user and lives under
//! `/var/lib/geoportal/<hash of the data directory>/`, because a checkout under
//! `/root` (mode 0700) cannot be entered by that user; `<data dir>/postgres`
//! is then a symlink to it. Otherwise it lives in `<data dir>/postgres/`.
//! It listens on a unix socket only (`listen_addresses = ''`), in its own
//! directory, so it never clashes with a system PostgreSQL.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;

/// The unprivileged user the cluster runs as when we are root.
const SERVICE_USER: &str = "postgres";
/// Socket paths are limited to 107 bytes (`sun_path`).
const MAX_SOCKET_PATH: usize = 107;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries found (looked in {0}); install postgresql-15 and postgresql-15-postgis-3, or set DATABASE_URL"
    )]
    NoBinaries(String),
    #[error("PostGIS is not installed for PostgreSQL {0}: install postgresql-{0}-postgis-3, or set DATABASE_URL")]
    NoPostgis(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("the socket path {0} is longer than {MAX_SOCKET_PATH} bytes")]
    SocketPathTooLong(PathBuf),
    #[error("user `{SERVICE_USER}` does not exist; it is needed to run PostgreSQL as root")]
    NoServiceUser,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Tuning for the kind of cluster: a test cluster trades durability for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    /// fsync off: a crash may lose the cluster, which is fine for tests.
    Ephemeral,
}

/// Where a cluster lives and how to run its binaries.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub base: PathBuf,
    pub pgdata: PathBuf,
    pub socket_dir: PathBuf,
    pub log_file: PathBuf,
    bin_dir: PathBuf,
    /// Run the server binaries as this user (we are root).
    run_as: Option<(u32, u32)>,
    durability: Durability,
}

/// A running cluster; stops it on drop if this process started it.
#[derive(Debug)]
pub struct RunningCluster {
    pub cluster: Cluster,
    started_here: bool,
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn short_hash(p: &Path) -> String {
    let digest = Sha256::digest(p.as_os_str().as_encoded_bytes());
    hex::encode(&digest[..8])
}

/// uid and gid of a system user, from /etc/passwd.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

/// The newest PostgreSQL under /usr/lib/postgresql that has PostGIS, or
/// `GEOPORTAL_PG_BIN`.
fn find_bin_dir() -> Result<PathBuf, EmbeddedError> {
    if let Ok(dir) = std::env::var("GEOPORTAL_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<u32> = std::fs::read_dir(root)
        .map_err(|_| EmbeddedError::NoBinaries(root.display().to_string()))?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|v: &u32| root.join(v.to_string()).join("bin/initdb").exists())
        .collect();
    versions.sort_unstable();
    let newest = *versions
        .last()
        .ok_or_else(|| EmbeddedError::NoBinaries(root.display().to_string()))?;
    for v in versions.iter().rev() {
        let control = format!("/usr/share/postgresql/{v}/extension/postgis.control");
        if Path::new(&control).exists() {
            return Ok(root.join(v.to_string()).join("bin"));
        }
    }
    Err(EmbeddedError::NoPostgis(newest.to_string()))
}

impl Cluster {
    /// The cluster that belongs to a data directory.
    pub fn for_data_dir(data_dir: &Path) -> Result<Cluster, EmbeddedError> {
        std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let data_dir = data_dir.canonicalize().map_err(io_err(data_dir))?;
        let base = if running_as_root() {
            PathBuf::from("/var/lib/geoportal").join(short_hash(&data_dir))
        } else {
            data_dir.join("postgres")
        };
        let cluster = Cluster::at(base, Durability::Durable)?;
        if running_as_root() {
            let link = data_dir.join("postgres");
            if std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(&cluster.base, &link).map_err(io_err(&link))?;
            }
        }
        Ok(cluster)
    }

    /// A cluster at an explicit base directory (tests use one under /tmp).
    pub fn at(base: PathBuf, durability: Durability) -> Result<Cluster, EmbeddedError> {
        let bin_dir = find_bin_dir()?;
        let run_as = if running_as_root() {
            Some(user_ids(SERVICE_USER).ok_or(EmbeddedError::NoServiceUser)?)
        } else {
            None
        };
        let mut socket_dir = base.join("run");
        if socket_dir.join(".s.PGSQL.5432").as_os_str().len() > MAX_SOCKET_PATH {
            socket_dir = std::env::temp_dir().join(format!("geoportal-{}", short_hash(&base)));
        }
        if socket_dir.join(".s.PGSQL.5432").as_os_str().len() > MAX_SOCKET_PATH {
            return Err(EmbeddedError::SocketPathTooLong(socket_dir));
        }
        Ok(Cluster {
            pgdata: base.join("pgdata"),
            log_file: base.join("postgresql.log"),
            base,
            socket_dir,
            bin_dir,
            run_as,
            durability,
        })
    }

    /// Connection options for a database of this cluster (unix socket).
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .username("postgres")
            .database(database)
    }

    /// A libpq URL (for pg_dump, psql and the like).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://postgres@localhost/{database}?host={}",
            self.socket_dir.display()
        )
    }

    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<Output, EmbeddedError> {
        let exe = self.bin(program);
        let mut cmd = if self.run_as.is_some() {
            let mut c = Command::new("runuser");
            c.args(["-u", SERVICE_USER, "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        // The server user may not be allowed into our working directory.
        cmd.args(args).current_dir("/");
        let output = cmd.output().map_err(io_err(&exe))?;
        Ok(output)
    }

    fn run_ok(&self, program: &str, args: &[&str]) -> Result<Output, EmbeddedError> {
        let output = self.run(program, args)?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(EmbeddedError::Command {
                command: format!("{program} {}", args.join(" ")),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    /// Creates a directory owned by the server user, private to it.
    fn make_owned_dir(&self, dir: &Path) -> Result<(), EmbeddedError> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid)).map_err(io_err(dir))?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_err(dir))
    }

    fn is_initialised(&self) -> bool {
        self.pgdata.join("PG_VERSION").exists()
    }

    pub fn is_running(&self) -> bool {
        self.is_initialised()
            && self
                .run("pg_ctl", &["status", "-D", &self.pgdata.to_string_lossy()])
                .is_ok_and(|o| o.status.success())
    }

    fn init(&self) -> Result<(), EmbeddedError> {
        let pgdata = self.pgdata.to_string_lossy();
        self.run_ok(
            "initdb",
            &[
                "-D",
                &pgdata,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        )?;
        let mut conf = format!(
            "\n# geoportal: unix socket only, private directory\nlisten_addresses = ''\nunix_socket_directories = '{}'\nmax_connections = 200\nshared_buffers = 256MB\nwork_mem = 16MB\nmaintenance_work_mem = 256MB\n",
            self.socket_dir.display()
        );
        if self.durability == Durability::Ephemeral {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let conf_path = self.pgdata.join("postgresql.auto.conf");
        // postgresql.auto.conf belongs to the server user; append as that user.
        let existing = std::fs::read_to_string(&conf_path).map_err(io_err(&conf_path))?;
        std::fs::write(&conf_path, existing + &conf).map_err(io_err(&conf_path))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&conf_path, Some(uid), Some(gid)).map_err(io_err(&conf_path))?;
        }
        Ok(())
    }

    /// Initialises the cluster if needed and starts it unless it runs already.
    /// Concurrent callers are serialised by a lock file.
    pub fn ensure_running(self) -> Result<RunningCluster, EmbeddedError> {
        self.make_owned_dir(&self.base)?;
        let lock_path = self.base.join("lock");
        let lock = std::fs::File::create(&lock_path).map_err(io_err(&lock_path))?;
        lock.lock().map_err(io_err(&lock_path))?;

        if !self.is_initialised() {
            tracing::info!(pgdata = %self.pgdata.display(), "initialising the embedded PostgreSQL cluster");
            self.init()?;
        }
        if self.is_running() {
            tracing::info!(socket = %self.socket_dir.display(), "reusing the running embedded PostgreSQL");
            return Ok(RunningCluster {
                cluster: self,
                started_here: false,
            });
        }
        self.make_owned_dir(&self.socket_dir)?;
        let pgdata = self.pgdata.to_string_lossy();
        let log = self.log_file.to_string_lossy();
        self.run_ok("pg_ctl", &["start", "-D", &pgdata, "-l", &log, "-w", "-t", "120"])?;
        tracing::info!(socket = %self.socket_dir.display(), "embedded PostgreSQL started");
        Ok(RunningCluster {
            cluster: self,
            started_here: true,
        })
    }

    pub fn stop(&self) -> Result<(), EmbeddedError> {
        if self.is_running() {
            let pgdata = self.pgdata.to_string_lossy();
            self.run_ok("pg_ctl", &["stop", "-D", &pgdata, "-m", "fast", "-w", "-t", "120"])?;
            tracing::info!("embedded PostgreSQL stopped");
        }
        Ok(())
    }
}

impl RunningCluster {
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// Keep the cluster running after this process exits.
    pub fn detach(mut self) -> Cluster {
        self.started_here = false;
        self.cluster.clone()
    }
}

impl Drop for RunningCluster {
    fn drop(&mut self) {
        if self.started_here
            && let Err(e) = self.cluster.stop()
        {
            tracing::error!(error = %e, "could not stop the embedded PostgreSQL");
        }
    }
}

/// A PostgreSQL client binary (pg_dump, pg_restore, psql) for a server we did
/// not start: the newest installed one, which can talk to older servers.
pub fn client_bin(name: &str) -> PathBuf {
    match find_bin_dir() {
        Ok(dir) => dir.join(name),
        Err(_) => PathBuf::from(name),
    }
}
