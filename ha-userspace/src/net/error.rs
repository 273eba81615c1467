//! Errors of the network layer. Each one says what we were doing, on which
//! interface and address, and which capability was missing, so the daemon can
//! print it as is (DESIGN.md: "never a bare `Os { code: 1 }`").

use std::io;

use thiserror::Error;

/// Why a network-layer operation failed.
#[derive(Debug, Error)]
pub enum NetError {
    /// No interface has this name.
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    /// No interface has this index.
    #[error("interface with index {0} does not exist")]
    NoSuchIfindex(u32),
    /// The kernel refused for lack of privilege.
    #[error("{what} needs {capability} (run as root or grant the capability)")]
    Permission {
        /// What we were doing, naming the interface or address.
        what: String,
        /// The Linux capability that would allow it.
        capability: &'static str,
    },
    /// A system call failed.
    #[error("{what}: {cause}")]
    Io {
        /// What we were doing, naming the interface or address.
        what: String,
        /// The error the kernel returned.
        cause: io::Error,
    },
    /// A request the kernel would refuse, or that makes no sense, caught before sending it.
    #[error("{0}")]
    Invalid(String),
}

impl NetError {
    /// Wraps an `io::Error`, turning EPERM/EACCES into [`NetError::Permission`]
    /// with `capability`.
    pub(crate) fn io(what: impl Into<String>, capability: &'static str, cause: io::Error) -> Self {
        let what = what.into();
        match cause.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => NetError::Permission { what, capability },
            _ => NetError::Io { what, cause },
        }
    }

    /// The errno behind this error, if it came from the kernel.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            NetError::Io { cause, .. } => cause.raw_os_error(),
            NetError::Permission { .. } => Some(libc::EPERM),
            NetError::NoSuchInterface(_) | NetError::NoSuchIfindex(_) => Some(libc::ENODEV),
            NetError::Invalid(_) => None,
        }
    }
}

/// Adds "what we were doing" to an `io::Error` on the hot paths (send and
/// receive), which return `io::Result` so the daemon can match on the kind.
pub(crate) fn with_context(what: impl FnOnce() -> String, cause: io::Error) -> io::Error {
    io::Error::new(cause.kind(), format!("{}: {cause}", what()))
}
