//! One test per rule, each named after the RFC section it checks. Time is a
//! simulated clock: plain `Duration`s from an arbitrary epoch.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::*;
use crate::vrrp::timers::{
    master_down_interval_v2, master_down_interval_v3, skew_time_v2, skew_time_v3,
};

/// Start of every test's clock: not zero, so a forgotten `now +` shows.
const T0: Duration = Duration::from_secs(1000);
const SEC: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, last))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last))
}

/// Our address is 198.18.0.10 (or fe80::10).
const OURS: u8 = 10;

fn config(version: Version, priority: u8) -> Config {
    Config::new(7, version, priority, v4(OURS))
}

fn fsm(config: Config) -> Fsm {
    Fsm::new(config).expect("valid config")
}

fn advert(src: IpAddr, priority: u8, advert_int_cs: u16) -> Input {
    Input::AdvertReceived {
        src,
        priority,
        advert_int_cs,
    }
}

/// A started non-owner, in Backup since T0.
fn backup(config: Config) -> Fsm {
    let mut f = fsm(config);
    f.handle(Input::Startup, T0);
    assert_eq!(f.state(), State::Backup);
    f
}

/// A non-owner that became Master at T0 + Master_Down_Interval; returns the
/// time it did.
fn master(config: Config) -> (Fsm, Duration) {
    let mut f = backup(config);
    let at = T0 + f.master_down_interval();
    f.handle(Input::MasterDownTimer, at);
    assert_eq!(f.state(), State::Master);
    (f, at)
}

fn changed(from: State, to: State) -> Action {
    Action::StateChanged { from, to }
}

// ----- configuration --------------------------------------------------------

#[test]
fn config_ranges_are_checked() {
    assert_eq!(
        Fsm::new(Config {
            vrid: 0,
            ..config(Version::V3, 100)
        })
        .err(),
        Some(ConfigError::Vrid)
    );
    assert_eq!(
        Fsm::new(config(Version::V3, 0)).err(),
        Some(ConfigError::Priority)
    );
    let bad_v3 = Config {
        advert_int_cs: 4096,
        ..config(Version::V3, 100)
    };
    assert_eq!(Fsm::new(bad_v3).err(), Some(ConfigError::V3Interval(4096)));
    let bad_v2 = Config {
        advert_int_cs: 150,
        ..config(Version::V2, 100)
    };
    assert_eq!(Fsm::new(bad_v2).err(), Some(ConfigError::V2Interval(150)));
    let v2_v6 = Config::new(7, Version::V2, 100, v6(1));
    assert_eq!(Fsm::new(v2_v6).err(), Some(ConfigError::V2Ipv6));
    assert!(
        Fsm::new(Config {
            advert_int_cs: 25_500,
            ..config(Version::V2, 255)
        })
        .is_ok()
    );
    assert!(
        Fsm::new(Config {
            advert_int_cs: 1,
            ..config(Version::V3, 1)
        })
        .is_ok()
    );
}

// ----- RFC 5798 §6.4.1 Initialize --------------------------------------------

/// §6.4.1: the owner (255) becomes Master at once: VIPs, advert, GARP/NA,
/// Adver_Timer.
#[test]
fn rfc5798_6_4_1_owner_starts_as_master() {
    for version in [Version::V2, Version::V3] {
        let mut f = fsm(config(version, 255));
        let out = f.handle(Input::Startup, T0);
        assert_eq!(
            out,
            [
                Action::AddVips,
                Action::SendAdvert { priority: 255 },
                Action::SendGratuitous,
                Action::ArmAdverTimer { at: T0 + SEC },
                changed(State::Initialize, State::Master),
            ]
        );
        assert_eq!(f.state(), State::Master);
    }
}

/// §6.4.1: a non-owner sets Master_Adver_Interval to Advertisement_Interval,
/// arms Master_Down_Timer = Master_Down_Interval and becomes Backup.
#[test]
fn rfc5798_6_4_1_non_owner_starts_as_backup() {
    let mut f = fsm(Config {
        advert_int_cs: 50,
        ..config(Version::V3, 100)
    });
    let out = f.handle(Input::Startup, T0);
    let mdi = master_down_interval_v3(100, 50);
    assert_eq!(
        out,
        [
            Action::ArmMasterDownTimer { at: T0 + mdi },
            changed(State::Initialize, State::Backup)
        ]
    );
    assert_eq!(f.master_adver_interval_cs(), 50);
    assert_eq!(f.master_down_interval(), mdi);
    assert_eq!(f.skew_time(), skew_time_v3(100, 50));

    // RFC 3768 §6.4.1: the same with the v2 formula.
    let mut f = fsm(Config {
        advert_int_cs: 200,
        ..config(Version::V2, 100)
    });
    let out = f.handle(Input::Startup, T0);
    let mdi = master_down_interval_v2(200, 100);
    assert_eq!(out[0], Action::ArmMasterDownTimer { at: T0 + mdi });
    assert_eq!(f.skew_time(), skew_time_v2(100));
}

#[test]
fn startup_while_running_is_ignored() {
    let mut f = backup(config(Version::V3, 100));
    assert_eq!(
        f.handle(Input::Startup, T0 + SEC),
        [Action::Ignored(Ignore::AlreadyRunning)]
    );
}

/// §6.4.1: nothing but Startup does anything in Initialize.
#[test]
fn rfc5798_6_4_1_initialize_ignores_adverts_and_timers() {
    let mut f = fsm(config(Version::V3, 100));
    let ignored = |i| [Action::Ignored(i)];
    assert_eq!(
        f.handle(advert(v4(1), 200, 100), T0),
        ignored(Ignore::NotRunning)
    );
    assert_eq!(
        f.handle(Input::MasterDownTimer, T0),
        ignored(Ignore::StaleTimer)
    );
    assert_eq!(f.handle(Input::AdverTimer, T0), ignored(Ignore::StaleTimer));
    assert_eq!(
        f.handle(Input::ReleaseTimer, T0),
        ignored(Ignore::StaleTimer)
    );
    let shutdown = Input::Shutdown {
        handover: Handover::Immediate,
    };
    assert_eq!(f.handle(shutdown, T0), ignored(Ignore::NotRunning));
    assert_eq!(f.state(), State::Initialize);
}

