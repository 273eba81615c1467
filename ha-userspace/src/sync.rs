//! Locks that survive a panic elsewhere.
//!
//! The data behind the daemon's mutexes (the status document, the XDP maps'
//! handles, the advert ticker's table) stays consistent across a panic in the
//! middle of an update: every update is one assignment or one map write. So a
//! lock poisoned by a task that panicked is taken anyway: the supervisor deals
//! with the dead task, and the others keep working instead of panicking in turn.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, ignoring poison (see the module docs).
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_still_usable() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
