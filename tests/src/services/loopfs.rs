//! An ext4 filesystem in an image file, for the Heartbeat-style takeover in
//! which the new master's notify script mounts the shared filesystem (DRBD +
//! filesystem pairs): the script runs `mount -o loop IMAGE MNT`, the test
//! checks what is mounted where.
//!
//! Mounts and loop devices are global: the test namespaces are network-only,
//! so a mount made by a script under `ha` (started with `nsenter --net`) is
//! visible to the whole machine. Hence everything lives under the test's own
//! directory, and [`cleanup_under`] (run on drop, also during a panic)
//! unmounts whatever is mounted there and detaches every loop device backed
//! by a file there.
//!
//! `ip netns exec` (how the harness starts keepalived) also unshares the mount
//! namespace, with slave propagation: a mount made by one of *its* scripts is
//! invisible here and dies with that keepalived; its loop device (autoclear,
//! from `mount -o loop`) is released then. Stop such daemons before the
//! cleanup runs, or a busy loop device is only marked for autoclear.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::detached::sh_path;
use crate::process::{check_success, run_bounded};

/// Bound on each mkfs / mount / umount / losetup call.
const CMD_TIMEOUT: Duration = Duration::from_secs(20);
/// Image sizes accepted by [`LoopFs::create`], in MiB.
const SIZES_MB: std::ops::RangeInclusive<u32> = 1..=1024;

/// An ext4 image `dir/NAME.img` and its mount point `dir/NAME` (created,
/// empty). Dropping it unmounts and detaches everything under `dir`'s image
/// and mount point; the files stay for the test's directory to remove.
#[derive(Debug)]
pub struct LoopFs {
    image: PathBuf,
    mount_point: PathBuf,
}

impl LoopFs {
    /// Creates `dir/fs.img` (`size_mb` MiB, sparse) with an ext4 filesystem
    /// labelled `hatest`, and the empty mount point `dir/fs`.
    pub fn create(dir: &Path, size_mb: u32) -> Result<LoopFs> {
        Self::create_named(dir, "fs", size_mb)
    }

    /// [`create`](Self::create) with another name, for more than one
    /// filesystem in one directory: `dir/NAME.img`, `dir/NAME`.
    pub fn create_named(dir: &Path, name: &str, size_mb: u32) -> Result<LoopFs> {
        if !SIZES_MB.contains(&size_mb) {
            bail!("loop filesystem size must be in {SIZES_MB:?} MiB, got {size_mb}");
        }
        if !dir.is_absolute() {
            bail!(
                "{}: the loop filesystem's directory must be absolute",
                dir.display()
            );
        }
        let fs = LoopFs {
            image: dir.join(format!("{name}.img")),
            mount_point: dir.join(name),
        };
        fs::create_dir_all(&fs.mount_point)
            .with_context(|| format!("creating {}", fs.mount_point.display()))?;
        let file = fs::File::create(&fs.image)
            .with_context(|| format!("creating {}", fs.image.display()))?;
        file.set_len(u64::from(size_mb) << 20)
            .with_context(|| format!("sizing {}", fs.image.display()))?;
        drop(file);
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-L", "hatest", "-m", "0"])
            .arg(&fs.image))?;
        Ok(fs)
    }

    /// The image file.
    pub fn image(&self) -> &Path {
        &self.image
    }

    /// The mount point.
    pub fn mount_point(&self) -> &Path {
        &self.mount_point
    }

    /// What a script runs to mount it: `mount -o loop IMAGE MNT` (a free loop
    /// device is taken and released again by `umount`).
    pub fn mount_cmd(&self) -> String {
        format!(
            "mount -o loop {} {}",
            sh_path(&self.image),
            sh_path(&self.mount_point)
        )
    }

    /// What a script runs to unmount it: `umount MNT`.
    pub fn umount_cmd(&self) -> String {
        format!("umount {}", sh_path(&self.mount_point))
    }

    /// Mounts it as [`mount_cmd`](Self::mount_cmd) does.
    pub fn mount(&self) -> Result<()> {
        run(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&self.image)
            .arg(&self.mount_point))
    }

    /// Unmounts it as [`umount_cmd`](Self::umount_cmd) does.
    pub fn umount(&self) -> Result<()> {
        run(Command::new("umount").arg(&self.mount_point))
    }

    /// Something is mounted on the mount point (in the test's mount namespace).
    pub fn is_mounted(&self) -> Result<bool> {
        Ok(mounts_under(&self.mount_point)?
            .iter()
            .any(|m| m == &self.mount_point))
    }

    /// Loop devices backed by the image (`losetup -j IMAGE`), e.g. `/dev/loop3`.
    pub fn loop_devices(&self) -> Result<Vec<String>> {
        loops_backed_by(|file| file == self.image)
    }

    /// Unmounts the mount point (and anything below it) and detaches every
    /// loop device backed by the image; what [`Drop`] does.
    pub fn cleanup(&self) -> Result<()> {
        release(
            &self.mount_point,
            |file| file == self.image,
            &self.image.display().to_string(),
        )
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        if let Err(e) = self.cleanup() {
            eprintln!("hatest: {e:#}");
        }
    }
}