// ----- RFC 5798 §6.4.2 Backup ------------------------------------------------

/// §6.4.2 "If the Master_Down_Timer fires": VIPs, advert, GARP/NA,
/// Adver_Timer, Master.
#[test]
fn rfc5798_6_4_2_master_down_timer_makes_master() {
    let mut f = backup(config(Version::V3, 100));
    let at = T0 + master_down_interval_v3(100, 100);
    assert_eq!(
        f.handle(Input::MasterDownTimer, at),
        [
            Action::AddVips,
            Action::SendAdvert { priority: 100 },
            Action::SendGratuitous,
            Action::ArmAdverTimer { at: at + SEC },
            changed(State::Backup, State::Master),
        ]
    );
}

/// The machine only honours a timer it armed, at or after its deadline.
#[test]
fn stale_or_early_timer_is_ignored() {
    let mut f = backup(config(Version::V3, 100));
    let first = T0 + f.master_down_interval();
    // Early firing.
    assert_eq!(
        f.handle(Input::MasterDownTimer, first - ms(1)),
        [Action::Ignored(Ignore::StaleTimer)]
    );
    // Re-armed by an advert: the old deadline is stale.
    f.handle(advert(v4(1), 200, 100), T0 + SEC);
    assert_eq!(
        f.handle(Input::MasterDownTimer, first),
        [Action::Ignored(Ignore::StaleTimer)]
    );
    // A timer of the wrong kind for the state.
    assert_eq!(
        f.handle(Input::AdverTimer, first),
        [Action::Ignored(Ignore::StaleTimer)]
    );
    assert_eq!(f.state(), State::Backup);
    // Fired once, consumed: a duplicate firing is stale.
    let second = T0 + SEC + f.master_down_interval();
    assert_eq!(
        f.handle(Input::MasterDownTimer, second).last(),
        Some(&changed(State::Backup, State::Master))
    );
    let (mut m, at) = master(config(Version::V3, 100));
    m.handle(Input::AdverTimer, at + SEC);
    assert_eq!(
        m.handle(Input::AdverTimer, at + SEC),
        [Action::Ignored(Ignore::StaleTimer)]
    );
}

/// §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the
/// Master_Down_Timer to Skew_Time."
#[test]
fn rfc5798_6_4_2_priority_zero_sets_skew_time() {
    for version in [Version::V2, Version::V3] {
        let mut f = backup(config(version, 100));
        f.handle(advert(v4(1), 200, 100), T0 + SEC);
        let t = T0 + ms(1500);
        let skew = f.skew_time();
        assert_eq!(
            f.handle(advert(v4(1), 0, 100), t),
            [Action::ArmMasterDownTimer { at: t + skew }]
        );
        assert_eq!(f.master(), None);
        let out = f.handle(Input::MasterDownTimer, t + skew);
        assert_eq!(out.last(), Some(&changed(State::Backup, State::Master)));
    }
}

/// §6.4.2: a higher-priority advert resets Master_Down_Timer; v3 learns the
/// master's interval and recomputes Skew_Time and Master_Down_Interval.
#[test]
fn rfc5798_6_4_2_higher_priority_resets_timer_and_learns_interval() {
    let mut f = backup(config(Version::V3, 100));
    let t = T0 + ms(300);
    let out = f.handle(advert(v4(1), 150, 40), t);
    assert_eq!(
        out,
        [Action::ArmMasterDownTimer {
            at: t + master_down_interval_v3(100, 40)
        }]
    );
    assert_eq!(f.master_adver_interval_cs(), 40);
    assert_eq!(f.skew_time(), skew_time_v3(100, 40));
    assert_eq!(
        f.master(),
        Some(Peer {
            addr: v4(1),
            priority: 150,
            advert_int_cs: 40
        })
    );
}

/// §6.4.2: equal priority is accepted like a higher one, whatever the
/// addresses (the address tie-break is only between masters).
#[test]
fn rfc5798_6_4_2_equal_priority_is_accepted() {
    for src in [v4(1), v4(200)] {
        let mut f = backup(config(Version::V3, 100));
        let t = T0 + SEC;
        let out = f.handle(advert(src, 100, 100), t);
        assert_eq!(
            out,
            [Action::ArmMasterDownTimer {
                at: t + f.master_down_interval()
            }]
        );
    }
}

/// §6.4.2: with Preempt_Mode a lower-priority advert is discarded, so the
/// timer armed by the last accepted advert expires and we preempt.
#[test]
fn rfc5798_6_4_2_preempt_discards_lower_priority() {
    let mut f = backup(config(Version::V3, 100));
    let deadline = T0 + f.master_down_interval();
    for k in 1..=3 {
        assert_eq!(
            f.handle(advert(v4(1), 50, 100), T0 + k * SEC),
            [Action::Ignored(Ignore::Outranked)]
        );
    }
    assert_eq!(
        f.handle(Input::MasterDownTimer, deadline).last(),
        Some(&changed(State::Backup, State::Master))
    );
}

/// §6.4.2: "If Preempt_Mode is False ... reset the Master_Down_Timer" even for
/// a lower priority.
#[test]
fn rfc5798_6_4_2_no_preempt_accepts_lower_priority() {
    let mut f = backup(Config {
        preempt: false,
        ..config(Version::V3, 100)
    });
    let t = T0 + SEC;
    assert_eq!(
        f.handle(advert(v4(1), 50, 80), t),
        [Action::ArmMasterDownTimer {
            at: t + master_down_interval_v3(100, 80)
        }]
    );
    assert_eq!(f.master_adver_interval_cs(), 80);
}

