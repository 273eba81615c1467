//! The XDP datapath: loading the embedded object, attaching it, pinning its maps
//! and link, and reading its counters.

mod attach;
mod counters;
mod object;
mod pins;

pub use attach::{AttachMode, Attached, attach};
pub use counters::read_frame_counts;
pub use object::{OBJECT, object};
pub use pins::{PIN_ROOT, unpin_all};
