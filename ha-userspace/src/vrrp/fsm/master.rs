//! The Master state, RFC 5798 §6.4.3 (RFC 9568 §6.4.3 "Active", RFC 3768
//! §6.4.3).

use std::time::Duration;

use super::{
    Action, Actions, Fsm, Handover, Ignore, Peer, STOP_PRIORITY, State, Timer, addr_greater,
};
use crate::vrrp::Version;

impl Fsm {
    /// RFC 5798 §6.4.3 "If the Adver_Timer fires": send an advert, reset the
    /// Adver_Timer to Advertisement_Interval.
    ///
    /// "Reset the Adver_Timer to Advertisement_Interval" is counted from the
    /// deadline that fired, not from when the driver got round to it: otherwise
    /// every wake-up latency is added to the interval and the adverts drift late
    /// (at 0.01 s, 11.3 ms apart instead of 10, eating the backups' margin). A
    /// driver that fell a whole interval behind starts again from `now`.
    pub(super) fn master_adver_timer(&mut self, due: Duration, now: Duration, out: &mut Actions) {
        out.push(Action::SendAdvert {
            priority: self.priority,
        });
        let interval = self.config.advert_interval();
        let on_schedule = due.saturating_add(interval);
        let at = if on_schedule > now {
            on_schedule
        } else {
            now.saturating_add(interval)
        };
        self.arm(Timer::Adver, at, out);
    }

    /// RFC 5798 §6.4.3 "If an ADVERTISEMENT is received".
    pub(super) fn master_advert(&mut self, advert: Peer, now: Duration, out: &mut Actions) {
        if advert.priority == STOP_PRIORITY {
            // "If the Priority in the ADVERTISEMENT is zero, then: Send an
            // ADVERTISEMENT, reset the Adver_Timer" — tells the stopping
            // router (and the backups) that a master is in place. At most once
            // per interval: a flood of priority-0 adverts must not become a
            // flood of ours.
            if self.may_reassert(now) {
                self.send_advert_and_rearm(now, out);
            } else {
                out.push(Action::Ignored(Ignore::ReassertLimited));
            }
            return;
        }

        // "If the Priority in the ADVERTISEMENT is greater than the local
        // Priority or the Priority in the ADVERTISEMENT is equal to the local
        // Priority and the primary IPvX address of the sender is greater than
        // the local primary IPvX address (unsigned integer comparison in
        // network byte order)".
        let sender_wins = advert.priority > self.priority
            || (advert.priority == self.priority
                && addr_greater(advert.addr, self.config.primary_addr));
        if sender_wins {
            self.yield_to(advert, now, out);
            return;
        }

        // "else // new Active Router logic: Discard the ADVERTISEMENT" and,
        // new in RFC 9568, "Send an ADVERTISEMENT immediately to assert the
        // {Active} state to the sending VRRP Router and to update any
        // learning bridges". Re-arming keeps adverts one interval apart. The
        // VIPs are announced again too, for neighbours the other router misled
        // with its gratuitous ARP (keepalived's garp_lower_prio_repeat). Both
        // at most once per interval, so spoofed adverts cannot make a storm.
        out.push(Action::Ignored(Ignore::Outranked));
        if self.config.lower_prio_readvert && self.may_reassert(now) {
            self.send_advert_and_rearm(now, out);
            out.push(Action::SendGratuitous);
        }
    }

    /// Whether a Master may answer an advert at once (see above); if so the
    /// answer is recorded.
    fn may_reassert(&mut self, now: Duration) -> bool {
        let interval = self.config.advert_interval();
        if self
            .last_reassert
            .is_some_and(|last| now < last.saturating_add(interval))
        {
            return false;
        }
        self.last_reassert = Some(now);
        true
    }

    /// The Master → Backup transition of RFC 5798 §6.4.3: cancel the
    /// Adver_Timer, learn the sender's interval (v3), recompute Skew_Time and
    /// Master_Down_Interval, set the Master_Down_Timer, go {Backup}. As
    /// Backup we must not hold the VIPs (§6.4.2: no ARP replies, no traffic
    /// for them), so they come off here.
    fn yield_to(&mut self, advert: Peer, now: Duration, out: &mut Actions) {
        self.cancel(Timer::Adver, out);
        out.push(Action::RemoveVips);
        if self.config.version == Version::V3 {
            self.master_adver_int_cs = advert.advert_int_cs;
        }
        self.master = Some(advert);
        // The sender ranks at or above us: no preempt delay is running.
        self.preempt_hold_until = None;
        let at = now.saturating_add(self.master_down_interval());
        self.arm(Timer::MasterDown, at, out);
        self.enter(State::Backup, out);
    }

    /// RFC 5798 §6.4.3 "If a Shutdown event is received": cancel the
    /// Adver_Timer, send an advert with priority 0, transition to
    /// {Initialize}. With make-before-break we stop in {Releasing} instead,
    /// keeping the VIPs until a successor is heard (see the module docs).
    pub(super) fn master_shutdown(&mut self, handover: Handover, now: Duration, out: &mut Actions) {
        self.cancel(Timer::Adver, out);
        out.push(Action::SendAdvert {
            priority: STOP_PRIORITY,
        });
        match handover {
            Handover::Immediate => {
                out.push(Action::RemoveVips);
                self.enter(State::Initialize, out);
            }
            Handover::MakeBeforeBreak => {
                let at = now.saturating_add(self.release_deadline_interval());
                self.arm(Timer::Release, at, out);
                self.enter(State::Releasing, out);
            }
        }
    }

    fn send_advert_and_rearm(&mut self, now: Duration, out: &mut Actions) {
        out.push(Action::SendAdvert {
            priority: self.priority,
        });
        let at = now.saturating_add(self.config.advert_interval());
        self.arm(Timer::Adver, at, out);
    }
}