/// §6.1 Preempt_Mode: the owner always preempts, whatever the flag.
#[test]
fn rfc5798_6_1_owner_always_preempts() {
    let mut f = fsm(Config {
        preempt: false,
        ..config(Version::V3, 255)
    });
    f.handle(Input::Startup, T0);
    // Duplicate owner with a greater address wins the tie (erratum 8298).
    f.handle(advert(v4(OURS + 1), 255, 100), T0 + SEC);
    assert_eq!(f.state(), State::Backup);
    assert_eq!(
        f.handle(advert(v4(1), 254, 100), T0 + 2 * SEC),
        [Action::Ignored(Ignore::Outranked)]
    );
}

/// RFC 3768 §7.1: a v2 advert with another interval MUST be discarded, in
/// every state.
#[test]
fn rfc3768_7_1_v2_interval_mismatch_is_discarded() {
    let mismatch = [Action::Ignored(Ignore::IntervalMismatch {
        ours: 100,
        theirs: 200,
    })];
    let mut b = backup(config(Version::V2, 100));
    assert_eq!(b.handle(advert(v4(1), 200, 200), T0 + SEC), mismatch);
    assert_eq!(b.master_adver_interval_cs(), 100);
    let (mut m, at) = master(config(Version::V2, 100));
    assert_eq!(m.handle(advert(v4(1), 200, 200), at + ms(10)), mismatch);
    assert_eq!(m.state(), State::Master);
}

/// RFC 5798 §6.4.2: v3 never drops on the interval; RFC 9568 erratum 8301
/// only rejects 0 (and the field cannot exceed 4095).
#[test]
fn rfc9568_7_1_v3_interval_must_be_non_zero() {
    let mut f = backup(config(Version::V3, 100));
    assert_eq!(
        f.handle(advert(v4(1), 200, 0), T0 + SEC),
        [Action::Ignored(Ignore::InvalidInterval(0))]
    );
    assert_eq!(
        f.handle(advert(v4(1), 200, 4096), T0 + SEC),
        [Action::Ignored(Ignore::InvalidInterval(4096))]
    );
    assert_eq!(f.handle(advert(v4(1), 200, 4095), T0 + SEC).len(), 1);
    assert_eq!(f.master_adver_interval_cs(), 4095);
}

#[test]
fn own_and_other_family_adverts_are_ignored() {
    let mut f = backup(config(Version::V3, 100));
    assert_eq!(
        f.handle(advert(v4(OURS), 200, 100), T0 + SEC),
        [Action::Ignored(Ignore::OwnAdvert)]
    );
    assert_eq!(
        f.handle(advert(v6(1), 200, 100), T0 + SEC),
        [Action::Ignored(Ignore::FamilyMismatch)]
    );
}

// ----- keepalived preempt_delay ---------------------------------------------

/// keepalived `preempt_delay`: for `preempt_delay` after start-up a
/// lower-priority master is accepted as if preempt were off; after that its
/// adverts are discarded and we take over one Master_Down_Interval after the
/// last one we accepted.
#[test]
fn preempt_delay_holds_off_preemption_after_startup() {
    let delay = 5 * SEC;
    let mut f = backup(Config {
        preempt_delay: delay,
        ..config(Version::V3, 100)
    });
    assert_eq!(f.preempt_hold_until(), Some(T0 + delay));
    let mdi = f.master_down_interval();
    let mut last_accepted = T0;
    let mut t = T0 + ms(200);
    while t < T0 + delay {
        assert_eq!(
            f.handle(advert(v4(1), 50, 100), t),
            [Action::ArmMasterDownTimer { at: t + mdi }],
            "at {t:?}"
        );
        last_accepted = t;
        t += SEC;
    }
    assert_eq!(
        f.handle(advert(v4(1), 50, 100), t),
        [Action::Ignored(Ignore::Outranked)]
    );
    assert_eq!(f.state(), State::Backup);
    let out = f.handle(Input::MasterDownTimer, last_accepted + mdi);
    assert_eq!(out.last(), Some(&changed(State::Backup, State::Master)));
}

/// keepalived `preempt_delay`: an advert ranking at or above us stops the
/// hold; the next lower-priority advert starts a fresh one (the master's
/// priority fell below ours, or ours rose above it).
#[test]
fn preempt_delay_restarts_on_first_lower_advert() {
    let delay = 3 * SEC;
    let mut f = backup(Config {
        preempt_delay: delay,
        ..config(Version::V3, 100)
    });
    // Long after start-up the master still outranks us: hold stopped.
    f.handle(advert(v4(1), 150, 100), T0 + 10 * SEC);
    assert_eq!(f.preempt_hold_until(), None);
    // Tracking raises us above the master.
    assert_eq!(
        f.handle(Input::PriorityChanged(200), T0 + 10 * SEC + ms(500)),
        []
    );
    let t1 = T0 + 11 * SEC;
    let out = f.handle(advert(v4(1), 150, 100), t1);
    assert_eq!(
        out,
        [Action::ArmMasterDownTimer {
            at: t1 + f.master_down_interval()
        }]
    );
    assert_eq!(f.preempt_hold_until(), Some(t1 + delay));
    assert_eq!(f.handle(advert(v4(1), 150, 100), t1 + 2 * SEC).len(), 1);
    assert_eq!(
        f.handle(advert(v4(1), 150, 100), t1 + delay),
        [Action::Ignored(Ignore::Outranked)]
    );
}

