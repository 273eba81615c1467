//! Whether a configured program can run, and whether it is safe to run it
//! as root: keepalived 2.2.7's `check_script_secure` (lib/notify.c), which
//! `ha check-config` reports as errors and the runtime applies before it
//! runs a script (a script that fails here counts as a failed check and is
//! never started).
//!
//! - A name without `/` is looked up in `PATH` (or `/bin:/usr/bin` when it
//!   is unset), as keepalived's `find_path` does; the first entry that is
//!   an executable regular file wins.
//! - The program must exist, be a regular file (after symlinks) and be
//!   executable by the user it runs as.
//! - When it runs as root (user or group 0, or it is set-uid/set-gid root),
//!   every component of its resolved path (realpath, keeping the name it
//!   is called by) is checked from `/` down without following links: each must be owned by
//!   root, and neither a directory without the sticky bit nor the file may
//!   be writable by a non-root group or by others. With
//!   `enable_script_security` a violation refuses the script; without it
//!   keepalived only logs, and so does ha (it is not reported here).

use std::{
    ffi::{CStr, CString},
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Component, Path, PathBuf},
};

use crate::config::{ConfigError, Loaded, model::Command};

/// The user and group a program runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Checks that `cmd` can run and, with `script_security`, that it is safe
/// to run as root. `default_user` / `default_group` are the global
/// `script_user` (root when unset). Returns the program's resolved path, or
/// what is wrong, naming the program and the offending path.
pub fn check_program(
    cmd: &Command,
    script_security: bool,
    default_user: Option<&str>,
    default_group: Option<&str>,
) -> Result<PathBuf, String> {
    let program = cmd
        .argv
        .first()
        .filter(|p| !p.is_empty())
        .ok_or("the command is empty")?;
    let run_as = run_as(cmd, default_user, default_group)?;
    let path = find(program, run_as)?;
    let meta = std::fs::metadata(&path).map_err(|e| io_problem(&path, &e))?;
    if !meta.is_file() {
        return Err(format!("`{}` is not a regular file", path.display()));
    }
    if !executable(&meta, run_as) {
        return Err(format!(
            "`{}` is not executable by uid {} gid {} (mode {:o})",
            path.display(),
            run_as.uid,
            run_as.gid,
            meta.permissions().mode() & 0o7777
        ));
    }
    let setid_root = (meta.uid() == 0 && meta.mode() & 0o4100 == 0o4100)
        || (meta.gid() == 0 && meta.mode() & 0o2010 == 0o2010);
    if script_security && (run_as.uid == 0 || run_as.gid == 0 || setid_root) {
        // keepalived checks the path with `.`, `..` and links resolved
        // (realpath), keeping the name the program was called by when the
        // link's target has another name.
        let real = std::fs::canonicalize(&path).map_err(|e| format!("`{program}`: {e}"))?;
        insecure_component(&real)?;
        let called = std::path::absolute(&path).map_err(|e| format!("`{program}`: {e}"))?;
        if let (Some(parent), Some(name)) = (real.parent(), called.file_name())
            && real.file_name() != Some(name)
        {
            insecure_component(&parent.join(name))?;
        }
    }
    Ok(path)
}

/// The user and group `cmd` runs as: its own, else the global
/// `script_user`, else root. A user without a group runs with the user's
/// primary group.
pub fn run_as(
    cmd: &Command,
    default_user: Option<&str>,
    default_group: Option<&str>,
) -> Result<RunAs, String> {
    let (user, group) = match &cmd.user {
        Some(u) => (Some(u.as_str()), cmd.group.as_deref()),
        None => (default_user, default_group),
    };
    let Some(user) = user else {
        return Ok(RunAs { uid: 0, gid: 0 });
    };
    let (uid, primary) = lookup_user(user).ok_or_else(|| {
        format!(
            "user `{user}` does not exist (a word after the script on its line is the user to \
             run it as; quote the command line to pass arguments)"
        )
    })?;
    let gid = match group {
        Some(g) => lookup_group(g).ok_or_else(|| format!("group `{g}` does not exist"))?,
        None => primary,
    };
    Ok(RunAs { uid, gid })
}

