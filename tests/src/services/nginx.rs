//! A real nginx (Debian's `/usr/sbin/nginx`) serving one page from a node's
//! namespace: the web server a check script guards and a client reaches
//! through the VIP.
//!
//! It runs the way a user runs it: daemonized, with its pid file, logs and
//! temp files under its own directory, so a check or notify script can stop
//! and start it with the very command lines [`Nginx::stop_cmd`] and
//! [`Nginx::start_cmd`] give, and the test sees the same daemon. The page's
//! body names the node, so a client can tell which node served it.
//!
//! Binding to a VIP the node does not hold yet needs
//! `net.ipv4.ip_nonlocal_bind = 1` (or `net.ipv6.ip_nonlocal_bind`) in the
//! node's namespace ([`Host::sysctl`]); listening on `0.0.0.0` needs nothing.

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::detached::{Detached, listening, plain_path, sh_path};
use crate::host::Host;
use crate::wait_until;

/// Debian's nginx binary (package `nginx-light`).
pub const NGINX_BIN: &str = "/usr/sbin/nginx";
/// Bound on nginx writing its pid file and listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on nginx exiting after `-s stop` (fast shutdown).
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on one command line run in the node's namespace.
const CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// One nginx in a node's namespace, stopped (SIGTERM, then SIGKILL to its
/// process group) on drop. Its files live in the directory given to
/// [`start`](Self::start), which the test owns and removes.
#[derive(Debug)]
pub struct Nginx {
    host: Host,
    dir: PathBuf,
    /// Where it listens (the unspecified address for "all addresses").
    listen: SocketAddr,
    daemon: Detached,
}