/// preempt_delay means nothing without preempt, and zero disables it.
#[test]
fn preempt_delay_needs_preempt() {
    let f = backup(Config {
        preempt: false,
        preempt_delay: 5 * SEC,
        ..config(Version::V3, 100)
    });
    assert_eq!(f.preempt_hold_until(), None);
    let mut f = backup(config(Version::V3, 100));
    assert_eq!(
        f.handle(advert(v4(1), 50, 100), T0 + ms(1)),
        [Action::Ignored(Ignore::Outranked)]
    );
}

// ----- RFC 5798 §6.4.3 Master -----------------------------------------------

/// §6.4.3 "If the Adver_Timer fires": send an advert, reset the timer.
#[test]
fn rfc5798_6_4_3_adver_timer_sends_and_rearms() {
    let (mut f, at) = master(Config {
        advert_int_cs: 25,
        ..config(Version::V3, 100)
    });
    let t = at + ms(250);
    assert_eq!(
        f.handle(Input::AdverTimer, t),
        [
            Action::SendAdvert { priority: 100 },
            Action::ArmAdverTimer { at: t + ms(250) }
        ]
    );
}

/// §6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an
/// ADVERTISEMENT, Reset the Adver_Timer".
#[test]
fn rfc5798_6_4_3_priority_zero_gets_an_advert_at_once() {
    let (mut f, at) = master(config(Version::V3, 100));
    let t = at + ms(400);
    assert_eq!(
        f.handle(advert(v4(1), 0, 100), t),
        [
            Action::SendAdvert { priority: 100 },
            Action::ArmAdverTimer { at: t + SEC }
        ]
    );
    assert_eq!(f.state(), State::Master);
}

/// §6.4.3: a higher priority makes us Backup: cancel Adver_Timer, learn the
/// interval (v3), arm Master_Down_Timer; the VIPs come off.
#[test]
fn rfc5798_6_4_3_higher_priority_makes_backup() {
    let (mut f, at) = master(config(Version::V3, 100));
    let t = at + ms(400);
    assert_eq!(
        f.handle(advert(v4(1), 101, 30), t),
        [
            Action::CancelAdverTimer,
            Action::RemoveVips,
            Action::ArmMasterDownTimer {
                at: t + master_down_interval_v3(100, 30)
            },
            changed(State::Master, State::Backup),
        ]
    );
    assert_eq!(f.master_adver_interval_cs(), 30);
    assert_eq!(
        f.master(),
        Some(Peer {
            addr: v4(1),
            priority: 101,
            advert_int_cs: 30
        })
    );
}

/// §6.4.3 tie-break: equal priority, the greater primary address (unsigned,
/// network byte order) wins. 198.18.0.9 < 198.18.0.10 < 198.18.0.100 although
/// "9" > "10" as text; fe80::9 < fe80::10 (0x9 < 0x10).
#[test]
fn rfc5798_6_4_3_equal_priority_greater_address_wins() {
    let cases = [
        (v4(OURS), v4(100), true),
        (v4(OURS), v4(9), false),
        (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(9, 255, 255, 255)),
            false,
        ),
        (v6(0x10), v6(0x11), true),
        (v6(0x10), v6(0x9), false),
        (
            v6(0x10),
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 1, 0, 0, 0, 0)),
            true,
        ),
    ];
    for (ours, theirs, they_win) in cases {
        let (mut f, at) = master(Config::new(7, Version::V3, 100, ours));
        let out = f.handle(advert(theirs, 100, 100), at + ms(1));
        if they_win {
            assert_eq!(
                out.last(),
                Some(&changed(State::Master, State::Backup)),
                "{ours} vs {theirs}"
            );
        } else {
            assert_eq!(
                out[0],
                Action::Ignored(Ignore::Outranked),
                "{ours} vs {theirs}"
            );
            assert_eq!(f.state(), State::Master);
        }
    }
}

/// RFC 9568 §6.4.3: a master that outranks the sender discards its advert and
/// sends one immediately (re-arming the Adver_Timer); keepalived's
/// `lower_prio_no_advert` turns the advert off.
#[test]
fn rfc9568_6_4_3_lower_priority_gets_an_advert_at_once() {
    let (mut f, at) = master(config(Version::V3, 100));
    let t = at + ms(100);
    assert_eq!(
        f.handle(advert(v4(1), 99, 100), t),
        [
            Action::Ignored(Ignore::Outranked),
            Action::SendAdvert { priority: 100 },
            Action::ArmAdverTimer { at: t + SEC },
            Action::SendGratuitous,
        ]
    );
    let (mut f, at) = master(Config {
        lower_prio_readvert: false,
        ..config(Version::V3, 100)
    });
    assert_eq!(
        f.handle(advert(v4(1), 99, 100), at + ms(100)),
        [Action::Ignored(Ignore::Outranked)]
    );
}

// ----- priority changes (tracking) --------------------------------------------

/// A Master whose priority drops stays Master, tells the LAN at once, and
/// yields only to a better advert (RFC 5798 §6.4.3 compares against the
/// current local priority).
#[test]
fn priority_drop_keeps_master_until_better_advert() {
    let (mut f, at) = master(config(Version::V3, 200));
    let t = at + ms(100);
    assert_eq!(
        f.handle(Input::PriorityChanged(50), t),
        [
            Action::SendAdvert { priority: 50 },
            Action::ArmAdverTimer { at: t + SEC }
        ]
    );
    assert_eq!((f.state(), f.priority()), (State::Master, 50));
    let out = f.handle(advert(v4(1), 100, 100), t + ms(100));
    assert_eq!(out.last(), Some(&changed(State::Master, State::Backup)));
}

