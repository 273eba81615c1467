//! Commands inside a test namespace: how they enter it ([`Enter`]) and the
//! builder that runs them once or spawns them ([`HostCommand`]).

use std::ffi::{OsStr, OsString};
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::Result;

use crate::netns::netns_path;
use crate::process::{Proc, RUN_TIMEOUT, check_success, run_bounded};

/// How a command enters the namespace.
///
/// | method | network | `/sys` | `/sys/fs/bpf` |
/// | --- | --- | --- | --- |
/// | [`Enter::Nsenter`] | the namespace's | the root namespace's (`/sys/class/net` lists the *root* interfaces) | visible (pinned maps and links work) |
/// | [`Enter::IpNetnsExec`] | the namespace's | remounted for the namespace | hidden (a fresh mount namespace with a new sysfs) |
///
/// The default is `Nsenter` because the `ha` daemon pins BPF objects. Use
/// `IpNetnsExec` for programs that read `/sys/class/net` (keepalived, frr)
/// or need `/etc/netns/NAME` overrides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Enter {
    /// `nsenter --net=/run/netns/NAME -- program args…`
    #[default]
    Nsenter,
    /// `ip netns exec NAME program args…`
    IpNetnsExec,
}

/// A command to run inside one namespace; build it with
/// [`crate::Host::command`] and finish with [`run`](Self::run),
/// [`run_ok`](Self::run_ok) or [`spawn`](Self::spawn).
#[derive(Clone, Debug)]
pub struct HostCommand {
    ns: String,
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    enter: Enter,
    timeout: Duration,
}

impl HostCommand {
    /// A command for namespace `ns` with the default [`Enter`] method and [`RUN_TIMEOUT`].
    pub fn new(ns: &str, program: impl AsRef<OsStr>) -> Self {
        Self {
            ns: ns.to_owned(),
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            stdin: None,
            enter: Enter::default(),
            timeout: RUN_TIMEOUT,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the program.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Feeds `bytes` on standard input (default: `/dev/null`).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Chooses how the command enters the namespace.
    pub fn enter(mut self, enter: Enter) -> Self {
        self.enter = enter;
        self
    }

    /// Bounds [`run`](Self::run) / [`run_ok`](Self::run_ok); the command is
    /// killed and an error returned when it takes longer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `ns: program args…`, for messages.
    pub fn label(&self) -> String {
        let mut s = format!("{}: {}", self.ns, self.program.to_string_lossy());
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    fn command(&self) -> Command {
        let mut cmd = match self.enter {
            Enter::Nsenter => {
                let mut c = Command::new("nsenter");
                let mut net = OsString::from("--net=");
                net.push(netns_path(&self.ns));
                c.arg(net).arg("--");
                c
            }
            Enter::IpNetnsExec => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &self.ns]);
                c
            }
        };
        cmd.arg(&self.program).args(&self.args);
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Starts the program and returns its guard.
    pub fn spawn(&self) -> Result<Proc> {
        Proc::spawn(self.command(), self.label(), self.stdin.as_deref())
    }

    /// Runs the program to completion (bounded by [`timeout`](Self::timeout))
    /// and returns its exit status and output, whatever the status.
    ///
    /// Anything the program leaves behind in its process group is killed; use
    /// [`spawn`](Self::spawn) for daemons.
    pub fn run(&self) -> Result<Output> {
        run_bounded(
            self.command(),
            self.label(),
            self.stdin.as_deref(),
            self.timeout,
        )
    }

    /// Like [`run`](Self::run), but a non-zero exit is an error that quotes
    /// stdout and stderr.
    pub fn run_ok(&self) -> Result<Output> {
        let out = self.run()?;
        check_success(&self.label(), out)
    }
}
