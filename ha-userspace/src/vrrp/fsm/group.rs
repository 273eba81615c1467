//! Sync groups (keepalived's `vrrp_sync_group`; not in the RFC): virtual
//! routers on one node that must change state together, e.g. the outside
//! and inside addresses of a firewall, or two VIPs of one service.
//!
//! The coordinator outside the state machine watches the members' state
//! changes and feeds the others:
//! - a member in Fault puts the others in Fault ([`FaultSource::Group`],
//!   cleared when no member is faulted by a source of its own);
//! - a member becoming Master brings the Backups along at once
//!   ([`Input::GroupMaster`](super::Input::GroupMaster)): the whole group
//!   moves to this node, as keepalived's `vrrp_sync_master` does;
//! - a Master becoming Backup takes the other Masters with it
//!   ([`Input::GroupBackup`](super::Input::GroupBackup)), so the group is
//!   never split between two nodes for longer than one election.

use std::time::Duration;

use super::{Action, Actions, Fsm, Ignore, STOP_PRIORITY, State, Timer};

impl Fsm {
    /// Another member became Master: a Backup takes over now, as if its
    /// Master_Down_Timer had fired.
    pub(super) fn on_group_master(&mut self, now: Duration, out: &mut Actions) {
        if self.state != State::Backup {
            out.push(Action::Ignored(Ignore::GroupUnchanged));
            return;
        }
        self.cancel(Timer::MasterDown, out);
        self.become_master(now, out);
    }

    /// Another member left Master for Backup: a Master steps down too. It
    /// sends priority 0 (RFC 5798 §6.4.3's Shutdown advert) so the peer's
    /// member takes over after Skew_Time, as the peer's own group brings it
    /// along anyway, then waits as a Backup for a master.
    pub(super) fn on_group_backup(&mut self, now: Duration, out: &mut Actions) {
        if self.state != State::Master {
            out.push(Action::Ignored(Ignore::GroupUnchanged));
            return;
        }
        self.cancel(Timer::Adver, out);
        out.push(Action::SendAdvert {
            priority: STOP_PRIORITY,
        });
        out.push(Action::RemoveVips);
        self.master = None;
        self.master_adver_int_cs = self.config.advert_int_cs;
        let at = now.saturating_add(self.master_down_interval());
        self.arm(Timer::MasterDown, at, out);
        self.enter(State::Backup, out);
    }
}