/// RFC 5798 §6.4.2: a Backup whose priority rises above the master's learns it
/// only from the next advert, which it discards; it takes over when the
/// Master_Down_Timer armed by the last accepted advert expires.
#[test]
fn priority_rise_preempts_after_master_down() {
    let mut f = backup(config(Version::V3, 100));
    let t1 = T0 + SEC;
    f.handle(advert(v4(1), 150, 100), t1);
    let deadline = t1 + master_down_interval_v3(100, 100);
    assert_eq!(f.handle(Input::PriorityChanged(200), t1 + ms(10)), []);
    assert_eq!(f.master_down_interval(), master_down_interval_v3(200, 100));
    assert_eq!(
        f.handle(advert(v4(1), 150, 100), t1 + SEC),
        [Action::Ignored(Ignore::Outranked)]
    );
    assert_eq!(
        f.handle(advert(v4(1), 150, 100), t1 + 2 * SEC),
        [Action::Ignored(Ignore::Outranked)]
    );
    let out = f.handle(Input::MasterDownTimer, deadline);
    assert_eq!(out[1], Action::SendAdvert { priority: 200 });
    assert_eq!(out.last(), Some(&changed(State::Backup, State::Master)));
}

/// RFC 5798 §6.4.2: Skew_Time is recomputed from the new priority.
#[test]
fn priority_change_recomputes_skew_time() {
    let mut f = backup(config(Version::V3, 100));
    f.handle(Input::PriorityChanged(10), T0);
    let t = T0 + SEC;
    assert_eq!(
        f.handle(advert(v4(1), 0, 100), t),
        [Action::ArmMasterDownTimer {
            at: t + skew_time_v3(10, 100)
        }]
    );
}

/// RFC 5798 §5.2.4: the owner's 255 is fixed; tracking clamps others to
/// 1..=254 (0 means "stopping", 255 "owner").
#[test]
fn rfc5798_5_2_4_priority_range_under_tracking() {
    let mut owner = fsm(config(Version::V3, 255));
    assert_eq!(
        owner.handle(Input::PriorityChanged(100), T0),
        [Action::Ignored(Ignore::OwnerPriorityFixed)]
    );
    assert_eq!(owner.priority(), 255);
    let mut f = fsm(config(Version::V3, 100));
    f.handle(Input::PriorityChanged(0), T0);
    assert_eq!(f.priority(), 1);
    f.handle(Input::PriorityChanged(255), T0);
    assert_eq!(f.priority(), 254);
    assert_eq!(f.handle(Input::PriorityChanged(254), T0), []);
    // Set before start-up, it is used at start-up.
    f.handle(Input::Startup, T0);
    assert_eq!(f.master_down_interval(), master_down_interval_v3(254, 100));
}

// ----- Shutdown ---------------------------------------------------------------

/// §6.4.2: Backup on Shutdown cancels Master_Down_Timer and goes Initialize.
#[test]
fn rfc5798_6_4_2_backup_shutdown() {
    let mut f = backup(config(Version::V3, 100));
    let shutdown = Input::Shutdown {
        handover: Handover::MakeBeforeBreak,
    };
    assert_eq!(
        f.handle(shutdown, T0 + SEC),
        [
            Action::CancelMasterDownTimer,
            changed(State::Backup, State::Initialize)
        ]
    );
    // And it can start again.
    assert_eq!(
        f.handle(Input::Startup, T0 + 2 * SEC).last(),
        Some(&changed(State::Initialize, State::Backup))
    );
}

/// §6.4.3 Shutdown, keepalived style: cancel Adver_Timer, send priority 0,
/// remove the VIPs, Initialize.
#[test]
fn rfc5798_6_4_3_immediate_shutdown() {
    let (mut f, at) = master(config(Version::V3, 100));
    assert_eq!(
        f.handle(
            Input::Shutdown {
                handover: Handover::Immediate
            },
            at + ms(10)
        ),
        [
            Action::CancelAdverTimer,
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            changed(State::Master, State::Initialize),
        ]
    );
}

/// Make-before-break: priority 0 goes out, the VIPs stay until the new
/// master's advert arrives, then they go.
#[test]
fn make_before_break_releases_on_new_master_advert() {
    let (mut f, at) = master(config(Version::V3, 100));
    let t = at + ms(10);
    let deadline = t + master_down_interval_v3(100, 100) + SEC;
    assert_eq!(f.release_deadline_interval(), deadline - t);
    assert_eq!(
        f.handle(
            Input::Shutdown {
                handover: Handover::default()
            },
            t
        ),
        [
            Action::CancelAdverTimer,
            Action::SendAdvert { priority: 0 },
            Action::ArmReleaseTimer { at: deadline },
            changed(State::Master, State::Releasing),
        ]
    );
    // Another router's priority 0 proves nothing; a repeated shutdown is a no-op.
    assert_eq!(
        f.handle(advert(v4(1), 0, 100), t + ms(1)),
        [Action::Ignored(Ignore::StopWhileReleasing)]
    );
    let again = Input::Shutdown {
        handover: Handover::MakeBeforeBreak,
    };
    assert_eq!(
        f.handle(again, t + ms(1)),
        [Action::Ignored(Ignore::AlreadyReleasing)]
    );
    assert_eq!(
        f.handle(Input::AdverTimer, t + SEC),
        [Action::Ignored(Ignore::StaleTimer)]
    );
    // The new master (any non-zero priority, even lower than ours).
    assert_eq!(
        f.handle(advert(v4(1), 50, 100), t + ms(300)),
        [
            Action::CancelReleaseTimer,
            Action::Released {
                successor: Some(v4(1))
            },
            Action::RemoveVips,
            changed(State::Releasing, State::Initialize),
        ]
    );
    assert_eq!(
        f.handle(Input::ReleaseTimer, deadline),
        [Action::Ignored(Ignore::StaleTimer)]
    );
}

