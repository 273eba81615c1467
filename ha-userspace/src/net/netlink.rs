//! The one rtnetlink connection the daemon shares: a cheap, cloneable handle
//! whose requests are carried by a connection task on tokio.
//!
//! rtnetlink's `Handle` already is an actor's mailbox: requests go over a
//! channel to the task that owns the NETLINK_ROUTE socket and matches replies
//! to requests by sequence number. [`Netlink`] wraps it so every caller gets
//! the same typed, contextual errors; the address and link operations are in
//! `addr.rs` and `link.rs`.

use std::{
    io,
    sync::{Arc, Mutex},
};

use rtnetlink::Handle;

use super::{error::NetError, sync_route::SyncRoute};

/// A handle on the shared rtnetlink connection. Clone it freely; the
/// connection task ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: Handle,
    /// The blocking socket adding VIPs (see `sync_route`).
    sync: Arc<Mutex<SyncRoute>>,
}

impl Netlink {
    /// Opens a NETLINK_ROUTE socket in the calling thread's network namespace
    /// and spawns its connection task. Must be called inside a tokio runtime.
    pub fn new() -> Result<Netlink, NetError> {
        let (connection, handle, _unsolicited) =
            rtnetlink::new_connection().map_err(|e| NetError::Io {
                what: "opening the rtnetlink socket".into(),
                cause: e,
            })?;
        tokio::spawn(connection);
        let sync = SyncRoute::new().map_err(|e| NetError::Io {
            what: "opening the rtnetlink socket for VIPs".into(),
            cause: e,
        })?;
        Ok(Netlink {
            handle,
            sync: Arc::new(Mutex::new(sync)),
        })
    }

    /// A create-or-replace request on the blocking socket.
    pub(crate) fn create_or_replace(
        &self,
        msg: netlink_packet_route::RouteNetlinkMessage,
    ) -> io::Result<()> {
        // A poisoned lock still holds a usable socket and sequence number.
        self.sync
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .create_or_replace(msg)
    }

    /// A request with `flags` (`NLM_F_CREATE`, `NLM_F_EXCL`, …) on the
    /// blocking socket; the kernel's refusal comes back as its errno.
    pub(crate) fn request(
        &self,
        msg: netlink_packet_route::RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<()> {
        self.sync
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .request(msg, flags)
    }

    /// The underlying rtnetlink handle, for requests this module does not wrap.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

/// The errno of a netlink error reply, as a positive number.
pub(crate) fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(msg) => msg.code.map(|c| c.get().abs()),
        _ => None,
    }
}

/// An rtnetlink error as an `io::Error` (an errno when the kernel sent one).
pub(crate) fn to_io(e: rtnetlink::Error) -> io::Error {
    match errno(&e) {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::other(e.to_string()),
    }
}

/// Wraps an rtnetlink error with what we were doing; EPERM becomes
/// "needs CAP_NET_ADMIN".
pub(crate) fn nl_error(what: impl Into<String>, e: rtnetlink::Error) -> NetError {
    NetError::io(what, "CAP_NET_ADMIN", to_io(e))
}