impl Nginx {
    /// Writes `dir/nginx.conf` and `dir/www/index.html` (holding `body`),
    /// starts nginx on `host` listening on `listen:port` and waits (bounded)
    /// until it accepts connections. `dir` is created if missing and should
    /// belong to this nginx alone.
    pub fn start(host: &Host, dir: &Path, listen: IpAddr, port: u16, body: &str) -> Result<Nginx> {
        plain_path(dir)?;
        for sub in ["www", "tmp"] {
            fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("creating {}", dir.join(sub).display()))?;
        }
        let nginx = Nginx {
            host: host.clone(),
            dir: dir.to_path_buf(),
            listen: SocketAddr::new(listen, port),
            daemon: Detached {
                pid_file: dir.join("nginx.pid"),
                comm: "nginx",
                ns: host.ns.clone(),
                error_log: dir.join("error.log"),
            },
        };
        nginx.set_body(body)?;
        let conf = nginx.conf_path();
        fs::write(&conf, nginx.conf()).with_context(|| format!("writing {}", conf.display()))?;
        nginx.start_again()?;
        Ok(nginx)
    }

    /// `dir/nginx.conf`.
    pub fn conf_path(&self) -> PathBuf {
        self.dir.join("nginx.conf")
    }

    /// `dir/nginx.pid`, written by the master process.
    pub fn pid_file(&self) -> PathBuf {
        self.daemon.pid_file.clone()
    }

    /// `dir/error.log`.
    pub fn error_log_path(&self) -> PathBuf {
        self.daemon.error_log.clone()
    }

    /// The error log so far, for failure messages.
    pub fn error_log(&self) -> String {
        self.daemon.log()
    }

    /// The command line that starts this nginx (it daemonizes and returns),
    /// for a script that runs in the node's namespace:
    /// `/usr/sbin/nginx -p DIR/ -e DIR/error.log -c DIR/nginx.conf`.
    pub fn start_cmd(&self) -> String {
        format!(
            "{NGINX_BIN} -p {}/ -e {} -c {}",
            sh_path(&self.dir),
            sh_path(&self.error_log_path()),
            sh_path(&self.conf_path())
        )
    }

    /// The command line that stops it (fast shutdown, through the pid file):
    /// [`start_cmd`](Self::start_cmd) `-s stop`. It returns at once; nginx
    /// exits shortly after.
    pub fn stop_cmd(&self) -> String {
        format!("{} -s stop", self.start_cmd())
    }

    /// A check a script can run: `curl` exits non-zero unless the page is served
    /// within one second.
    pub fn check_cmd(&self) -> String {
        format!("curl -fsS -o /dev/null --max-time 1 {}", self.url())
    }

    /// The page's URL as a client reaches it: the listen address, or the
    /// node's own address when nginx listens on all addresses.
    pub fn url(&self) -> String {
        format!("http://{}/", self.reach())
    }

    /// The address a client connects to (see [`url`](Self::url)).
    pub fn reach(&self) -> SocketAddr {
        let ip = match self.listen.ip() {
            IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(self.host.ipv4),
            IpAddr::V6(a) if a.is_unspecified() => self
                .host
                .ipv6
                .map_or(IpAddr::V4(self.host.ipv4), IpAddr::V6),
            ip => ip,
        };
        SocketAddr::new(ip, self.listen.port())
    }

    /// Replaces the page's body (served from the next request on).
    pub fn set_body(&self, body: &str) -> Result<()> {
        let page = self.dir.join("www/index.html");
        fs::write(&page, body).with_context(|| format!("writing {}", page.display()))
    }

    /// The master process's pid, if nginx is running.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid_u32()
    }

    /// The master process is running (pid file names a live nginx in this namespace).
    pub fn is_running(&self) -> bool {
        self.daemon.is_running()
    }

    /// Runs [`stop_cmd`](Self::stop_cmd) in the node's namespace and waits
    /// (bounded) until the master has exited.
    pub fn stop(&self) -> Result<()> {
        self.run_line(&self.stop_cmd())?;
        self.daemon
            .wait_gone(STOP_TIMEOUT)
            .with_context(|| self.error_log())
    }

    /// SIGKILL to the master and its workers: nginx crashes (the pid file stays).
    pub fn kill(&self) -> Result<()> {
        self.daemon.kill_all()
    }

    /// Runs [`start_cmd`](Self::start_cmd) in the node's namespace and waits
    /// (bounded) until nginx listens on its port (a listening socket, not a
    /// connection: the address may be a VIP the node does not hold yet).
    pub fn start_again(&self) -> Result<()> {
        // In a session of its own: the harness kills what a command leaves
        // in its process group, and nginx's daemon could still be in ours
        // for a moment after the command returns (before its setsid).
        self.run_line(&format!("setsid -w sh -c '{}'", self.start_cmd()))?;
        let pid = self
            .daemon
            .wait_running(START_TIMEOUT)
            .with_context(|| self.error_log())?;
        let port = self.listen.port();
        wait_until(
            &format!("nginx in {} to listen on port {port}", self.host.ns),
            START_TIMEOUT,
            || Ok(listening(pid, port)),
        )
        .with_context(|| self.error_log())
    }

    fn run_line(&self, line: &str) -> Result<()> {
        self.host
            .command("sh")
            .args(["-c", line])
            .timeout(CMD_TIMEOUT)
            .run_ok()
            .map(drop)
    }

    /// The configuration: one worker, every path under `dir`, root user (the
    /// test's files are root's), the page at `/`.
    fn conf(&self) -> String {
        let d = self.dir.to_string_lossy();
        let listen = match self.listen.ip() {
            IpAddr::V4(a) if a.is_unspecified() => self.listen.port().to_string(),
            IpAddr::V6(a) if a.is_unspecified() => {
                format!("[::]:{} ipv6only=off", self.listen.port())
            }
            _ => self.listen.to_string(),
        };
        format!(
            "# Written by hatest for one test; files under {d}.
daemon on;
master_process on;
worker_processes 1;
user root root;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{
    worker_connections 64;
}}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type text/plain;
    keepalive_timeout 0;
    server {{
        listen {listen};
        root {d}/www;
        index index.html;
    }}
}}
"
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.daemon.terminate_on_drop(STOP_TIMEOUT);
    }
}