/// Make-before-break with nobody to take over: the VIPs go at the deadline.
#[test]
fn make_before_break_gives_up_at_deadline() {
    let (mut f, at) = master(config(Version::V2, 100));
    let t = at + ms(10);
    f.handle(
        Input::Shutdown {
            handover: Handover::MakeBeforeBreak,
        },
        t,
    );
    let deadline = t + master_down_interval_v2(100, 100) + SEC;
    assert_eq!(
        f.handle(Input::ReleaseTimer, deadline - ms(1)),
        [Action::Ignored(Ignore::StaleTimer)]
    );
    assert_eq!(
        f.handle(Input::ReleaseTimer, deadline),
        [
            Action::Released { successor: None },
            Action::RemoveVips,
            changed(State::Releasing, State::Initialize),
        ]
    );
}

/// An immediate shutdown cuts a release short.
#[test]
fn immediate_shutdown_while_releasing() {
    let (mut f, at) = master(config(Version::V3, 100));
    f.handle(
        Input::Shutdown {
            handover: Handover::MakeBeforeBreak,
        },
        at,
    );
    assert_eq!(
        f.handle(
            Input::Shutdown {
                handover: Handover::Immediate
            },
            at + ms(5)
        ),
        [
            Action::CancelReleaseTimer,
            Action::Released { successor: None },
            Action::RemoveVips,
            changed(State::Releasing, State::Initialize),
        ]
    );
}

// ----- fault --------------------------------------------------------------------

fn fault(source: FaultSource, on: bool) -> Input {
    Input::Fault { source, on }
}

/// A Master that faults says so with priority 0 (the best backup takes over
/// after Skew_Time), drops its VIPs and its Adver_Timer, and sends nothing more.
#[test]
fn fault_on_master_releases_everything() {
    let (mut f, at) = master(config(Version::V3, 100));
    let t = at + ms(10);
    assert_eq!(
        f.handle(fault(FaultSource::Link, true), t),
        [
            Action::CancelAdverTimer,
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            changed(State::Master, State::Fault),
        ]
    );
    assert_eq!(
        f.handle(advert(v4(1), 50, 100), t + ms(1)),
        [Action::Ignored(Ignore::Faulted)]
    );
    assert_eq!(
        f.handle(Input::AdverTimer, t + SEC),
        [Action::Ignored(Ignore::StaleTimer)]
    );
    // A priority change in Fault is remembered, not announced.
    assert_eq!(f.handle(Input::PriorityChanged(90), t + SEC), []);
    assert_eq!(f.priority(), 90);
}

/// A Backup that faults stops watching; every source must clear before it
/// starts again, as Backup with a full Master_Down_Interval.
#[test]
fn fault_needs_every_source_cleared() {
    let mut f = backup(config(Version::V3, 100));
    let t = T0 + ms(100);
    assert_eq!(
        f.handle(fault(FaultSource::Tracker(0), true), t),
        [
            Action::CancelMasterDownTimer,
            changed(State::Backup, State::Fault)
        ]
    );
    assert_eq!(f.handle(fault(FaultSource::Link, true), t), []);
    assert_eq!(
        f.handle(fault(FaultSource::Link, true), t),
        [Action::Ignored(Ignore::FaultUnchanged)]
    );
    assert_eq!(f.handle(fault(FaultSource::Tracker(0), false), t + SEC), []);
    assert_eq!(f.state(), State::Fault);
    let back = t + 2 * SEC;
    assert_eq!(
        f.handle(fault(FaultSource::Link, false), back),
        [
            Action::ArmMasterDownTimer {
                at: back + master_down_interval_v3(100, 100)
            },
            changed(State::Fault, State::Backup),
        ]
    );
}

/// The owner leaves Fault straight to Master (RFC 5798 §6.4.1 Startup rules).
#[test]
fn owner_leaves_fault_as_master() {
    let mut f = fsm(config(Version::V3, 255));
    f.handle(Input::Startup, T0);
    f.handle(fault(FaultSource::Vips, true), T0 + SEC);
    assert_eq!(f.state(), State::Fault);
    let out = f.handle(fault(FaultSource::Vips, false), T0 + 2 * SEC);
    assert_eq!(out[0], Action::AddVips);
    assert_eq!(f.state(), State::Master);
}

/// A fault before Startup (the link was down at start) starts in Fault; a
/// shutdown in Fault goes to Initialize without sending anything.
#[test]
fn startup_with_a_fault_and_shutdown_in_fault() {
    let mut f = fsm(config(Version::V3, 100));
    assert_eq!(f.handle(fault(FaultSource::Link, true), T0), []);
    assert_eq!(f.state(), State::Initialize);
    assert_eq!(
        f.handle(Input::Startup, T0),
        [changed(State::Initialize, State::Fault)]
    );
    assert_eq!(
        f.handle(
            Input::Shutdown {
                handover: Handover::MakeBeforeBreak
            },
            T0 + SEC
        ),
        [changed(State::Fault, State::Initialize)]
    );
    // Cleared while stopped: nothing starts.
    assert_eq!(f.handle(fault(FaultSource::Link, false), T0 + 2 * SEC), []);
    assert_eq!(f.state(), State::Initialize);
}

/// A fault while releasing gives the VIPs up at once and finishes the stop.
#[test]
fn fault_while_releasing_finishes_the_release() {
    let (mut f, at) = master(config(Version::V3, 100));
    f.handle(
        Input::Shutdown {
            handover: Handover::MakeBeforeBreak,
        },
        at,
    );
    assert_eq!(
        f.handle(fault(FaultSource::Link, true), at + ms(5)),
        [
            Action::CancelReleaseTimer,
            Action::Released { successor: None },
            Action::RemoveVips,
            changed(State::Releasing, State::Initialize),
        ]
    );
}

