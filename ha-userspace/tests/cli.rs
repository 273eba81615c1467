//! The `ha` binary as a user meets it: configuration checks and conversion, and
//! a clear error (naming file, line or interface) that changes nothing.

use std::{fs, path::PathBuf, process::Command};

fn ha() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ha"))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/config")
        .join(name)
}

/// A scratch file removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, text: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("ha-cli-{}-{name}", std::process::id()));
        fs::write(&path, text).unwrap();
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[test]
fn check_config_accepts_a_keepalived_conf_and_warns_with_lines() {
    // realistic.conf with scripts that exist on every host.
    let text = fs::read_to_string(fixture("realistic.conf"))
        .unwrap()
        .replace("/etc/keepalived/notify-all.sh", "/bin/true")
        .replace("/etc/keepalived/notify.sh", "/bin/echo")
        .replace("/usr/bin/mysqladmin", "/bin/true");
    let conf = Scratch::new("realistic.conf", &text);
    let out = ha().arg("check-config").arg(&conf.0).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains(": ok ("), "{stdout}");
    // Unsupported blocks are warned about with their file and line, never silently ignored.
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("realistic.conf:") && l.contains("warning")),
        "{stderr}"
    );
}

#[test]
fn check_config_refuses_scripts_that_cannot_run() {
    let out = ha()
        .arg("check-config")
        .arg(fixture("realistic.conf"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted missing scripts: {stderr}");
    let name = fixture("realistic.conf").display().to_string();
    for want in [
        format!(
            "{name}:32: notify_master of vrrp_sync_group DB: `/etc/keepalived/notify.sh` does not exist"
        ),
        format!(
            "{name}:64: notify_master of vrrp_instance VI_DB: `/etc/keepalived/notify.sh` does not exist"
        ),
        format!(
            "{name}:67: notify of vrrp_instance VI_DB: `/etc/keepalived/notify-all.sh` does not exist"
        ),
    ] {
        assert!(
            stderr.lines().any(|l| l == want),
            "no `{want}` in:\n{stderr}"
        );
    }
}

#[test]
fn check_config_names_file_and_line_of_each_error_and_fails() {
    let bad = Scratch::new(
        "bad.conf",
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  priority 0\n  virtual_ipaddress {\n    198.18.1.100/24\n  }\n}\n",
    );
    let out = ha().arg("check-config").arg(&bad.0).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted a bad file: {stderr}");
    let name = bad.0.display().to_string();
    assert!(
        stderr.contains(&format!("{name}:3:")),
        "VRID error without its line: {stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:4:")),
        "priority error without its line: {stderr}"
    );
}

#[test]
fn convert_prints_toml_that_checks_clean() {
    let out = ha()
        .arg("convert")
        .arg(fixture("vectors/v3ipv4.conf"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml = String::from_utf8(out.stdout).unwrap();
    assert!(toml.contains("vrid = 52"), "{toml}");
    let converted = Scratch::new("converted.toml", &toml);
    let check = ha().arg("check-config").arg(&converted.0).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn run_names_a_missing_interface_and_exits_non_zero() {
    let conf = Scratch::new(
        "noif.conf",
        "vrrp_instance VI_1 {\n  interface hanoif0\n  virtual_router_id 9\n  virtual_ipaddress {\n    198.18.1.100/24\n  }\n}\n",
    );
    let status = Scratch::new("status.json", "");
    let out = ha()
        .args(["run", "--config"])
        .arg(&conf.0)
        .arg("--status-file")
        .arg(&status.0)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ran without its interface: {stderr}");
    assert!(
        stderr.contains("hanoif0"),
        "the error does not name the interface: {stderr}"
    );
}

#[test]
fn check_config_never_prints_the_password() {
    let secret = "Zq7wXk";
    let conf = |extra: &str| {
        format!(
            "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 9\n{extra}  authentication {{\n    auth_type PASS\n    auth_pass {secret}{secret} extra\n  }}\n  virtual_ipaddress {{\n    198.18.1.100/24\n  }}\n}}\n"
        )
    };
    for (name, text, ok) in [
        ("pw-ok.conf", conf(""), true),
        ("pw-bad.conf", conf("  priority 0\n"), false),
    ] {
        let file = Scratch::new(name, &text);
        let out = ha().arg("check-config").arg(&file.0).output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.success(), ok, "{all}");
        if ok {
            assert!(all.contains("auth_pass"), "no truncation warning: {all}");
        }
        assert!(!all.contains(secret), "{all}");
    }
}
