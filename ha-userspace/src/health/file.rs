//! keepalived's `track_file`: the integer in a file, watched with inotify.
//!
//! The file's directory is watched (not the file), so writing it, replacing
//! it by rename, creating and deleting it are all seen (keepalived watches
//! `IN_CLOSE_WRITE | IN_DELETE | IN_MOVE` on the directory). The value is
//! read as keepalived does (`process_track_file`): the first 127 bytes,
//! `strtol(…, 0)` (leading blanks, a sign, `0x` hex or `0` octal), clamped
//! to −254..254; a missing, unreadable or non-numeric file is 0.
//!
//! Should inotify be unavailable (or the directory missing), the file is
//! polled once a second instead, so a change is still seen.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    time::Duration,
};

use futures::StreamExt;
use inotify::{Inotify, WatchMask};
use tokio::sync::watch;
use tracing::{info, warn};

use super::{Status, weight::Level};
use crate::config::model::TrackFile;

/// How often the file is read when inotify cannot watch it.
const POLL: Duration = Duration::from_secs(1);

/// Runs the tracker of `tf` forever, publishing [`Level::Value`].
pub async fn run(tf: TrackFile, level: watch::Sender<Level>, status: watch::Sender<Status>) {
    if let Some(v) = tf.init {
        init_file(&tf.path, v);
    }
    let publish = |v: i64| {
        let changed = level.send_if_modified(|l| {
            let new = Level::Value(v);
            std::mem::replace(l, new) != new
        });
        if changed {
            info!("track_file {}: {} now {v}", tf.name, tf.path.display());
            status.send_modify(|s| s.state = format!("value {v}"));
        }
    };
    publish(read_value(&tf.path));
    let dir = match tf.path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name: Option<OsString> = tf.path.file_name().map(Into::into);
    match watch_dir(&dir) {
        Ok(mut events) => {
            while let Some(ev) = events.next().await {
                match ev {
                    Ok(ev) if ev.name.is_some() && ev.name == name => publish(read_value(&tf.path)),
                    Ok(_) => {}
                    Err(e) => {
                        warn!("track_file {}: inotify on {}: {e}", tf.name, dir.display());
                        break;
                    }
                }
            }
        }
        Err(e) => warn!(
            "track_file {}: cannot watch {}: {e}; polling every {POLL:?}",
            tf.name,
            dir.display()
        ),
    }
    loop {
        tokio::time::sleep(POLL).await;
        publish(read_value(&tf.path));
    }
}

/// An inotify event stream on `dir`.
fn watch_dir(dir: &Path) -> std::io::Result<inotify::EventStream<[u8; 4096]>> {
    let inotify = Inotify::init()?;
    inotify.watches().add(
        dir,
        WatchMask::CLOSE_WRITE | WatchMask::DELETE | WatchMask::MOVED_FROM | WatchMask::MOVED_TO,
    )?;
    inotify.into_event_stream([0u8; 4096])
}

/// keepalived's `init_file VALUE`: write the value when the file is absent.
fn init_file(path: &Path, value: i64) {
    if path.exists() {
        return;
    }
    if let Err(e) = std::fs::write(path, format!("{value}\n")) {
        warn!("track_file: cannot create {}: {e}", path.display());
    }
}

/// The file's value, 0 when it cannot be read.
pub fn read_value(path: &Path) -> i64 {
    use std::io::Read;
    let mut buf = [0u8; 127];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    parse_value(&buf[..n]).clamp(-254, 254)
}

/// C's `strtol(s, NULL, 0)`: leading whitespace, a sign, base from the
/// prefix (`0x` hex, `0` octal, else decimal), digits up to the first that
/// does not belong; saturating; 0 when there are none.
pub fn parse_value(s: &[u8]) -> i64 {
    let mut i = s
        .iter()
        .take_while(|b| b" \t\n\r\x0b\x0c".contains(b))
        .count();
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let hex_digit_follows = s.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
    let radix = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && hex_digit_follows
    {
        i += 2;
        16
    } else if s.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    let mut value: i64 = 0;
    for &b in &s[i.min(s.len())..] {
        let Some(d) = (b as char).to_digit(radix) else {
            break;
        };
        value = value
            .saturating_mul(i64::from(radix))
            .saturating_add(i64::from(d));
    }
    if negative {
        value.saturating_neg()
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_parsing() {
        for (s, v) in [
            ("5\n", 5),
            ("  -12 apples", -12),
            ("+7", 7),
            ("0x1f", 31),
            ("0X10\n", 16),
            ("010", 8),
            ("09", 0),
            ("0x", 0),
            ("", 0),
            ("abc", 0),
            ("99999999999999999999999", i64::MAX),
        ] {
            assert_eq!(parse_value(s.as_bytes()), v, "{s:?}");
        }
    }

    #[test]
    fn missing_file_is_zero_and_values_are_clamped() {
        let dir = std::env::temp_dir().join(format!("ha-tf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read_value(&dir.join("none")), 0);
        std::fs::write(dir.join("big"), "1000").unwrap();
        assert_eq!(read_value(&dir.join("big")), 254);
        init_file(&dir.join("init"), -3);
        assert_eq!(read_value(&dir.join("init")), -3);
        init_file(&dir.join("init"), 9);
        assert_eq!(read_value(&dir.join("init")), -3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