/// keepalived `state MASTER`: the first wait after Startup is one interval
/// plus Skew_Time, not Master_Down_Interval; later waits are the RFC's.
#[test]
fn initial_state_master_waits_one_interval() {
    let mut f = fsm(Config {
        initial_master: true,
        ..config(Version::V3, 100)
    });
    assert_eq!(
        f.handle(Input::Startup, T0),
        [
            Action::ArmMasterDownTimer {
                at: T0 + SEC + skew_time_v3(100, 100)
            },
            changed(State::Initialize, State::Backup),
        ]
    );
    let t = T0 + ms(500);
    f.handle(advert(v4(1), 200, 100), t);
    f.handle(fault(FaultSource::Link, true), t);
    let out = f.handle(fault(FaultSource::Link, false), t + SEC);
    assert_eq!(
        out[0],
        Action::ArmMasterDownTimer {
            at: t + SEC + master_down_interval_v3(100, 100)
        }
    );
}

/// A Master answers lower-priority and priority-0 adverts at once, but at most
/// once per Advertisement_Interval: a flood of spoofed adverts gets one advert
/// and one gratuitous ARP burst per interval.
#[test]
fn reassertion_is_limited_to_one_per_interval() {
    let (mut f, at) = master(config(Version::V3, 100));
    let t = at + ms(100);
    let out = f.handle(advert(v4(1), 99, 100), t);
    assert!(out.contains(&Action::SendGratuitous), "{out:?}");
    for i in 1..1000 {
        let now = t + Duration::from_micros(i * 999);
        let spoofed = if i % 2 == 0 { 99 } else { 0 };
        let out = f.handle(advert(v4(1), spoofed, 100), now);
        let sent = out
            .iter()
            .any(|a| matches!(a, Action::SendAdvert { .. } | Action::SendGratuitous));
        assert!(!sent, "answered again within the interval at {i}: {out:?}");
    }
    let out = f.handle(advert(v4(1), 0, 100), t + SEC);
    assert!(
        out.contains(&Action::SendAdvert { priority: 100 }),
        "{out:?}"
    );
    assert_eq!(f.state(), State::Master);
}

// ----- invariants over random input sequences ----------------------------------

mod random {
    use proptest::prelude::*;

    use super::*;

    /// What a driver would hold after executing every action so far.
    #[derive(Default, Debug)]
    struct Ledger {
        vips: bool,
        adver: Option<Duration>,
        master_down: Option<Duration>,
        release: Option<Duration>,
    }

