//! A real MariaDB server (Debian 12's mariadbd 10.11) in a node's namespace:
//! the database of the MySQL master-master pairs `ha` is meant to front.
//!
//! Like a user's, it runs detached (`setsid -f mariadbd --defaults-file=…`)
//! with its pid file, socket, logs and data under its own directory, so a
//! check or notify script can stop and start it with the command lines
//! [`Mariadb::stop_cmd`] and [`Mariadb::start_cmd`] give. A client logs in over
//! TCP as [`MARIADB_USER`] (created by the server's init file on every start).
//!
//! Cost: `mariadb-install-db` takes 1.5–4 s on the 2-core test VM (most of it
//! InnoDB's bootstrap, not CPU), the server is ready 0.2 s after starting and
//! stops in 0.1 s; [`Mariadb::startup`] reports the figures of each instance.
//! InnoDB's redo log and buffer pool are shrunk (4 MiB, 16 MiB) so a data
//! directory is ~22 MiB instead of ~114 MiB.
//!
//! Binding to a VIP the node does not hold yet needs `ip_nonlocal_bind`
//! (see [`Host::sysctl`]); binding to `0.0.0.0` needs nothing.

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::detached::{Detached, plain_path, sh_path};
use crate::host::Host;
use crate::wait_until;

/// Debian's server binary (package `mariadb-server`).
pub const MARIADBD_BIN: &str = "/usr/sbin/mariadbd";
/// The account a client logs in with over TCP, from any host: `'ha'@'%'`.
pub const MARIADB_USER: &str = "ha";
/// Its password.
pub const MARIADB_PASSWORD: &str = "ha-test";
/// Bound on `mariadb-install-db`.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the server becoming ready (crash recovery after a kill included).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on a clean shutdown.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on one client command.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connect timeout the client is given, in seconds.
const CONNECT_TIMEOUT_S: &str = "2";

/// How long one instance took to come up.
#[derive(Clone, Copy, Debug)]
pub struct Startup {
    /// `mariadb-install-db` (creating the system tables).
    pub install: Duration,
    /// From starting mariadbd until a client could log in.
    pub ready: Duration,
}

/// One mariadbd in a node's namespace; shut down (SIGTERM, then SIGKILL) on
/// drop. Its files live in the directory given to [`start`](Self::start),
/// which the test owns and removes.
#[derive(Debug)]
pub struct Mariadb {
    host: Host,
    dir: PathBuf,
    bind: SocketAddr,
    daemon: Detached,
    startup: Startup,
}

