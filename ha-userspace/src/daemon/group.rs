//! The sync-group coordinator (keepalived's `vrrp_sync_group`): one task per
//! group that hears every member's state and moves the others with it (the
//! rules are in `vrrp::fsm::group`), and runs the group's notify scripts.

use tokio::sync::mpsc;
use tracing::info;

use crate::{
    instance::{GroupReport, Inbound},
    notify::{Notifier, NotifyState},
    vrrp::{FaultSource, Input, State},
};

/// One member: its name and inbox.
pub struct Member {
    /// Instance name, for the log.
    pub name: String,
    /// Where group inputs go.
    pub inbox: mpsc::Sender<Inbound>,
}

/// The group as a whole, for its notify scripts and the FIFO: Fault while any
/// member is, Master or Backup once every member is, unchanged in between.
fn group_state(states: &[State], faulted: bool) -> Option<NotifyState> {
    if faulted || states.contains(&State::Fault) {
        return Some(NotifyState::Fault);
    }
    if states.iter().all(|s| *s == State::Master) {
        return Some(NotifyState::Master);
    }
    if states.iter().all(|s| *s == State::Backup) {
        return Some(NotifyState::Backup);
    }
    None
}

/// Runs the group `name` until every member has gone (the daemon stops).
/// `reports` carries `(member index, report)` from the members' tasks.
pub async fn coordinate(
    name: String,
    members: Vec<Member>,
    mut reports: mpsc::UnboundedReceiver<(usize, GroupReport)>,
    notifier: Option<Notifier>,
) {
    let mut states = vec![State::Initialize; members.len()];
    let mut own_fault = vec![false; members.len()];
    let mut faulted = false;
    let mut announced: Option<NotifyState> = None;
    while let Some((m, report)) = reports.recv().await {
        let from = std::mem::replace(&mut states[m], report.state);
        own_fault[m] = report.own_fault;
        let any_fault = own_fault.iter().any(|f| *f);
        let mut inputs = Vec::new();
        if any_fault != faulted {
            faulted = any_fault;
            info!(group = %name, member = %members[m].name, faulted, "sync group fault");
            inputs.push(Input::Fault {
                source: FaultSource::Group,
                on: faulted,
            });
        }
        if !faulted && from != report.state {
            match (from, report.state) {
                (_, State::Master) => inputs.push(Input::GroupMaster),
                (State::Master, State::Backup) => inputs.push(Input::GroupBackup),
                _ => {}
            }
        }
        for input in inputs {
            for (i, member) in members.iter().enumerate() {
                // A fault goes to every member (the one that caused it too,
                // so the group stays down until all sources have cleared);
                // a state change only to the others.
                let fault = matches!(input, Input::Fault { .. });
                if fault || i != m {
                    let _ = member.inbox.send(Inbound::Group(input)).await;
                }
            }
        }
        if let Some(state) = group_state(&states, faulted)
            && announced != Some(state)
        {
            info!(group = %name, state = state.word(), "sync group state");
            announced = Some(state);
            if let Some(n) = &notifier {
                n.event(state, 0);
            }
        }
    }
    if let Some(n) = &notifier {
        n.event(NotifyState::Stop, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_state_needs_every_member() {
        use State::*;
        assert_eq!(
            group_state(&[Master, Master], false),
            Some(NotifyState::Master)
        );
        assert_eq!(group_state(&[Master, Backup], false), None);
        assert_eq!(
            group_state(&[Backup, Backup], false),
            Some(NotifyState::Backup)
        );
        assert_eq!(
            group_state(&[Backup, Fault], false),
            Some(NotifyState::Fault)
        );
        assert_eq!(
            group_state(&[Master, Master], true),
            Some(NotifyState::Fault)
        );
    }
}
