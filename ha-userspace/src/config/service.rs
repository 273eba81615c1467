//! What the VIP follows: health checks, tracked interfaces, files and
//! processes, notify scripts, sync groups and keepalived's `virtual_server`
//! checkers, as the daemon consumes them.
//!
//! keepalived declares a check once (`vrrp_script NAME { … }`,
//! `track_file NAME { … }`, `vrrp_track_process NAME { … }`) and each
//! instance names the ones it follows (`track_script { NAME weight N }`), so
//! one check runs once for every instance that tracks it. The model keeps that
//! split: [`Check`], [`TrackFile`] and [`TrackProcess`] live at the top of the
//! [`Config`](super::Config), and an instance holds [`TrackRef`]s to them.
//!
//! Defaults are keepalived 2.2.7's (`vrrp_script`: interval 1 s, rise 1,
//! fall 1, weight 0; `track_file`: weight 1; checker: `delay_loop` 60 s,
//! `connect_timeout` 5 s, `retry` 1, `delay_before_retry` 1 s).

use std::{net::IpAddr, time::Duration};

use serde::{Deserialize, Serialize};

use super::duration_serde::{millis, opt_millis};

/// A program to run, split into its arguments the way keepalived splits a
/// script line (no shell unless the line names one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// Program and arguments; the program is an absolute path or looked up
    /// in `PATH` as keepalived does.
    pub argv: Vec<String>,
    /// Run as this user (keepalived's per-script `user USER [GROUP]`);
    /// `None`: the global `script_user`, else root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Run with this group; `None`: the user's primary group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Command {
    /// `argv` run as the default user and group (the global `script_user`,
    /// else root).
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Command {
        Command {
            argv: argv.into_iter().map(Into::into).collect(),
            user: None,
            group: None,
        }
    }
}

/// A named pass/fail check (keepalived's `vrrp_script`, or a built-in probe).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The name instances track it by.
    pub name: String,
    /// What is checked.
    pub probe: Probe,
    /// Time between the starts of two runs. keepalived's default: 1 s.
    #[serde(default = "one_second", rename = "interval_ms", with = "millis")]
    pub interval: Duration,
    /// A run that takes longer has failed (a script is killed with its
    /// process group). Default: the interval, as keepalived.
    #[serde(
        default,
        rename = "timeout_ms",
        with = "opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    /// Successes in a row that turn a failed check good. Default 1.
    #[serde(default = "one")]
    pub rise: u32,
    /// Failures in a row that turn a good check failed. Default 1.
    #[serde(default = "one")]
    pub fall: u32,
    /// Priority change for the instances that track it without a weight of
    /// their own (see [`TrackRef::weight`]); 0 means FAULT on failure.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i32,
    /// keepalived's `weight N reverse`: the weight applies the other way round.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reverse: bool,
    /// Start as failed rather than good (keepalived's `init_fail`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub init_fail: bool,
}

/// What a [`Check`] (or a real server's checker) probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Probe {
    /// Run a program; exit status 0 is success (keepalived's `script`,
    /// `MISC_CHECK`).
    Script(Command),
    /// Open a TCP connection (keepalived's `TCP_CHECK`), built in.
    Tcp {
        /// Address to connect to.
        addr: IpAddr,
        /// Port to connect to.
        port: u16,
        /// Source address to bind (keepalived's `bindto`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bind: Option<IpAddr>,
    },
    /// An HTTP or HTTPS GET (keepalived's `HTTP_GET` / `SSL_GET`), built in.
    Http {
        /// The full URL, `http://…` or `https://…`.
        url: String,
        /// Status codes that pass; empty means any 2xx (keepalived's default
        /// when a `url` block names no `status_code`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        status: Vec<u16>,
        /// MD5 of the body as lowercase hex (keepalived's `digest`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        /// Do not verify the server's certificate (keepalived never does).
        #[serde(default, skip_serializing_if = "is_false")]
        insecure: bool,
    },
}

/// keepalived's `track_file NAME { file PATH; weight N; init_file [V] }`:
/// the integer in the file, times the weight, is added to the priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackFile {
    /// The name instances track it by.
    pub name: String,
    /// The file holding the value (watched with inotify).
    pub path: std::path::PathBuf,
    /// Multiplier of the value. keepalived's default: 1.
    #[serde(default = "one_i32")]
    pub weight: i32,
    /// keepalived's `reverse`: the value counts negatively.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reverse: bool,
    /// keepalived's `init_file [VALUE] [overwrite]`: create the file with
    /// this value when it does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<i64>,
    /// keepalived's `init_file … overwrite`: write [`TrackFile::init`] at
    /// start-up even when the file exists (a regular file only; not on a
    /// reload).
    #[serde(default, skip_serializing_if = "is_false")]
    pub init_overwrite: bool,
}

