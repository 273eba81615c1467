//! The daemon's background tasks, each with a name, so the one that ends or
//! fails can be named in the log and the error.

use std::{collections::HashMap, future::Future};

use tokio::task::{Id, JoinError, JoinSet};

/// Tasks that run as long as the daemon: none of them ends on its own.
#[derive(Default)]
pub struct Background {
    set: JoinSet<()>,
    names: HashMap<Id, String>,
}

impl Background {
    /// Starts `task` under `name`.
    pub fn spawn(
        &mut self,
        name: impl Into<String>,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let handle = self.set.spawn(task);
        self.names.insert(handle.id(), name.into());
    }

    /// The next task to end, by name: `Ok` if it returned, the panic or
    /// cancellation otherwise. Pending forever when none is left.
    pub async fn next(&mut self) -> (String, Result<(), JoinError>) {
        match self.set.join_next_with_id().await {
            Some(Ok((id, ()))) => (self.name(id), Ok(())),
            Some(Err(e)) => (self.name(e.id()), Err(e)),
            None => std::future::pending().await,
        }
    }

    /// Whether no task is left.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Stops them all.
    pub fn abort_all(&mut self) {
        self.set.abort_all();
    }

    fn name(&mut self, id: Id) -> String {
        self.names
            .remove(&id)
            .unwrap_or_else(|| "background".into())
    }
}
