//! VRRP protocol logic without I/O.
//!
//! - [`timers`]: the RFC timer formulas (Skew_Time, Master_Down_Interval) for
//!   VRRPv2 (RFC 3768 §6.1) and VRRPv3 (RFC 5798 / RFC 9568 §6.1).
//! - [`fsm`]: one virtual router's state machine (RFC 5798 §6.4 with the RFC
//!   9568 changes, RFC 3768 §6.4 for v2) as a pure function
//!   `(state, input, now) -> actions`.
//!
//! Nothing here opens a socket, reads a clock or spawns a task. Time is passed
//! in by the caller as a [`std::time::Duration`] since an arbitrary monotonic
//! epoch (the driver picks it, e.g. the `tokio::time::Instant` at start-up), and
//! every effect comes back as an [`Action`] for the driver to execute in order.
//! See [`fsm`] for the driver contract.

pub mod fsm;
pub mod timers;

pub use fsm::{
    Action, Actions, Config, ConfigError, FaultSource, Fsm, Handover, Ignore, Input, Peer, State,
};

/// VRRP protocol version of one virtual router: the codec's type, so a decoded
/// advert and the state machine speak of the same thing. The version changes the
/// timer formulas (v2 skew is a fixed fraction of a second, v3 skew scales with
/// the master's interval) and what a receiver does with an interval that differs
/// from its own (v2 discards, RFC 3768 §7.1; v3 adopts it, RFC 5798 §6.4.2).
pub use crate::wire::Version;