/// keepalived's `vrrp_track_process NAME { process; param_match; quorum;
/// quorum_max; delay; weight }`: up while enough processes run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackProcess {
    /// The name instances track it by.
    pub name: String,
    /// The process name (`comm`, or argv[0] when longer than 15 bytes) and
    /// optionally its parameters.
    pub process: String,
    /// Parameters to compare with the command line (keepalived's
    /// `process NAME PARAMS…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    /// keepalived's `param_match`: `exact` (default), `partial` or `initial`.
    #[serde(default, skip_serializing_if = "ParamMatch::is_exact")]
    pub param_match: ParamMatch,
    /// Fewest processes for "up". Default 1.
    #[serde(default = "one")]
    pub quorum: u32,
    /// Most processes for "up". Default: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_max: Option<u32>,
    /// A change of the count must last this long before it counts
    /// (keepalived's `delay`, `delay_up`/`delay_down` folded to one).
    #[serde(
        default,
        rename = "delay_ms",
        with = "millis",
        skip_serializing_if = "Duration::is_zero"
    )]
    pub delay: Duration,
    /// Priority change for trackers without their own weight; 0 means FAULT.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i32,
    /// The weight applies the other way round.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reverse: bool,
    /// Match `process` against the full command line (argv[0]) rather
    /// than `comm` (keepalived's `full_command`; implied by parameters or
    /// `param_match`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub full_command: bool,
}

/// How [`TrackProcess::params`] compare with a command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    /// The parameters are exactly these.
    #[default]
    Exact,
    /// These words appear in order in the parameters.
    Partial,
    /// The parameters start with these.
    Initial,
}

impl ParamMatch {
    fn is_exact(&self) -> bool {
        *self == ParamMatch::Exact
    }
}

/// An instance (or sync group) following a check, interface, file or process
/// by name (keepalived's `track_script { NAME weight N reverse }` and kin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackRef {
    /// The check, file or process name, or the interface name.
    pub name: String,
    /// Overrides the tracked object's weight; for an interface the default
    /// is 0 (FAULT while down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// The weight applies the other way round (keepalived's `reverse`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub reverse: bool,
}

/// The four kinds of thing an instance tracks, as [`Tracking`] orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// `track_script`: a [`Check`] by name.
    Check,
    /// `track_interface`.
    Interface,
    /// `track_file`.
    File,
    /// `track_process`.
    Process,
}

impl TrackKind {
    /// The keepalived keyword of the block.
    pub fn keyword(self) -> &'static str {
        match self {
            TrackKind::Check => "track_script",
            TrackKind::Interface => "track_interface",
            TrackKind::File => "track_file",
            TrackKind::Process => "track_process",
        }
    }

    /// The kind of a keepalived track keyword.
    pub fn of(keyword: &str) -> Option<Self> {
        Some(match keyword {
            "track_script" => TrackKind::Check,
            "track_interface" => TrackKind::Interface,
            "track_file" => TrackKind::File,
            "track_process" => TrackKind::Process,
            _ => return None,
        })
    }

    /// The list of this kind in `t`.
    pub fn list(self, t: &Tracking) -> &Vec<TrackRef> {
        match self {
            TrackKind::Check => &t.checks,
            TrackKind::Interface => &t.interfaces,
            TrackKind::File => &t.files,
            TrackKind::Process => &t.processes,
        }
    }

    /// The list of this kind in `t`, to change.
    pub fn list_mut(self, t: &mut Tracking) -> &mut Vec<TrackRef> {
        match self {
            TrackKind::Check => &mut t.checks,
            TrackKind::Interface => &mut t.interfaces,
            TrackKind::File => &mut t.files,
            TrackKind::Process => &mut t.processes,
        }
    }

    /// All kinds.
    pub const ALL: [TrackKind; 4] = [
        TrackKind::Check,
        TrackKind::Interface,
        TrackKind::File,
        TrackKind::Process,
    ];
}

/// What an instance follows, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracking {
    /// [`Check`]s by name (keepalived's `track_script`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<TrackRef>,
    /// Interfaces by name (keepalived's `track_interface`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<TrackRef>,
    /// [`TrackFile`]s by name (keepalived's `track_file`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<TrackRef>,
    /// [`TrackProcess`]es by name (keepalived's `track_process`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<TrackRef>,
}

impl Tracking {
    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
            && self.interfaces.is_empty()
            && self.files.is_empty()
            && self.processes.is_empty()
    }
}

/// Scripts run on state changes (keepalived's `notify_*`), one after another
/// in event order. Each gets no arguments of its own beyond those in its
/// line, except `any`, which gets `INSTANCE|GROUP NAME STATE PRIORITY`
/// appended, as keepalived's `notify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// On becoming master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<Command>,
    /// On becoming backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Command>,
    /// On entering fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Command>,
    /// When the instance stops (daemon shutdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Command>,
    /// On every change, with the state appended (keepalived's `notify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Command>,
    /// A script still running after this long is killed with its process
    /// group, and the next one starts. Default 30 s.
    #[serde(
        default = "default_notify_timeout",
        rename = "timeout_ms",
        with = "millis"
    )]
    pub timeout: Duration,
}

