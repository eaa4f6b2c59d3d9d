//! The real `geoportal` binary as a child process: `serve` on a free loopback
//! port, or a CLI subcommand on a test database.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_geoportal");

/// How long a server may take to answer `/health` with 200: the first start
/// on a fresh database migrates it, and CI machines are slow.
const HEALTHY_WITHIN: Duration = Duration::from_secs(120);

/// A loopback port nobody listens on at the moment of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `geoportal` run from the crate root (for `layers/`, `styles/`, `web/`) on
/// `database_url`, logging at `warn`. Add `GEOPORTAL_DATA_DIR`, arguments and
/// stdio as the test needs; a later `.env` of the same name wins.
pub fn command(database_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", database_url)
        .env("GEOPORTAL_LOG", "warn");
    cmd
}

/// Whether `GET /health` on `port` answers 200 now.
fn healthy(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    // A server that accepts but never answers must not hang the wait.
    if s.set_read_timeout(Some(Duration::from_secs(5))).is_err()
        || write!(
            s,
            "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 200")
}

/// How to start `geoportal serve`; see [`Served::builder`].
pub struct Serve {
    database_url: String,
    log_level: String,
    data_dir: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    env_remove: Vec<OsString>,
    args: Vec<OsString>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
}

impl Serve {
    /// `GEOPORTAL_LOG` (default `warn`).
    pub fn log_level(mut self, level: &str) -> Serve {
        self.log_level = level.to_string();
        self
    }

    /// A data directory the test owns, instead of a fresh temporary one.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Serve {
        self.data_dir = Some(dir.into());
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Serve {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn envs(mut self, vars: &[(&str, &str)]) -> Serve {
        for (k, v) in vars {
            self = self.env(*k, *v);
        }
        self
    }

    pub fn env_remove(mut self, key: impl Into<OsString>) -> Serve {
        self.env_remove.push(key.into());
        self
    }

    /// Arguments after `serve --listen …`.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Serve {
        self.args.push(arg.into());
        self
    }

    /// Default: discarded.
    pub fn stdout(mut self, stdout: Stdio) -> Serve {
        self.stdout = Some(stdout);
        self
    }

    /// Default: `server.log` in the data directory (see [`Served::log_text`]).
    pub fn stderr(mut self, stderr: Stdio) -> Serve {
        self.stderr = Some(stderr);
        self
    }

    /// Spawns the server and waits until `/health` answers 200; panics with
    /// the exit status and log when it exits or does not get there in time.
    pub fn start(self) -> Served {
        let (temp, data_dir) = match self.data_dir {
            Some(dir) => (None, dir),
            None => {
                let temp = tempfile::tempdir().unwrap();
                let dir = temp.path().to_path_buf();
                (Some(temp), dir)
            }
        };
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(&self.args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("DATABASE_URL", &self.database_url)
            .env("GEOPORTAL_DATA_DIR", &data_dir)
            .env("GEOPORTAL_LOG", &self.log_level)
            .stdin(Stdio::null())
            .stdout(self.stdout.unwrap_or_else(Stdio::null));
        for key in &self.env_remove {
            cmd.env_remove(key);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let log = match self.stderr {
            Some(stderr) => {
                cmd.stderr(stderr);
                None
            }
            None => {
                std::fs::create_dir_all(&data_dir).unwrap();
                let log = data_dir.join("server.log");
                cmd.stderr(std::fs::File::create(&log).unwrap());
                Some(log)
            }
        };
        let mut served = Served {
            child: cmd.spawn().unwrap(),
            port,
            data_dir,
            log,
            _temp: temp,
        };
        let start = Instant::now();
        while !healthy(port) {
            if let Some(status) = served.child.try_wait().unwrap() {
                panic!(
                    "geoportal serve exited ({status}) before it was healthy\n{}",
                    served.log_text()
                );
            }
            assert!(
                start.elapsed() < HEALTHY_WITHIN,
                "geoportal serve on port {port} did not answer /health with 200 within {HEALTHY_WITHIN:?}\n{}",
                served.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        served
    }
}

/// A running `geoportal serve`; killed and reaped on drop.
pub struct Served {
    /// For signals and for reading piped stdout/stderr.
    pub child: Child,
    pub port: u16,
    data_dir: PathBuf,
    log: Option<PathBuf>,
    _temp: Option<tempfile::TempDir>,
}

impl Served {
    /// `geoportal serve` on `database_url` with a fresh data directory, `warn`
    /// logging into `server.log` there, stdout discarded.
    pub fn builder(database_url: &str) -> Serve {
        Serve {
            database_url: database_url.to_string(),
            log_level: "warn".to_string(),
            data_dir: None,
            env: Vec::new(),
            env_remove: Vec::new(),
            args: Vec::new(),
            stdout: None,
            stderr: None,
        }
    }

    pub fn start(database_url: &str) -> Served {
        Served::builder(database_url).start()
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The log so far when stderr goes to `server.log`; else a note saying where it went.
    pub fn log_text(&self) -> String {
        match &self.log {
            Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
            None => "(server stderr not captured to a file)".to_string(),
        }
    }

    /// SIGTERM (graceful shutdown, log flushed); waits for the exit.
    pub fn sigterm(&mut self) -> ExitStatus {
        let killed = Command::new("kill").arg(self.child.id().to_string()).status().unwrap();
        assert!(killed.success());
        self.child.wait().unwrap()
    }

    /// SIGKILL: no shutdown at all; waits for the exit.
    pub fn sigkill(&mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Harmless when already reaped: std no longer signals a reaped pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