/// Unmounts everything mounted at or below `dir` (deepest first) and detaches
/// every loop device whose backing file is below `dir`. Safe to call when
/// nothing is there. [`crate::TempDir`] calls it before removing itself.
pub fn cleanup_under(dir: &Path) -> Result<()> {
    release(
        dir,
        |file| file.starts_with(dir),
        &format!("under {}", dir.display()),
    )
}

/// Unmounts everything at or below `mounts` (deepest first), then detaches
/// the loop devices whose backing file passes `backed`; goes on past a
/// failure and reports them all, as "cleaning up WHAT: …".
fn release(mounts: &Path, backed: impl Fn(&Path) -> bool, what: &str) -> Result<()> {
    let mut errors = Vec::new();
    for m in mounts_under(mounts)?.into_iter().rev() {
        if let Err(e) = unmount(&m) {
            errors.push(format!("{e:#}"));
        }
    }
    for dev in loops_backed_by(backed)? {
        if let Err(e) = run(Command::new("losetup").args(["-d", &dev])) {
            errors.push(format!("{e:#}"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        bail!(
            "cleaning up {what}:
{}",
            errors.join(
                "
"
            )
        )
    }
}

/// Mount points at or below `dir`, in mount order (`/proc/self/mountinfo`).
pub fn mounts_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let info =
        fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    Ok(info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape(m)))
        .filter(|m| m.starts_with(dir))
        .collect())
}

/// `umount`, and `umount -l` (detach now, release when no longer busy) when
/// a process still uses it.
fn unmount(path: &Path) -> Result<()> {
    if run(Command::new("umount").arg(path)).is_ok() {
        return Ok(());
    }
    run(Command::new("umount").arg("-l").arg(path))
}

/// Loop devices whose backing file satisfies `want` (`losetup -l -n -O NAME,BACK-FILE`).
fn loops_backed_by(want: impl Fn(&Path) -> bool) -> Result<Vec<String>> {
    let out = run_out(Command::new("losetup").args(["-l", "-n", "--raw", "-O", "NAME,BACK-FILE"]))?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, file)| {
            // A deleted backing file shows as "PATH (deleted)".
            let file = file.trim_end().trim_end_matches(" (deleted)");
            want(Path::new(&unescape(file)))
        })
        .map(|(dev, _)| dev.to_owned())
        .collect())
}

/// Undoes the octal escapes (`\040` for a space) of mountinfo and `losetup --raw`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn run(cmd: &mut Command) -> Result<()> {
    run_out(cmd).map(drop)
}

fn run_out(cmd: &mut Command) -> Result<String> {
    let label = format!("{cmd:?}");
    let cmd = std::mem::replace(cmd, Command::new("true"));
    let out = check_success(&label, run_bounded(cmd, label.clone(), None, CMD_TIMEOUT)?)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape(r"/tmp/a\040b"), "/tmp/a b");
        assert_eq!(unescape(r"/tmp/plain"), "/tmp/plain");
        assert_eq!(unescape(r"/tmp/x\04"), r"/tmp/x\04");
        assert_eq!(unescape(r"\134"), r"\");
    }

    #[test]
    fn nothing_is_mounted_under_a_fresh_path() {
        assert!(
            mounts_under(Path::new("/nonexistent/hatest"))
                .unwrap()
                .is_empty()
        );
    }
}