impl Mariadb {
    /// Creates a data directory in `dir/data`, starts mariadbd on `host`
    /// listening on `bind:port`, and waits (bounded) until [`MARIADB_USER`]
    /// can log in. `dir` is created if missing and should belong to this
    /// server alone.
    pub fn start(host: &Host, dir: &Path, bind: IpAddr, port: u16) -> Result<Mariadb> {
        plain_path(dir)?;
        for sub in ["data", "tmp"] {
            fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("creating {}", dir.join(sub).display()))?;
        }
        let mut db = Mariadb {
            host: host.clone(),
            dir: dir.to_path_buf(),
            bind: SocketAddr::new(bind, port),
            daemon: Detached {
                pid_file: dir.join("mariadbd.pid"),
                comm: "mariadbd",
                ns: host.ns.clone(),
                error_log: dir.join("error.log"),
            },
            startup: Startup {
                install: Duration::ZERO,
                ready: Duration::ZERO,
            },
        };
        db.write_files()?;
        let t0 = Instant::now();
        db.install()?;
        db.startup.install = t0.elapsed();
        let t1 = Instant::now();
        db.start_again()?;
        db.startup.ready = t1.elapsed();
        Ok(db)
    }

    /// How long installing and starting took.
    pub fn startup(&self) -> Startup {
        self.startup
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.bind.port()
    }

    /// `dir/my.cnf`: every server option (`[mariadbd]` section).
    pub fn defaults_file(&self) -> PathBuf {
        self.dir.join("my.cnf")
    }

    /// `dir/client.cnf`: user, password, host and port for `mariadb` and
    /// `mariadb-admin` (`--defaults-file=` must be their first option).
    pub fn client_file(&self) -> PathBuf {
        self.dir.join("client.cnf")
    }

    /// `dir/mariadbd.pid`.
    pub fn pid_file(&self) -> PathBuf {
        self.daemon.pid_file.clone()
    }

    /// `dir/mariadbd.sock`.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("mariadbd.sock")
    }

    /// `dir/error.log`.
    pub fn error_log_path(&self) -> PathBuf {
        self.daemon.error_log.clone()
    }

    /// The server's log so far, for failure messages.
    pub fn error_log(&self) -> String {
        self.daemon.log()
    }

    /// The command line that starts this server detached (it returns at
    /// once; the server is ready a moment later), for a script in the node's
    /// namespace: `setsid -f /usr/sbin/mariadbd --defaults-file=DIR/my.cnf …`.
    pub fn start_cmd(&self) -> String {
        format!(
            "setsid -f {MARIADBD_BIN} --defaults-file={} </dev/null >>{} 2>&1",
            sh_path(&self.defaults_file()),
            sh_path(&self.dir.join("mariadbd.out"))
        )
    }

    /// The command line that shuts it down cleanly and waits for it:
    /// `mariadb-admin --defaults-file=DIR/client.cnf --socket=… shutdown`.
    pub fn stop_cmd(&self) -> String {
        format!(
            "mariadb-admin --defaults-file={} --protocol=socket shutdown",
            sh_path(&self.client_file())
        )
    }

    /// A check a script can run: `mariadb-admin … ping` over TCP, non-zero
    /// unless the server answers within two seconds.
    pub fn check_cmd(&self) -> String {
        format!(
            "mariadb-admin --defaults-file={} ping",
            sh_path(&self.client_file())
        )
    }

    /// The address a client connects to: the bind address, or the node's own
    /// address when the server listens on all addresses.
    pub fn reach(&self) -> SocketAddr {
        let ip = match self.bind.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(self.host.ipv4),
            ip => ip,
        };
        SocketAddr::new(ip, self.bind.port())
    }

    /// The server's pid, if it is running.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid_u32()
    }

    /// mariadbd is running (pid file names a live mariadbd in this namespace).
    pub fn is_running(&self) -> bool {
        self.daemon.is_running()
    }

    /// A clean shutdown ([`stop_cmd`](Self::stop_cmd)), waiting (bounded)
    /// until the server has exited.
    pub fn stop(&self) -> Result<()> {
        self.host
            .command("sh")
            .args(["-c", &self.stop_cmd()])
            .timeout(STOP_TIMEOUT)
            .run_ok()
            .with_context(|| self.error_log())?;
        self.daemon
            .wait_gone(STOP_TIMEOUT)
            .with_context(|| self.error_log())
    }

    /// SIGKILL: the server crashes (InnoDB recovers on the next start).
    pub fn kill(&self) -> Result<()> {
        self.daemon.kill_all()
    }

    /// Runs [`start_cmd`](Self::start_cmd) in the node's namespace and waits
    /// (bounded) until [`MARIADB_USER`] can log in over the socket.
    pub fn start_again(&self) -> Result<()> {
        // A killed server leaves its socket file behind; mariadbd replaces it.
        // In a session of its own: the harness kills what a command leaves
        // in its process group, and `setsid -f`'s child is still in ours
        // until it has called setsid.
        self.host
            .command("sh")
            .args(["-c", &format!("setsid -w sh -c '{}'", self.start_cmd())])
            .timeout(CLIENT_TIMEOUT)
            .run_ok()?;
        self.daemon
            .wait_running(START_TIMEOUT)
            .with_context(|| self.error_log())?;
        let sock = self.socket();
        wait_until(
            &format!(
                "mariadbd in {} to accept on {}",
                self.host.ns,
                sock.display()
            ),
            START_TIMEOUT,
            || Ok(self.is_running() && UnixStream::connect(&sock).is_ok()),
        )
        .with_context(|| self.error_log())?;
        // The init file runs before the server accepts connections; this
        // proves the account works.
        self.host
            .command("mariadb")
            .arg(format!("--defaults-file={}", self.client_file().display()))
            .args(["--protocol=socket", "-N", "-B", "-e", "SELECT 1"])
            .timeout(CLIENT_TIMEOUT)
            .run_ok()
            .with_context(|| self.error_log())
            .map(drop)
    }

    /// Runs `sql` from `client`'s namespace against `addr` (this server's
    /// port) as [`MARIADB_USER`] and returns the result rows, tab-separated
    /// without column names, trimmed. An error quotes the client's message
    /// (e.g. "Can't connect to server on '198.18.7.100'").
    pub fn query(&self, client: &Host, addr: IpAddr, sql: &str) -> Result<String> {
        let out = client
            .command("mariadb")
            .args(["--no-defaults", "-h", &addr.to_string()])
            .args(["-P", &self.bind.port().to_string()])
            .args(["-u", MARIADB_USER, &format!("-p{MARIADB_PASSWORD}")])
            .arg(format!("--connect-timeout={CONNECT_TIMEOUT_S}"))
            .args(["-N", "-B", "-e", sql])
            .timeout(CLIENT_TIMEOUT)
            .run_ok()?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn install(&self) -> Result<()> {
        let data = self.dir.join("data");
        self.host
            .command("mariadb-install-db")
            .args(["--no-defaults", "--user=root"])
            .arg(format!("--datadir={}", data.display()))
            // Its own temporary directory: a starting server deletes every
            // `#sql*` file in its tmpdir (`mysql_rm_tmp_tables`), so two
            // installs sharing /tmp break each other's system tables
            // ("Unknown table 'mysql.tmp_user_sys'").
            .arg(format!("--tmpdir={}", self.dir.join("tmp").display()))
            .args([
                // root@localhost without password (and via the socket as root):
                // the harness logs in as `ha` anyway.
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ])
            .args(Self::INNODB)
            .timeout(INSTALL_TIMEOUT)
            .run_ok()
            .with_context(|| format!("mariadb-install-db into {}", data.display()))
            .map(drop)
    }

    /// Small InnoDB files: these servers hold a few rows.
    const INNODB: [&str; 2] = ["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=16M"];

    fn write_files(&self) -> Result<()> {
        let d = self.dir.to_string_lossy();
        let bind = self.bind.ip();
        let mut server = format!(
            "# Written by hatest for one test; files under {d}.
[mariadbd]
datadir={d}/data
tmpdir={d}/tmp
socket={d}/mariadbd.sock
pid-file={d}/mariadbd.pid
log-error={d}/error.log
init-file={d}/init.sql
bind-address={bind}
port={port}
user=root
skip-name-resolve
skip-log-bin
",
            port = self.bind.port()
        );
        for opt in Self::INNODB {
            server.push_str(opt.trim_start_matches("--"));
            server.push('\n');
        }
        let reach = self.reach();
        let client = format!(
            "# Written by hatest for one test.
[client]
user={MARIADB_USER}
password={MARIADB_PASSWORD}
host={}
port={}
socket={d}/mariadbd.sock
connect-timeout={CONNECT_TIMEOUT_S}
",
            reach.ip(),
            reach.port()
        );
        let init = format!(
            "CREATE USER IF NOT EXISTS '{MARIADB_USER}'@'%' IDENTIFIED BY '{MARIADB_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO '{MARIADB_USER}'@'%';
"
        );
        for (name, text) in [
            ("my.cnf", server),
            ("client.cnf", client),
            ("init.sql", init),
        ] {
            let path = self.dir.join(name);
            fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        // SIGTERM is mariadbd's clean shutdown.
        self.daemon.terminate_on_drop(STOP_TIMEOUT);
    }
}
