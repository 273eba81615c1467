//! The Backup state, RFC 5798 §6.4.2 (RFC 9568 §6.4.2, RFC 3768 §6.4.2).

use std::time::Duration;

use super::{Action, Actions, Fsm, Ignore, OWNER_PRIORITY, Peer, STOP_PRIORITY, Timer};
use crate::vrrp::Version;

impl Fsm {
    /// RFC 5798 §6.4.2 "If the Master_Down_Timer fires": send an advert,
    /// announce the VIPs, set the Adver_Timer, transition to {Master}.
    pub(super) fn backup_master_down(&mut self, now: Duration, out: &mut Actions) {
        self.become_master(now, out);
    }

    /// RFC 5798 §6.4.2 "If an ADVERTISEMENT is received".
    pub(super) fn backup_advert(&mut self, advert: Peer, now: Duration, out: &mut Actions) {
        if advert.priority == STOP_PRIORITY {
            // "If the Priority in the ADVERTISEMENT is zero, then: Set the
            // Master_Down_Timer to Skew_Time." The master is leaving; the
            // highest-priority backup has the shortest skew and wins. Each
            // one sets it again, as the RFC says: a stranger's stream of them
            // then holds the takeover off while it lasts (the master is heard
            // all along), where keeping the first deadline would make the
            // backup take over once per interval and move the clients to and
            // fro. `check_unicast_src` / `accept_from` keep strangers out.
            self.master = None;
            let at = now.saturating_add(self.skew_time());
            self.arm(Timer::MasterDown, at, out);
            return;
        }

        let lower = advert.priority < self.priority;
        // RFC 5798 §6.1 Preempt_Mode: "the router that owns the IPvX
        // address ... always preempts, independent of the setting".
        let preempt = self.config.preempt || self.config.priority == OWNER_PRIORITY;
        if lower && preempt && !self.preempt_delay_holds(now) {
            // "else // preempt was true and priority was less than the
            // local priority: Discard the ADVERTISEMENT." Master_Down_Timer
            // keeps running from the last advert we accepted; when it fires
            // we take over.
            out.push(Action::Ignored(Ignore::Outranked));
            return;
        }

        // "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT
        // is greater than or equal to the local Priority": set
        // Master_Adver_Interval from the advert, recompute Skew_Time and
        // Master_Down_Interval, reset the Master_Down_Timer. Equal priority
        // is accepted whatever the addresses: the address tie-break is only
        // between two masters (§6.4.3).
        if !lower {
            // keepalived: an advert that ranks at or above us stops a
            // running preempt delay; the next lower one starts a new one.
            self.preempt_hold_until = None;
        }
        if self.config.version == Version::V3 {
            self.master_adver_int_cs = advert.advert_int_cs;
        }
        self.master = Some(advert);
        let at = now.saturating_add(self.master_down_interval());
        self.arm(Timer::MasterDown, at, out);
    }

    /// keepalived `preempt_delay` (see the `fsm` module docs): whether a
    /// lower-priority master must still be accepted at `now`. Starts a hold
    /// if none is running.
    fn preempt_delay_holds(&mut self, now: Duration) -> bool {
        let delay = self.config.preempt_delay;
        if delay.is_zero() {
            return false;
        }
        match self.preempt_hold_until {
            None => {
                self.preempt_hold_until = Some(now.saturating_add(delay));
                true
            }
            Some(until) => now < until,
        }
    }
}