impl Default for Notify {
    /// No scripts, and the serde default timeout (30 s): a `Notify` built in
    /// code is the same as one read from a file that leaves it out.
    fn default() -> Self {
        Notify {
            master: None,
            backup: None,
            fault: None,
            stop: None,
            any: None,
            timeout: default_notify_timeout(),
        }
    }
}

impl Notify {
    /// True when no script is configured.
    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.any.is_none()
    }
}

/// keepalived's `notify_fifo PATH` (and `notify_fifo_script`): every state
/// change as a line `INSTANCE "VI_1" MASTER 100`, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFifo {
    /// The FIFO; created when it does not exist.
    pub path: std::path::PathBuf,
    /// A program started at start-up with the FIFO's path as its argument,
    /// to read it (keepalived's `notify_fifo_script`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<Command>,
    /// Owner of a FIFO ha creates (keepalived's `notify_fifo PATH USER`);
    /// `None`: root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Group of a FIFO ha creates; `None`: the user's primary group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// keepalived's `vrrp_sync_group`: instances that change state together.
///
/// The group's own `track_script` / `track_interface` / `track_file` /
/// `track_process` are not kept here: the keepalived reader adds them to
/// every member's [`Tracking`], as keepalived 2.2.7 does
/// (`sync_group_tracking_init`), with their weights (cleared to 0, i.e.
/// FAULT, when a member has priority 255). A member in FAULT takes the whole
/// group to FAULT. Weighted tracks written on a member itself are dropped
/// (interfaces: weight 0) with a warning, as keepalived does unless the
/// group says `sync_group_tracking_weight`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncGroup {
    /// Group name, for logs, notify and the FIFO.
    pub name: String,
    /// Member instances by name; an instance is in at most one group.
    pub instances: Vec<String>,
    /// Scripts run on the group's state changes (`GROUP NAME STATE`).
    #[serde(default, skip_serializing_if = "Notify::is_empty")]
    pub notify: Notify,
}

/// keepalived's `virtual_server IP PORT { … }`, as far as ha runs it: the
/// real servers' checkers and their `notify_up` / `notify_down` scripts.
/// ha does not program IPVS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServer {
    /// The virtual address.
    pub addr: IpAddr,
    /// The virtual port.
    pub port: u16,
    /// Time between checks (keepalived's `delay_loop`, default 60 s).
    #[serde(
        default = "default_delay_loop",
        rename = "delay_loop_ms",
        with = "millis"
    )]
    pub delay_loop: Duration,
    /// The real servers behind it.
    #[serde(default)]
    pub real_servers: Vec<RealServer>,
}

/// One `real_server IP PORT { … }`: up while all its checkers pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    /// Its address.
    pub addr: IpAddr,
    /// Its port.
    pub port: u16,
    /// Run when it comes up (keepalived's `notify_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_up: Option<Command>,
    /// Run when it goes down (keepalived's `notify_down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_down: Option<Command>,
    /// Its checkers.
    #[serde(default)]
    pub checkers: Vec<Checker>,
}

/// One checker of a real server (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`,
/// `MISC_CHECK`), with keepalived's retry rule: down after `retry + 1`
/// failures in a row, `delay_before_retry` apart; up after one success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checker {
    /// What is checked (for a TCP_CHECK, `connect_ip`/`connect_port`
    /// default to the real server's).
    pub probe: Probe,
    /// keepalived's `connect_timeout` / `misc_timeout`. Default 5 s.
    #[serde(default = "five_seconds", rename = "timeout_ms", with = "millis")]
    pub timeout: Duration,
    /// keepalived's `retry` / `nb_get_retry`. Default 1.
    #[serde(default = "one")]
    pub retry: u32,
    /// keepalived's `delay_before_retry`. Default 1 s.
    #[serde(
        default = "one_second",
        rename = "delay_before_retry_ms",
        with = "millis"
    )]
    pub delay_before_retry: Duration,
    /// Overrides the virtual server's `delay_loop`.
    #[serde(
        default,
        rename = "delay_loop_ms",
        with = "opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub delay_loop: Option<Duration>,
}

fn one() -> u32 {
    1
}
fn one_i32() -> i32 {
    1
}
fn one_second() -> Duration {
    Duration::from_secs(1)
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}
fn default_delay_loop() -> Duration {
    Duration::from_secs(60)
}
fn default_notify_timeout() -> Duration {
    Duration::from_secs(30)
}
fn is_zero(n: &i32) -> bool {
    *n == 0
}
fn is_false(b: &bool) -> bool {
    !*b
}
