//! keepalived's `rise`/`fall` counter for a `vrrp_script` (and ha's built-in
//! checks), `vrrp_scheduler.c`'s `vrrp_script_child_thread`.
//!
//! A counter runs from 0 to `rise + fall − 1`; at or above `rise` the check
//! is good. A success below `rise − 1` counts up by one; from `rise − 1` it
//! jumps to the top (good). A failure above `rise` counts down by one; from
//! `rise` or below it drops to 0 (failed). So a good check fails after
//! `fall` failures in a row and a failed one recovers after `rise` successes
//! in a row; a check that alternates never changes state.
//!
//! The start: the counter begins at `rise − 1` in an "init" state where the
//! first result decides either way (one success is enough, and so is one
//! failure); with `init_fail` it begins at 0, already failed.

use super::weight::Level;

/// One check's rise/fall state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hysteresis {
    rise: u32,
    fall: u32,
    result: u32,
    level: Level,
}

impl Hysteresis {
    /// A new counter; `rise` and `fall` of 0 count as 1.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Hysteresis {
        let rise = rise.max(1);
        let fall = fall.max(1);
        if init_fail {
            Hysteresis {
                rise,
                fall,
                result: 0,
                level: Level::Down,
            }
        } else {
            Hysteresis {
                rise,
                fall,
                result: rise - 1,
                level: Level::Init,
            }
        }
    }

    /// The current level: [`Level::Init`], [`Level::Up`] or [`Level::Down`].
    pub fn level(&self) -> Level {
        self.level
    }

    /// Counts one result; returns the new level when it changed.
    pub fn record(&mut self, ok: bool) -> Option<Level> {
        let top = self.rise + self.fall - 1;
        let before = self.level;
        if ok {
            if self.result < self.rise - 1 {
                self.result += 1;
            } else {
                self.result = top;
                self.level = Level::Up;
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            self.result = 0;
            self.level = Level::Down;
        }
        (before != self.level).then_some(self.level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(h: &mut Hysteresis, results: &[bool]) -> Vec<Level> {
        results
            .iter()
            .map(|&ok| {
                h.record(ok);
                h.level()
            })
            .collect()
    }

    #[test]
    fn the_first_result_decides() {
        let mut h = Hysteresis::new(3, 3, false);
        assert_eq!(h.level(), Level::Init);
        assert_eq!(h.record(true), Some(Level::Up));
        let mut h = Hysteresis::new(3, 3, false);
        assert_eq!(h.record(false), Some(Level::Down));
    }

    #[test]
    fn init_fail_starts_down_and_needs_rise() {
        let mut h = Hysteresis::new(2, 2, true);
        assert_eq!(h.level(), Level::Down);
        assert_eq!(feed(&mut h, &[true, true]), [Level::Down, Level::Up]);
    }

    #[test]
    fn fall_and_rise_count_in_a_row() {
        use Level::{Down, Up};
        let mut h = Hysteresis::new(2, 3, false);
        h.record(true);
        assert_eq!(
            feed(
                &mut h,
                &[false, false, true, false, false, false, true, true]
            ),
            [Up, Up, Up, Up, Up, Down, Down, Up]
        );
    }

    #[test]
    fn alternating_results_never_change_state() {
        for start in [true, false] {
            let mut h = Hysteresis::new(2, 2, false);
            h.record(start);
            let level = h.level();
            for i in 0..20 {
                assert_eq!(h.record(i % 2 == 0), None);
                assert_eq!(h.level(), level);
            }
        }
    }
}
