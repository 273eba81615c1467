//! One receive task per raw VRRP socket: decode every datagram with the checked
//! codec, count and drop the bad ones, and hand good adverts to the instance
//! that owns their VRID.

use std::{collections::HashMap, net::IpAddr, sync::Arc};

use tokio::sync::mpsc;
use tracing::debug;

use crate::{
    instance::Inbound,
    net::VrrpSocket,
    status::StatusBoard,
    wire::{Advert, IpContext},
};

/// An advert that decoded cleanly, for one instance.
#[derive(Debug, Clone)]
pub struct RxAdvert {
    /// IP source address (the sender's primary address, RFC 9568 §5.1.1.1).
    pub src: IpAddr,
    /// The decoded advert.
    pub advert: Advert,
}

/// The receive side of one socket.
pub struct Demux {
    /// The socket shared with the instances that send on it.
    pub socket: Arc<VrrpSocket>,
    /// Instance inboxes by VRID.
    pub routes: HashMap<u8, mpsc::Sender<Inbound>>,
    /// Where drops are counted.
    pub board: Arc<StatusBoard>,
    /// This socket's index in the status document.
    pub index: usize,
}

impl Demux {
    /// Receives until the socket fails or every instance has gone.
    pub async fn run(self) {
        // A VRRP message is at most 8 + 255 * 16 bytes; 4 KiB holds it with its IP header.
        let mut buf = vec![0u8; 4096];
        loop {
            let got = match self.socket.recv(&mut buf).await {
                Ok(got) => got,
                Err(e) => {
                    tracing::error!(interface = self.socket.ifname(), error = %e, "VRRP receive failed");
                    return;
                }
            };
            if got.truncated {
                self.board.socket_drop(self.index, "truncated");
                continue;
            }
            let ctx = IpContext {
                src: got.src,
                dst: got.dst,
                ttl: got.ttl_or_hop_limit,
            };
            let advert = match Advert::parse(&ctx, got.payload(&buf)) {
                Ok(received) => received.advert,
                Err(e) => {
                    debug!(interface = self.socket.ifname(), src = %got.src, error = %e, "advert dropped");
                    self.board.socket_drop(self.index, e.reason());
                    continue;
                }
            };
            let Some(inbox) = self.routes.get(&advert.vrid) else {
                // Another group's VRID on the same link: not ours to judge (RFC 9568 §7.1).
                self.board.socket_drop(self.index, "unknown_vrid");
                continue;
            };
            match inbox.try_send(Inbound::Advert(RxAdvert {
                src: got.src,
                advert,
            })) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.board.socket_drop(self.index, "inbox_full")
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    if self.routes.values().all(|tx| tx.is_closed()) {
                        return;
                    }
                }
            }
        }
    }
}
