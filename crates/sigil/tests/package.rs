//! The Debian package as a deployer gets it. ./test.sh builds it (`cargo
//! deb`) and unpacks it (`dpkg-deb -x`, see scripts/package.sh) into
//! SIGIL_PACKAGE_ROOT; this test checks its files, unit and maintainer
//! scripts, then starts the packaged binary the way the unit does (its
//! ExecStart, with the packaged config pointed at a temporary state
//! directory) and completes a flow against it, with `sigil admin --config`
//! as an operator would run it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use support::{PASSWORD, api_me, flow_for, services};

/// Where test.sh unpacked the package and its control files.
fn unpacked() -> Option<(PathBuf, PathBuf)> {
    match (
        std::env::var_os("SIGIL_PACKAGE_ROOT"),
        std::env::var_os("SIGIL_PACKAGE_CONTROL"),
    ) {
        (Some(root), Some(control)) => Some((root.into(), control.into())),
        _ => {
            assert!(
                !services(),
                "SIGIL_SERVICE_TESTS is set but SIGIL_PACKAGE_ROOT is not: run ./test.sh"
            );
            eprintln!("skipped: the package test runs under ./test.sh");
            None
        }
    }
}

/// The unit's `[Service]` settings (a key given twice keeps both values).
fn service_section(unit: &str) -> BTreeMap<String, Vec<String>> {
    let mut settings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut section = "";
    for line in unit.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            settings
                .entry(format!("{section}{key}"))
                .or_default()
                .push(value.to_owned());
        }
    }
    settings
}

fn setting<'a>(settings: &'a BTreeMap<String, Vec<String>>, key: &str) -> &'a str {
    settings
        .get(key)
        .and_then(|v| v.first())
        .unwrap_or_else(|| panic!("the unit has no {key}"))
}

#[test]
fn the_package_holds_the_binary_the_config_and_a_sandboxed_unit() {
    let Some((root, control)) = unpacked() else {
        return;
    };
    for file in [
        "usr/bin/sigil",
        "etc/sigil/sigil.toml",
        "usr/lib/systemd/system/sigil.service",
        "usr/share/doc/sigil/operations.md",
        "usr/share/doc/sigil/copyright",
    ] {
        assert!(root.join(file).is_file(), "the package lacks /{file}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.join("usr/bin/sigil"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/system/sigil.service")).unwrap();
    let settings = service_section(&unit);
    assert_eq!(
        setting(&settings, "[Service]ExecStart"),
        "/usr/bin/sigil serve --config /etc/sigil/sigil.toml"
    );
    for (key, value) in [
        ("[Service]Restart", "on-failure"),
        ("[Service]User", "sigil"),
        ("[Service]StateDirectory", "sigil"),
        ("[Service]NoNewPrivileges", "yes"),
        ("[Service]ProtectSystem", "strict"),
        ("[Service]ProtectHome", "yes"),
        ("[Service]PrivateTmp", "yes"),
        ("[Service]CapabilityBoundingSet", ""),
        ("[Install]WantedBy", "multi-user.target"),
    ] {
        assert_eq!(setting(&settings, key), value, "{key}");
    }

    // The config is a conffile (kept on upgrade), the user is made on
    // install, and the unit is enabled through deb-systemd-helper.
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    assert!(
        conffiles.lines().any(|l| l == "/etc/sigil/sigil.toml"),
        "{conffiles}"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("adduser --system"), "{postinst}");
    assert!(
        postinst.contains("deb-systemd-helper enable sigil.service"),
        "{postinst}"
    );
    let fields = std::fs::read_to_string(control.join("control")).unwrap();
    assert!(fields.contains("Package: sigil"), "{fields}");
    assert!(fields.contains("adduser"), "{fields}");

    // Every default the config shows commented out is a key `sigil serve`
    // knows: uncommented, the file loads (unknown keys are refused).
    let config = std::fs::read_to_string(root.join("etc/sigil/sigil.toml")).unwrap();
    assert!(
        config.contains("database = \"sqlite:///var/lib/sigil/sigil.db\""),
        "{config}"
    );
    let uncommented: String = config
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with('[')
                    || rest
                        .split_once(" = ")
                        .is_some_and(|(k, _)| !k.contains(' ')) =>
            {
                rest
            }
            _ => line,
        })
        // Redis would be dialled; the rest only parses.
        .filter(|line| !line.starts_with("redis ="))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(uncommented.contains("\nsite_name = "), "{uncommented}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.toml");
    std::fs::write(&file, uncommented).unwrap();
    let loaded = Command::new(root.join("usr/bin/sigil"))
        .args(["admin", "--config"])
        .arg(&file)
        .arg("--database")
        .arg(format!("sqlite://{}", dir.path().join("x.db").display()))
        .arg("--seal-key-file")
        .arg(dir.path().join("x.key"))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
}