    impl Ledger {
        fn apply(&mut self, actions: &Actions) {
            for action in actions {
                match *action {
                    Action::ArmAdverTimer { at } => self.adver = Some(at),
                    Action::CancelAdverTimer => self.adver = None,
                    Action::ArmMasterDownTimer { at } => self.master_down = Some(at),
                    Action::CancelMasterDownTimer => self.master_down = None,
                    Action::ArmReleaseTimer { at } => self.release = Some(at),
                    Action::CancelReleaseTimer => self.release = None,
                    Action::AddVips => self.vips = true,
                    Action::RemoveVips => self.vips = false,
                    _ => {}
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Wait(u64),
        Input(Input),
        /// Fire timer 0 = adver, 1 = master down, 2 = release, if armed.
        Fire(u8),
    }

    fn fault_source() -> impl Strategy<Value = FaultSource> {
        prop_oneof![
            Just(FaultSource::Link),
            Just(FaultSource::Vips),
            Just(FaultSource::Group),
            (0u16..2).prop_map(FaultSource::Tracker),
        ]
    }

    fn step() -> impl Strategy<Value = Step> {
        let src = prop_oneof![Just(v4(1)), Just(v4(OURS)), Just(v4(200)), Just(v6(1))];
        let int = prop_oneof![Just(0u16), Just(50), Just(100), Just(4095), Just(4096)];
        let handover = prop_oneof![Just(Handover::Immediate), Just(Handover::MakeBeforeBreak)];
        prop_oneof![
            (0u64..3_000).prop_map(Step::Wait),
            Just(Step::Input(Input::Startup)),
            handover.prop_map(|handover| Step::Input(Input::Shutdown { handover })),
            (src, any::<u8>(), int).prop_map(|(s, p, i)| Step::Input(advert(s, p, i))),
            any::<u8>().prop_map(|p| Step::Input(Input::PriorityChanged(p))),
            (fault_source(), any::<bool>())
                .prop_map(|(source, on)| Step::Input(Input::Fault { source, on })),
            (0u8..3).prop_map(Step::Fire),
            (0u8..3).prop_map(Step::Fire),
            Just(Step::Input(Input::GroupMaster)),
            Just(Step::Input(Input::GroupBackup)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever arrives in whatever order: VIPs are held exactly in
        /// Master and Releasing, each state has exactly its own timer armed,
        /// and StateChanged is reported exactly when the state changes, last.
        #[test]
        fn state_timers_and_vips_stay_consistent(
            version in prop_oneof![Just(Version::V2), Just(Version::V3)],
            priority in 1u8..=255,
            preempt in any::<bool>(),
            delay_ms in prop_oneof![Just(0u64), 0u64..5_000],
            steps in proptest::collection::vec(step(), 1..120),
        ) {
            let cfg = Config { preempt, preempt_delay: ms(delay_ms), ..config(version, priority) };
            let mut f = fsm(cfg);
            let mut ledger = Ledger::default();
            let mut now = T0;
            for step in steps {
                let input = match step {
                    Step::Wait(n) => { now += ms(n); continue; }
                    Step::Input(input) => input,
                    Step::Fire(which) => {
                        let (slot, input) = match which {
                            0 => (&mut ledger.adver, Input::AdverTimer),
                            1 => (&mut ledger.master_down, Input::MasterDownTimer),
                            _ => (&mut ledger.release, Input::ReleaseTimer),
                        };
                        match slot.take() {
                            Some(at) => { now = now.max(at); input }
                            None => input,
                        }
                    }
                };
                let before = f.state();
                let out = f.handle(input, now);
                ledger.apply(&out);
                let after = f.state();
                let changes: Vec<Action> =
                    out.iter().copied().filter(|a| matches!(a, Action::StateChanged { .. })).collect();
                if before == after {
                    prop_assert!(changes.is_empty(), "{out:?}");
                } else {
                    prop_assert_eq!(changes, vec![changed(before, after)]);
                    prop_assert_eq!(out.last(), Some(&changed(before, after)));
                }
                let holds = matches!(after, State::Master | State::Releasing);
                prop_assert_eq!(ledger.vips, holds, "{:?} {:?}", after, out);
                let armed = (ledger.adver.is_some(), ledger.master_down.is_some(), ledger.release.is_some());
                // Running with a fault source on is exactly the Fault state.
                let faulted = f.faults().next().is_some();
                prop_assert_eq!(after == State::Fault, after != State::Initialize && faulted, "{:?} {:?}", after, out);
                let expected = match after {
                    State::Initialize | State::Fault => (false, false, false),
                    State::Backup => (false, true, false),
                    State::Master => (true, false, false),
                    State::Releasing => (false, false, true),
                };
                prop_assert_eq!(armed, expected, "{:?} {:?}", after, out);
                prop_assert_eq!(ledger.adver, f.deadlines.adver);
                prop_assert_eq!(ledger.master_down, f.deadlines.master_down);
                prop_assert_eq!(ledger.release, f.deadlines.release);
                for a in &out {
                    if let Action::ArmAdverTimer { at } | Action::ArmMasterDownTimer { at } | Action::ArmReleaseTimer { at } = *a {
                        prop_assert!(at > now, "{:?}", out);
                    }
                }
                prop_assert!(f.priority() >= 1);
                for a in &out {
                    if let Action::SendAdvert { priority } = *a {
                        prop_assert!(priority == 0 || priority == f.priority());
                    }
                }
            }
        }
    }
}

/// RFC 5798 §6.4.3: the Adver_Timer is reset to Advertisement_Interval from the
/// deadline that fired, so a late wake-up does not push every later advert back.
#[test]
fn rfc5798_6_4_3_adver_timer_keeps_its_schedule_when_handled_late() {
    let mut fsm = Fsm::new(Config::new(
        1,
        Version::V3,
        255,
        "198.18.0.1".parse().unwrap(),
    ))
    .unwrap();
    let start = fsm.handle(Input::Startup, Duration::ZERO);
    let first = start
        .iter()
        .find_map(|a| match a {
            Action::ArmAdverTimer { at } => Some(*at),
            _ => None,
        })
        .expect("an owner arms its Adver_Timer");
    // Handled 3 ms late: the next deadline is still first + 1 s.
    let late = fsm.handle(Input::AdverTimer, first + Duration::from_millis(3));
    assert!(
        late.contains(&Action::ArmAdverTimer {
            at: first + Duration::from_secs(1)
        }),
        "{late:?}"
    );
    // Handled more than a whole interval late: start again from now.
    let now = first + Duration::from_millis(2500);
    let very_late = fsm.handle(Input::AdverTimer, now);
    assert!(
        very_late.contains(&Action::ArmAdverTimer {
            at: now + Duration::from_secs(1)
        }),
        "{very_late:?}"
    );
}

// ----- sync groups (keepalived's vrrp_sync_group) ----------------------------

/// A member becoming Master brings a Backup along at once, without waiting
/// for its own Master_Down_Timer.
#[test]
fn group_master_takes_a_backup_over_now() {
    let mut f = backup(config(Version::V3, 100));
    f.handle(advert(v4(1), 150, 100), T0 + ms(10));
    let a = f.handle(Input::GroupMaster, T0 + ms(20));
    assert_eq!(f.state(), State::Master);
    assert_eq!(
        a.iter().take(2).collect::<Vec<_>>(),
        [&Action::CancelMasterDownTimer, &Action::AddVips]
    );
    assert!(a.contains(&Action::SendGratuitous));
    // A Master or a faulted member is not moved.
    assert!(matches!(
        f.handle(Input::GroupMaster, T0 + ms(30)).iter().next(),
        Some(Action::Ignored(Ignore::GroupUnchanged))
    ));
    let mut g = backup(config(Version::V3, 100));
    g.handle(fault(FaultSource::Group, true), T0 + ms(10));
    g.handle(Input::GroupMaster, T0 + ms(20));
    assert_eq!(g.state(), State::Fault);
}

/// A Master whose group left Master steps down: priority 0, VIPs removed,
/// Backup waiting Master_Down_Interval; later GroupMaster brings it back.
#[test]
fn group_backup_steps_a_master_down() {
    let (mut f, at) = master(config(Version::V3, 100));
    let now = at + ms(5);
    let a = f.handle(Input::GroupBackup, now);
    assert_eq!(f.state(), State::Backup);
    let want = [
        Action::CancelAdverTimer,
        Action::SendAdvert { priority: 0 },
        Action::RemoveVips,
        Action::ArmMasterDownTimer {
            at: now + f.master_down_interval(),
        },
        changed(State::Master, State::Backup),
    ];
    assert_eq!(a.iter().cloned().collect::<Vec<_>>(), want);
    // Nothing heard: it takes over again when its own timer fires.
    f.handle(Input::MasterDownTimer, now + f.master_down_interval());
    assert_eq!(f.state(), State::Master);
}

/// The group fault is one source among the others.
#[test]
fn group_fault_is_a_fault_source() {
    let (mut f, at) = master(config(Version::V3, 100));
    f.handle(fault(FaultSource::Group, true), at + ms(1));
    assert_eq!(f.state(), State::Fault);
    f.handle(fault(FaultSource::Link, true), at + ms(2));
    f.handle(fault(FaultSource::Group, false), at + ms(3));
    assert_eq!(f.state(), State::Fault);
    f.handle(fault(FaultSource::Link, false), at + ms(4));
    assert_eq!(f.state(), State::Backup);
}
