//! Who a program runs as: user and group names resolved to ids with the
//! reentrant libc calls (`getpwnam_r`, `getgrnam_r`), as keepalived's
//! `set_uid_gid` does for `script_user` and a script's `user USER [GROUP]`.

use std::ffi::CString;

/// The ids a program is started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    /// User id (`setuid`).
    pub uid: u32,
    /// Group id (`setgid`).
    pub gid: u32,
}

/// Resolves `user` (and `group`, else the user's primary group) to ids.
/// `None` for both: `Ok(None)`, the program runs as we do. A group without
/// a user keeps our uid and takes that group.
pub fn resolve(user: Option<&str>, group: Option<&str>) -> anyhow::Result<Option<Ids>> {
    let (uid, mut gid) = match user {
        Some(u) => {
            let (uid, gid) = user_ids(u)?;
            (uid, gid)
        }
        None if group.is_none() => return Ok(None),
        // SAFETY: getuid/getgid cannot fail.
        None => unsafe { (libc::getuid(), libc::getgid()) },
    };
    if let Some(g) = group {
        gid = group_id(g)?;
    }
    Ok(Some(Ids { uid, gid }))
}

/// Buffer size for the `_r` calls: sysconf's hint, at least 16 KiB, grown
/// on ERANGE (a group with many members needs more).
fn buffer_len() -> usize {
    // SAFETY: sysconf has no preconditions.
    let hint = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    usize::try_from(hint).unwrap_or(0).max(16 * 1024)
}

/// The uid and primary gid of `name`.
fn user_ids(name: &str) -> anyhow::Result<(u32, u32)> {
    let c = CString::new(name).map_err(|_| anyhow::anyhow!("user name {name:?} contains NUL"))?;
    let mut len = buffer_len();
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: passwd is plain data; getpwnam_r writes into it and buf.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the given lengths.
        let rc = unsafe { libc::getpwnam_r(c.as_ptr(), &mut pwd, buf.as_mut_ptr(), len, &mut out) };
        match rc {
            0 if out.is_null() => anyhow::bail!("script user {name:?} does not exist"),
            0 => return Ok((pwd.pw_uid, pwd.pw_gid)),
            libc::ERANGE if len < 1 << 24 => len *= 4,
            e => anyhow::bail!(
                "cannot resolve script user {name:?}: {}",
                std::io::Error::from_raw_os_error(e)
            ),
        }
    }
}

/// The gid of group `name`.
fn group_id(name: &str) -> anyhow::Result<u32> {
    let c = CString::new(name).map_err(|_| anyhow::anyhow!("group name {name:?} contains NUL"))?;
    let mut len = buffer_len();
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: group is plain data; getgrnam_r writes into it and buf.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the given lengths.
        let rc = unsafe { libc::getgrnam_r(c.as_ptr(), &mut grp, buf.as_mut_ptr(), len, &mut out) };
        match rc {
            0 if out.is_null() => anyhow::bail!("script group {name:?} does not exist"),
            0 => return Ok(grp.gr_gid),
            libc::ERANGE if len < 1 << 24 => len *= 4,
            e => anyhow::bail!(
                "cannot resolve script group {name:?}: {}",
                std::io::Error::from_raw_os_error(e)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_nobody_resolve() {
        assert_eq!(
            resolve(Some("root"), None).unwrap(),
            Some(Ids { uid: 0, gid: 0 })
        );
        assert_eq!(resolve(None, None).unwrap(), None);
        let nobody = resolve(Some("nobody"), Some("root")).unwrap().unwrap();
        assert_ne!(nobody.uid, 0);
        assert_eq!(nobody.gid, 0);
    }

    #[test]
    fn unknown_names_are_errors_naming_them() {
        let e = resolve(Some("ha-no-such-user-x"), None).unwrap_err();
        assert!(e.to_string().contains("ha-no-such-user-x"), "{e}");
        let e = resolve(None, Some("ha-no-such-group-x")).unwrap_err();
        assert!(e.to_string().contains("ha-no-such-group-x"), "{e}");
    }
}
