//! The Releasing state: a make-before-break shutdown (not in the RFC; see the
//! `fsm` module docs). We have sent priority 0 (RFC 5798 §6.4.3 Shutdown) and
//! still hold the VIPs until a new master shows up.

use super::{Action, Actions, Fsm, Handover, Ignore, Peer, STOP_PRIORITY, State, Timer};

impl Fsm {
    /// An advert while releasing. Any non-zero priority comes from a master
    /// (backups never send, RFC 5798 §6.4.2), and a master configures the
    /// VIPs before it advertises (§6.4.2 order), so the VIPs have a new owner
    /// and ours can go.
    pub(super) fn releasing_advert(&mut self, advert: Peer, out: &mut Actions) {
        if advert.priority == STOP_PRIORITY {
            out.push(Action::Ignored(Ignore::StopWhileReleasing));
            return;
        }
        self.finish_release(Some(advert), out);
    }

    /// Nobody took over within the release deadline: give the VIPs up anyway,
    /// as an immediate shutdown would have.
    pub(super) fn release_deadline(&mut self, out: &mut Actions) {
        self.finish_release(None, out);
    }

    /// Shutdown while releasing: an immediate one cuts the wait short.
    pub(super) fn releasing_shutdown(&mut self, handover: Handover, out: &mut Actions) {
        match handover {
            Handover::Immediate => self.finish_release(None, out),
            Handover::MakeBeforeBreak => out.push(Action::Ignored(Ignore::AlreadyReleasing)),
        }
    }

    pub(super) fn finish_release(&mut self, successor: Option<Peer>, out: &mut Actions) {
        if self.deadlines.release.is_some() {
            self.cancel(Timer::Release, out);
        }
        // Released first: the driver lingers before the removal when a
        // successor was heard.
        out.push(Action::Released {
            successor: successor.map(|p| p.addr),
        });
        out.push(Action::RemoveVips);
        self.master = None;
        self.enter(State::Initialize, out);
    }
}
