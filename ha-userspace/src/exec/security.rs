//! Whether a configured program can run, and whether it is safe to run it
//! as root: keepalived 2.2.7's `check_script_secure` (lib/notify.c), which
//! `ha check-config` reports as errors with the line naming the program,
//! and which the runtime applies before it runs a script (a script that
//! fails here counts as a failed check and is never started).
//!
//! - A name without `/` is looked up in `PATH`, as keepalived's
//!   `find_path` does ([`path::resolve_program`]).
//! - The program must exist, be a regular file (after symlinks) and be
//!   executable by the user it runs as ([`Runner::ids`]: its own user, else
//!   `script_user`, else as ha runs).
//! - When it runs as root (user or group 0, or it is set-uid/set-gid root)
//!   and `enable_script_security` is on, no component of its path may be
//!   changeable by a non-root user ([`path::insecure`], keepalived's
//!   `check_security`). Without `enable_script_security` keepalived only
//!   logs that, and so does the runtime; it is not reported here.

use std::{
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
};

use super::{Runner, path};
use crate::config::{ConfigError, Loaded, model::Command};

/// Checks that `cmd` can run as `runner` would run it and, with
/// `script_security`, that it is safe to run as root. Returns the
/// program's resolved path, or what is wrong, naming the program, the user
/// or the offending path.
pub fn check_program(
    cmd: &Command,
    script_security: bool,
    runner: &Runner,
) -> Result<PathBuf, String> {
    let program = cmd
        .argv
        .first()
        .filter(|p| !p.is_empty())
        .ok_or("the command is empty")?;
    let ids = runner.ids(cmd).map_err(|e| {
        format!(
            "{e} (a word after the script on its line is the user to run it as; quote the \
             command line to pass arguments)"
        )
    })?;
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = ids.map_or_else(
        || unsafe { (libc::getuid(), libc::getgid()) },
        |i| (i.uid, i.gid),
    );
    let resolved = path::resolve_program(program)
        .ok_or_else(|| format!("`{program}` is not found in PATH as an executable file"))?;
    let meta = std::fs::metadata(&resolved).map_err(|e| io_problem(&resolved, &e))?;
    if !meta.is_file() {
        return Err(format!("`{}` is not a regular file", resolved.display()));
    }
    if !executable(&meta, uid, gid) {
        return Err(format!(
            "`{}` is not executable by uid {uid} gid {gid} (mode {:o})",
            resolved.display(),
            meta.permissions().mode() & 0o7777
        ));
    }
    let setid_root = (meta.uid() == 0 && meta.mode() & 0o4100 == 0o4100)
        || (meta.gid() == 0 && meta.mode() & 0o2010 == 0o2010);
    if script_security
        && (uid == 0 || gid == 0 || setid_root)
        && let Some(why) = path::insecure(&resolved)
    {
        return Err(format!(
            "unsafe to run as root with enable_script_security: {why}; every part of the \
             path of a script run as root must be owned by root and writable only by root"
        ));
    }
    Ok(resolved)
}

/// What an I/O error on `path` means for a script, in words.
fn io_problem(path: &Path, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("`{}` does not exist", path.display()),
        std::io::ErrorKind::PermissionDenied => {
            format!("`{}` cannot be reached (permission denied)", path.display())
        }
        _ => format!("`{}`: {e}", path.display()),
    }
}

/// Whether the user may execute a file with this metadata (root: any x bit).
fn executable(meta: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = meta.mode();
    if uid == 0 {
        return mode & 0o111 != 0;
    }
    if meta.uid() == uid {
        mode & 0o100 != 0
    } else if meta.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Every program of `loaded` that cannot run (or, with
/// `enable_script_security`, is not safe to run as root), as an error at
/// the line naming it. `ha check-config` prints these as errors; `ha run`
/// logs them as warnings and the runtime treats those scripts as failed.
pub fn script_problems(loaded: &Loaded) -> Vec<ConfigError> {
    let g = &loaded.config.global;
    let runner = Runner::from_global(g);
    let mut out: Vec<ConfigError> = Vec::new();
    for site in &loaded.scripts {
        if let Err(why) = check_program(&site.command, g.script_security, &runner) {
            let e = ConfigError::at(&site.loc, format!("{}: {why}", site.what));
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    // File order, as the other errors of `check-config`.
    let rank = |e: &ConfigError| {
        let file = loaded.files.iter().position(|f| *f == e.file);
        (file.unwrap_or(usize::MAX), e.line)
    };
    out.sort_by_key(rank);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(c: &Command) -> Result<PathBuf, String> {
        check_program(c, false, &Runner::default())
    }

    #[test]
    fn path_lookup_and_missing_programs() {
        assert!(check(&Command::new(["sh", "-c", "true"])).is_ok());
        let e = check(&Command::new(["no-such-program-ha"])).unwrap_err();
        assert!(e.contains("not found in PATH"), "{e}");
        let e = check(&Command::new(["/no/such/file"])).unwrap_err();
        assert_eq!(e, "`/no/such/file` does not exist");
        let e = check(&Command::new(["/tmp"])).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let e = check(&Command::new([""])).unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn unknown_user_is_named_with_the_quoting_hint() {
        let mut c = Command::new(["/bin/sh"]);
        c.user = Some("ha-no-such-user-master".into());
        let e = check(&c).unwrap_err();
        assert!(
            e.contains("ha-no-such-user-master") && e.contains("quote the command line"),
            "{e}"
        );
    }
}
