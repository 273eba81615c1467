//! Reading a configuration file without trusting it: the main file and every
//! include go through [`read_file`], so none can block the reader (a FIFO, a
//! terminal), have side effects when opened (a device such as a watchdog), or
//! fill memory (a huge or endless file).

use std::{
    fs::{self, File, Metadata},
    io::Read,
    os::unix::fs::{FileTypeExt, OpenOptionsExt},
    path::Path,
};

/// The largest configuration file read, main file or include. keepalived
/// files with a thousand instances stay well under 1 MiB.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Why a file was not read, and where in it when that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadError {
    /// 1-based line of the problem; 0 for the file as a whole.
    pub line: usize,
    pub message: String,
}

impl ReadError {
    fn whole(message: impl Into<String>) -> Self {
        ReadError {
            line: 0,
            message: message.into(),
        }
    }
}

/// The text of the regular file at `path`, at most [`MAX_FILE_BYTES`], as
/// UTF-8.
///
/// The type is checked before opening (opening a device can have effects,
/// opening a FIFO for reading waits for a writer), and again on the opened
/// file, which is opened non-blocking, in case the path was swapped between
/// the two.
pub(crate) fn read_file(path: &Path) -> Result<String, ReadError> {
    let meta = fs::metadata(path).map_err(|e| ReadError::whole(format!("cannot read: {e}")))?;
    regular(&meta)?;
    let file = File::options()
        .read(true)
        // Never wait for a writer, never become a terminal's controller.
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| ReadError::whole(format!("cannot read: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| ReadError::whole(format!("cannot read: {e}")))?;
    regular(&meta)?;
    // The length may change while reading: never take more than the limit.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::whole(format!("cannot read: {e}")))?;
    check_size(bytes.len())?;
    text(bytes)
}

/// Refuses what is not a regular file, naming what it is.
fn regular(meta: &Metadata) -> Result<(), ReadError> {
    let t = meta.file_type();
    let what = if t.is_file() {
        check_size(usize::try_from(meta.len()).unwrap_or(usize::MAX))?;
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a file"
    };
    Err(ReadError::whole(format!(
        "is {what}, not a regular file; a configuration must be one"
    )))
}

/// Refuses a text longer than [`MAX_FILE_BYTES`].
pub(crate) fn check_size(len: usize) -> Result<(), ReadError> {
    if len as u64 > MAX_FILE_BYTES {
        Err(ReadError::whole(format!(
            "the file is larger than {} MiB; a configuration is at most that",
            MAX_FILE_BYTES >> 20
        )))
    } else {
        Ok(())
    }
}

/// The bytes as UTF-8, or the line of the first byte that is not.
fn text(bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        ReadError {
            line,
            message: "not valid UTF-8 text".into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let e = read_file(Path::new("/dev/null")).unwrap_err();
        assert!(e.message.contains("is a character device"), "{e:?}");
        let e = read_file(Path::new("/")).unwrap_err();
        assert!(e.message.contains("is a directory"), "{e:?}");
        let e = read_file(Path::new("/nonexistent/ha.conf")).unwrap_err();
        assert!(e.message.starts_with("cannot read: "), "{e:?}");
    }

    #[test]
    fn names_the_line_of_bad_utf8() {
        let e = text(b"a\nb\n\xffc\n".to_vec()).unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(text(b"ok\n".to_vec()).unwrap(), "ok\n");
    }
}
