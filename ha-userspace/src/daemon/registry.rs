//! The running instances, by name: what the supervisor needs to reach one
//! (its inbox), stop one (its stop handle), report on one (its status slot)
//! and clean up after one whose task died (its VIPs).

use std::collections::{BTreeMap, HashMap};

use tokio::{
    sync::{mpsc, watch},
    task::Id,
};

use crate::{
    config::Vip,
    instance::{Inbound, Routes},
};

/// One running instance.
#[derive(Debug)]
pub struct Entry {
    /// Adverts, kernel events and (later) tracker inputs for it.
    pub inbox: mpsc::Sender<Inbound>,
    /// `true` asks it to hand over and stop.
    pub stop: watch::Sender<bool>,
    /// Its index in the status document.
    pub status: usize,
    /// The interface its adverts use: link changes there go to its inbox.
    pub ifindex: u32,
    /// Every VIP it may hold, with the interface it lives on: removed by the
    /// supervisor if the task dies without doing it.
    pub vips: Vec<(u32, Vip)>,
    /// Its virtual routes and rules: removed with the VIPs.
    pub routes: Routes,
}

/// The instances of the daemon, by name and by task.
#[derive(Debug, Default)]
pub struct Registry {
    by_name: BTreeMap<String, Entry>,
    by_task: HashMap<Id, String>,
}

impl Registry {
    /// Adds an instance before its task is spawned.
    pub fn insert(&mut self, name: String, entry: Entry) {
        self.by_name.insert(name, entry);
    }

    /// Records which task runs instance `name`.
    pub fn bind(&mut self, task: Id, name: &str) {
        self.by_task.insert(task, name.to_string());
    }

    /// The instance run by `task`, taken out of the registry (its task ended).
    pub fn remove_task(&mut self, task: Id) -> Option<(String, Entry)> {
        let name = self.by_task.remove(&task)?;
        let entry = self.by_name.remove(&name)?;
        Some((name, entry))
    }

    /// Every instance's inbox with the interface it watches.
    pub fn link_routes(&self) -> Vec<(u32, mpsc::Sender<Inbound>)> {
        self.by_name
            .values()
            .map(|e| (e.ifindex, e.inbox.clone()))
            .collect()
    }

    /// Every instance's inbox, by name.
    pub fn inboxes(&self) -> HashMap<String, mpsc::Sender<Inbound>> {
        self.by_name
            .iter()
            .map(|(n, e)| (n.clone(), e.inbox.clone()))
            .collect()
    }

    /// Asks every instance still running to hand over and stop.
    pub fn stop_all(&self) {
        for entry in self.by_name.values() {
            let _ = entry.stop.send(true);
        }
    }

    /// How many instances are still running.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}