/// The packaged binary started by the unit's ExecStart.
struct Service {
    child: Child,
    base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command line as systemd splits it (the unit's has no quoting).
fn exec_start(unit: &str, binary: &Path, config: &Path) -> Command {
    let settings = service_section(unit);
    let line = setting(&settings, "[Service]ExecStart");
    let mut words = line.split_whitespace().map(|word| match word {
        "/usr/bin/sigil" => binary.as_os_str().to_owned(),
        "/etc/sigil/sigil.toml" => config.as_os_str().to_owned(),
        other => other.into(),
    });
    let mut command = Command::new(words.next().unwrap());
    command.args(words);
    // The service's environment: none of the tests' settings.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SIGIL_") {
            command.env_remove(name);
        }
    }
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packaged_binary_serves_as_the_unit_starts_it() {
    let Some((root, _)) = unpacked() else {
        return;
    };
    let binary = root.join("usr/bin/sigil");
    let state = tempfile::tempdir().unwrap();
    let packaged = std::fs::read_to_string(root.join("etc/sigil/sigil.toml")).unwrap();
    // The packaged config with the state directory moved and a free port
    // (the metrics listener too, so that tests running at once do not meet).
    let config_text = packaged
        .replace("/var/lib/sigil", &state.path().display().to_string())
        .replace("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:0\"")
        + "metrics_listen = \"127.0.0.1:0\"\n";
    assert_ne!(config_text, packaged);
    let config = state.path().join("sigil.toml");
    std::fs::write(&config, config_text).unwrap();

    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/system/sigil.service")).unwrap();
    let mut child = exec_start(&unit, &binary, &config)
        .env("SIGIL_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let base = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "serve ended early"
        );
        if let Some(base) = line.trim().strip_prefix("listening on ") {
            break base.to_owned();
        }
    };
    let service = Service { child, base };

    // The operator's commands, on the same config.
    let admin = |args: &[&str], input: Option<&str>| -> String {
        let mut command = Command::new(&binary);
        command
            .args(["admin", "--config"])
            .arg(&config)
            .args(args)
            .env_remove("SIGIL_SEAL_KEY_FILE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut running = command.spawn().unwrap();
        let mut stdin = running.stdin.take().unwrap();
        if let Some(input) = input {
            stdin.write_all(input.as_bytes()).unwrap();
        }
        drop(stdin);
        let out = running.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    admin(
        &["user", "add", "alice", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let client: serde_json::Value = serde_json::from_str(&admin(
        &[
            "client",
            "add",
            "--name",
            "Printer",
            "--callback",
            "oob",
            "--json",
        ],
        None,
    ))
    .unwrap();
    let flow = flow_for(
        &service.base,
        client["key"].as_str().unwrap(),
        client["secret"].as_str().unwrap(),
        None,
    );
    let temporary = flow.request_token("oob", &[]).await.unwrap();
    let approval: serde_json::Value = serde_json::from_str(&admin(
        &[
            "authorize",
            "--token",
            &temporary.token.token,
            "--user",
            "alice",
            "--json",
        ],
        None,
    ))
    .unwrap();
    let credentials = flow
        .access_token(&temporary, approval["verifier"].as_str().unwrap())
        .await
        .unwrap();
    let (status, body) = api_me(&service.base, &flow, &credentials).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("alice"), "{body}");
    let ready = reqwest::get(format!("{}/readyz", service.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // The state went where the config says, private.
    #[cfg(unix)]
    for file in ["sigil.db", "sigil.db.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.path().join(file))
            .unwrap_or_else(|_| panic!("no {file} in the state directory"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }

    // SIGTERM, as systemd stops it: a clean exit.
    let mut service = service;
    let _ = Command::new("kill")
        .arg(service.child.id().to_string())
        .status();
    assert!(service.child.wait().unwrap().success());
}