/// `program` as a path: itself when it holds a `/`, else the first
/// executable regular file of that name in `PATH`.
fn find(program: &str, run_as: RunAs) -> Result<PathBuf, String> {
    if program.contains('/') {
        return match std::fs::metadata(program) {
            Ok(_) => Ok(PathBuf::from(program)),
            Err(e) => Err(io_problem(Path::new(program), &e)),
        };
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/bin:/usr/bin".to_string());
    let mut found_unusable = None;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(program);
        if let Ok(meta) = std::fs::metadata(&candidate)
            && meta.is_file()
        {
            if executable(&meta, run_as) {
                return Ok(candidate);
            }
            found_unusable.get_or_insert(candidate);
        }
    }
    Err(match found_unusable {
        Some(p) => format!(
            "`{program}` is found in PATH as `{}` but is not executable by uid {}",
            p.display(),
            run_as.uid
        ),
        None => format!("`{program}` is not found in PATH ({path})"),
    })
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
fn executable(meta: &std::fs::Metadata, who: RunAs) -> bool {
    let mode = meta.mode();
    if who.uid == 0 {
        return mode & 0o111 != 0;
    }
    if meta.uid() == who.uid {
        mode & 0o100 != 0
    } else if meta.gid() == who.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// keepalived's `check_security`: the first component of `path` (from `/`
/// down, links not followed) a non-root user could change.
fn insecure_component(path: &Path) -> Result<(), String> {
    let mut at = PathBuf::new();
    let parts: Vec<Component<'_>> = path.components().collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let last = i + 1 == parts.len();
        let meta = std::fs::symlink_metadata(&at).map_err(|e| io_problem(&at, &e))?;
        let ft = meta.file_type();
        if (!last && !ft.is_dir()) || (last && !ft.is_file() && !ft.is_symlink()) {
            return Err(format!(
                "wrong file type at `{}` on the path of `{}`",
                at.display(),
                path.display()
            ));
        }
        let mode = meta.mode();
        let group_or_other_writes = (meta.gid() != 0 && mode & 0o020 != 0) || mode & 0o002 != 0;
        let sticky_dir = ft.is_dir() && mode & 0o1000 != 0;
        let checked_kind = (ft.is_dir() && !sticky_dir) || ft.is_file();
        if meta.uid() != 0 || (checked_kind && group_or_other_writes) {
            let why = if meta.uid() != 0 {
                format!("is owned by uid {}", meta.uid())
            } else {
                format!("is writable by a non-root user (mode {:o})", mode & 0o7777)
            };
            return Err(format!(
                "unsafe for enable_script_security: `{}` {why}; a script run as root must \
                 have every part of its path owned by root and writable only by root",
                at.display()
            ));
        }
    }
    Ok(())
}

/// Every program of `loaded` that cannot run (or, with
/// `enable_script_security`, is not safe to run as root), as an error at
/// the line naming it. `ha check-config` prints these as errors; `ha run`
/// logs them as warnings and the runtime treats those scripts as failed.
pub fn script_problems(loaded: &Loaded) -> Vec<ConfigError> {
    let g = &loaded.config.global;
    let mut out: Vec<ConfigError> = Vec::new();
    for site in &loaded.scripts {
        if let Err(why) = check_program(
            &site.command,
            g.script_security,
            g.script_user.as_deref(),
            g.script_group.as_deref(),
        ) {
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

/// A user's uid and primary gid.
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    if let Ok(uid) = name.parse::<u32>() {
        // keepalived accepts only names; a number is taken as itself here
        // for containers without the user in /etc/passwd.
        return Some((uid, uid));
    }
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: all-zero is a valid `passwd` (pointers null, ids 0); the
    // call fills it.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: valid C string, a buffer of the length given, out pointers to
    // live locals; getpwnam_r writes only into them.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
}

/// A group's gid.
fn lookup_group(name: &str) -> Option<u32> {
    if let Ok(gid) = name.parse::<u32>() {
        return Some(gid);
    }
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: all-zero is a valid `group`; the call fills it.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as in `lookup_user`.
    let rc = unsafe {
        libc::getgrnam_r(
            cname.as_ptr(),
            &mut grp,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(grp.gr_gid)
}

/// The name of a uid, for messages; the number when it has none.
pub fn user_name(uid: u32) -> String {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: as in `lookup_user`.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: as in `lookup_user`.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: getpwuid_r set pw_name to a NUL-terminated string in `buf`.
        unsafe { CStr::from_ptr(pwd.pw_name) }
            .to_string_lossy()
            .into_owned()
    } else {
        uid.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(argv: &[&str]) -> Command {
        Command {
            argv: argv.iter().map(ToString::to_string).collect(),
            user: None,
            group: None,
        }
    }

    #[test]
    fn path_lookup_and_missing_programs() {
        assert!(check_program(&cmd(&["sh", "-c", "true"]), false, None, None).is_ok());
        let e = check_program(&cmd(&["no-such-program-ha"]), false, None, None).unwrap_err();
        assert!(e.contains("not found in PATH"), "{e}");
        let e = check_program(&cmd(&["/no/such/file"]), false, None, None).unwrap_err();
        assert!(e.contains("/no/such/file"), "{e}");
        let e = check_program(&cmd(&["/tmp"]), false, None, None).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let e = check_program(&cmd(&[""]), false, None, None).unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn unknown_user_is_named() {
        let mut c = cmd(&["/bin/sh"]);
        c.user = Some("master".into());
        if lookup_user("master").is_none() {
            let e = check_program(&c, false, None, None).unwrap_err();
            assert!(e.contains("user `master` does not exist"), "{e}");
        }
        assert_eq!(user_name(0), "root");
    }
}
