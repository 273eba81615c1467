//! What tracked objects do to an instance: its effective priority and
//! whether it must be in FAULT. Pure arithmetic, keepalived 2.2.7's rules
//! (`vrrp_track.c`: `initialise_*_tracking_priorities`,
//! `process_script_update_priority`, `update_track_file_status`,
//! `vrrp_set_effective_priority`), recomputed from the current levels rather
//! than accumulated change by change (the sum is the same).
//!
//! Pass/fail objects (scripts, built-in checks, processes by quorum,
//! interfaces), with `m` = −1 under `reverse`, else 1:
//! - weight 0: FAULT while down (with `reverse`: while up);
//! - weight w > 0: adds `w·m` while up, nothing while down;
//! - weight w < 0: adds `w·m` while down, nothing while up.
//!
//! Files (a value v): weight 0: FAULT while v ≠ 0 (with `reverse`: while
//! v = 0); otherwise `v·w·m`, clamped to −254..253, where −254 means FAULT.
//!
//! A script that has not finished its first run ([`Level::Init`])
//! contributes nothing; at weight 0 it holds the instance back
//! ([`Effect::waiting`]): keepalived keeps such an instance in its INIT
//! state (no adverts, not master) until the first result.
//!
//! The effective priority is base + contributions, clamped to 1..=254; an
//! address owner (255) keeps 255 whatever the weights, though a weight-0
//! object still puts it in FAULT.

/// The state of one tracked object, as its check task publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// No result yet (a `vrrp_script` before its first run ends).
    Init,
    /// Passing (script exit 0 after `rise`, TCP/HTTP good, quorum met,
    /// interface up).
    Up,
    /// Failing.
    Down,
    /// A tracked file's value (keepalived clamps it to −254..254).
    Value(i64),
    /// Not run at all (a script refused by `enable_script_security`):
    /// keepalived drops it from the instances that track it.
    Disabled,
}

/// One object an instance tracks, with the weight it tracks it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// The tracker's weight (its own, else the object's).
    pub weight: i32,
    /// keepalived's `reverse`.
    pub reverse: bool,
    /// The object's current level.
    pub level: Level,
}

/// What the tracked objects do to an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// The effective priority.
    pub priority: u8,
    /// Indexes (into the `tracked` slice) of the objects that put it in FAULT.
    pub faults: Vec<usize>,
    /// Indexes of weight-0 scripts with no result yet: the instance waits
    /// (keepalived's INIT) until they report.
    pub waiting: Vec<usize>,
}

impl Effect {
    /// True when the instance may run (no fault, nothing waited for).
    pub fn runnable(&self) -> bool {
        self.faults.is_empty() && self.waiting.is_empty()
    }
}

/// The owner priority (RFC 9568 §5.2.4), never changed by weights.
const OWNER: u8 = 255;
/// keepalived's file status meaning FAULT.
const FILE_FAULT: i64 = -254;

/// What one object contributes.
enum Contribution {
    Add(i64),
    Fault,
    Wait,
}

fn contribution(t: &Tracked) -> Contribution {
    let w = i64::from(t.weight);
    let m: i64 = if t.reverse { -1 } else { 1 };
    match t.level {
        Level::Disabled => Contribution::Add(0),
        Level::Init if w == 0 => Contribution::Wait,
        Level::Init => Contribution::Add(0),
        Level::Up | Level::Down => {
            let up = t.level == Level::Up;
            if w == 0 {
                if up == t.reverse {
                    Contribution::Fault
                } else {
                    Contribution::Add(0)
                }
            } else if (w > 0) == up {
                Contribution::Add(w * m)
            } else {
                Contribution::Add(0)
            }
        }
        Level::Value(v) => {
            let v = v.clamp(-254, 254);
            if w == 0 {
                if (v != 0) != t.reverse {
                    Contribution::Fault
                } else {
                    Contribution::Add(0)
                }
            } else {
                match (v * w * m).clamp(FILE_FAULT, 253) {
                    FILE_FAULT => Contribution::Fault,
                    s => Contribution::Add(s),
                }
            }
        }
    }
}

