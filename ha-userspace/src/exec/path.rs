//! Finding a program and judging whether it is safe to run as root.
//!
//! keepalived resolves a bare program name through `PATH` once, warning
//! that a full path should be given (`notify.c`, `find_path`), and with
//! `enable_script_security` refuses a script run as root when it, or a
//! directory on its path, can be changed by someone other than root
//! (`check_security`). Both are done here the same way.

use std::{
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
};

/// The executable regular file `program` names: itself when it contains a
/// `/`, else the first match in `PATH` (or `/usr/bin:/bin` without one).
pub fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable_file(p))
}

/// A regular file with an execute bit.
fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Why running `program` as root is unsafe, if it is: the first component
/// of its path (from `/` down, the program's real path as well) that is not
/// owned by root, or that a non-root user can write (a directory with the
/// sticky bit, like /tmp, may be world-writable).
pub fn insecure(program: &Path) -> Option<String> {
    let mut paths = vec![program.to_path_buf()];
    if let Ok(real) = std::fs::canonicalize(program)
        && real != program
    {
        paths.push(real);
    }
    for path in paths {
        let mut prefix = PathBuf::new();
        for part in path.components() {
            prefix.push(part);
            let Ok(m) = std::fs::symlink_metadata(&prefix) else {
                return Some(format!("{} cannot be read", prefix.display()));
            };
            let mode = m.mode();
            let sticky_dir = m.is_dir() && mode & libc::S_ISVTX != 0;
            let group_writable = m.gid() != 0 && mode & 0o020 != 0;
            let world_writable = mode & 0o002 != 0;
            if m.uid() != 0 {
                return Some(format!("{} is not owned by root", prefix.display()));
            }
            if !m.file_type().is_symlink() && !sticky_dir && (group_writable || world_writable) {
                return Some(format!(
                    "{} is writable by non-root users",
                    prefix.display()
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_search_finds_sh() {
        let sh = resolve_program("sh").unwrap();
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(resolve_program("./x"), Some(PathBuf::from("./x")));
        assert_eq!(resolve_program("ha-no-such-program-x"), None);
    }

    #[test]
    fn system_binaries_are_secure_a_temp_file_is_not() {
        assert_eq!(insecure(Path::new("/bin/sh")), None);
        let dir = std::env::temp_dir().join(format!("ha-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s");
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(insecure(&f).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