/// The effective priority of an instance of priority `base` and which of
/// `tracked` hold it in FAULT or waiting.
pub fn effect(base: u8, tracked: &[Tracked]) -> Effect {
    let mut total = i64::from(base);
    let mut faults = Vec::new();
    let mut waiting = Vec::new();
    for (i, t) in tracked.iter().enumerate() {
        match contribution(t) {
            Contribution::Add(n) => total += n,
            Contribution::Fault => faults.push(i),
            Contribution::Wait => waiting.push(i),
        }
    }
    let priority = if base == OWNER {
        OWNER
    } else {
        // Clamped to 1..=254, so the cast cannot truncate.
        total.clamp(1, 254) as u8
    };
    Effect {
        priority,
        faults,
        waiting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Level::*;

    fn t(weight: i32, reverse: bool, level: Level) -> Tracked {
        Tracked {
            weight,
            reverse,
            level,
        }
    }

    /// (base, weight, reverse, level) → (priority, fault, waiting)
    #[test]
    fn one_object_table() {
        #[rustfmt::skip]
        let table: &[(u8, i32, bool, Level, u8, bool, bool)] = &[
            // weight 0: FAULT while down, reverse: while up
            (100, 0, false, Up, 100, false, false),
            (100, 0, false, Down, 100, true, false),
            (100, 0, true, Up, 100, true, false),
            (100, 0, true, Down, 100, false, false),
            (100, 0, false, Init, 100, false, true),
            (100, 0, true, Init, 100, false, true),
            // positive weight adds while up
            (100, 10, false, Up, 110, false, false),
            (100, 10, false, Down, 100, false, false),
            (100, 10, false, Init, 100, false, false),
            // negative weight subtracts while down
            (100, -10, false, Up, 100, false, false),
            (100, -10, false, Down, 90, false, false),
            (100, -10, false, Init, 100, false, false),
            // reverse flips the direction
            (100, 10, true, Up, 90, false, false),
            (100, 10, true, Down, 100, false, false),
            (100, -10, true, Down, 110, false, false),
            (100, -10, true, Up, 100, false, false),
            // clamped to 1..=254
            (250, 50, false, Up, 254, false, false),
            (20, -50, false, Down, 1, false, false),
            // the owner never changes, but still faults at weight 0
            (255, -50, false, Down, 255, false, false),
            (255, 0, false, Down, 255, true, false),
            // disabled: nothing at all
            (100, 0, false, Disabled, 100, false, false),
            (100, -10, false, Disabled, 100, false, false),
            // files: weight 0 faults on a non-zero value (reverse: on 0)
            (100, 0, false, Value(0), 100, false, false),
            (100, 0, false, Value(3), 100, true, false),
            (100, 0, false, Value(-1), 100, true, false),
            (100, 0, true, Value(0), 100, true, false),
            (100, 0, true, Value(5), 100, false, false),
            // files: value × weight (× −1 reversed)
            (100, 1, false, Value(20), 120, false, false),
            (100, 2, false, Value(-20), 60, false, false),
            (100, 3, true, Value(10), 70, false, false),
            (100, 1, false, Value(253), 254, false, false),
            // files: clamped at 253 upwards; −254 or below is FAULT
            (1, 10, false, Value(100), 254, false, false),
            (100, 1, false, Value(-253), 1, false, false),
            (100, 1, false, Value(-254), 100, true, false),
            (100, 2, false, Value(-127), 100, true, false),
            (100, -1, true, Value(-254), 100, true, false),
            (100, 1, false, Value(-10_000), 100, true, false),
            // the owner keeps 255 but a file status of −254 faults it
            (255, 1, false, Value(-100), 255, false, false),
            (255, 1, false, Value(-254), 255, true, false),
        ];
        for &(base, w, rev, level, prio, fault, wait) in table {
            let e = effect(base, &[t(w, rev, level)]);
            let case = format!("base {base} weight {w} reverse {rev} {level:?}");
            assert_eq!(e.priority, prio, "{case}");
            assert_eq!(!e.faults.is_empty(), fault, "{case}");
            assert_eq!(!e.waiting.is_empty(), wait, "{case}");
        }
    }

    #[test]
    fn contributions_add_up_and_faults_are_indexed() {
        let e = effect(
            100,
            &[
                t(10, false, Up),
                t(-20, false, Down),
                t(0, false, Down),
                t(2, false, Value(5)),
                t(0, false, Init),
            ],
        );
        assert_eq!(e.priority, 100);
        assert_eq!(e.faults, vec![2]);
        assert_eq!(e.waiting, vec![4]);
        assert!(!e.runnable());
        assert!(effect(100, &[]).runnable());
    }

    mod prop {
        use proptest::prelude::*;

        use super::super::*;

        fn level() -> impl Strategy<Value = Level> {
            prop_oneof![
                Just(Level::Init),
                Just(Level::Up),
                Just(Level::Down),
                Just(Level::Disabled),
                any::<i64>().prop_map(Level::Value),
            ]
        }

        fn tracked() -> impl Strategy<Value = Tracked> {
            (-254i32..=254, any::<bool>(), level()).prop_map(|(weight, reverse, level)| Tracked {
                weight,
                reverse,
                level,
            })
        }

        proptest! {
            #[test]
            fn priority_stays_in_range(base in 1u8..=255, ts in proptest::collection::vec(tracked(), 0..12)) {
                let e = effect(base, &ts);
                if base == 255 {
                    prop_assert_eq!(e.priority, 255);
                } else {
                    prop_assert!((1..=254).contains(&e.priority));
                }
                for &i in e.faults.iter().chain(&e.waiting) {
                    prop_assert!(i < ts.len());
                }
            }
        }
    }
}
