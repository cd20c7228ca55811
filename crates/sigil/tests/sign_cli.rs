//! `sigil sign` checked from outside against every self-consistent public
//! vector, and its argument errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

use serde_json::Value;

fn sigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
}

fn vectors() -> Value {
    serde_json::from_str(include_str!(
        "../../sigil-core/tests/data/rfc5849-vectors.json"
    ))
    .unwrap()
}

#[test]
fn every_self_consistent_vector_through_the_cli() {
    let file = vectors();
    let dir = std::env::temp_dir().join(format!("sigil-sign-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for v in file["vectors"].as_array().unwrap() {
        let method = v["signature_method"].as_str().unwrap();
        let all: Vec<(&str, &str)> = v["params"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["body_params"].as_array().unwrap())
            .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
            .collect();
        let get = |name: &str| all.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        if get("oauth_signature_method") != Some(method) {
            continue; // a primitive test of the method, not a request
        }
        let rsa_ref = v["rsa_key_ref"].as_str();
        let pem = rsa_ref.and_then(|r| file["rsa_keys"][r]["private_pem"].as_str());
        if rsa_ref.is_some() && pem.is_none() {
            continue; // verify-only
        }
        let mut cmd = sigil();
        cmd.args(["sign", "--output", "json", "--method"])
            .arg(v["method"].as_str().unwrap())
            .arg("--url")
            .arg(v["uri"].as_str().unwrap())
            .arg("--signature-method")
            .arg(method)
            .arg("--consumer-key")
            .arg(get("oauth_consumer_key").unwrap())
            .arg("--nonce")
            .arg(get("oauth_nonce").unwrap())
            .arg("--timestamp")
            .arg(get("oauth_timestamp").unwrap());
        if let Some(cs) = v["consumer_secret"].as_str() {
            cmd.arg("--consumer-secret").arg(cs);
        }
        if let Some(t) = get("oauth_token") {
            cmd.arg("--token").arg(t);
        }
        if let Some(ts) = v["token_secret"].as_str() {
            cmd.arg("--token-secret").arg(ts);
        }
        if let Some(realm) = v["realm"].as_str() {
            cmd.arg("--realm").arg(realm);
        }
        match get("oauth_version") {
            Some("1.0") => {}
            Some(other) => {
                cmd.arg("--no-version")
                    .arg("--oauth")
                    .arg(format!("oauth_version={other}"));
            }
            None => {
                cmd.arg("--no-version");
            }
        }
        for name in ["oauth_callback", "oauth_verifier"] {
            if let Some(value) = get(name) {
                cmd.arg("--oauth").arg(format!("{name}={value}"));
            }
        }
        for p in v["body_params"].as_array().unwrap() {
            let (n, val) = (p[0].as_str().unwrap(), p[1].as_str().unwrap());
            if !n.starts_with("oauth_") {
                cmd.arg("--form").arg(format!("{n}={val}"));
            }
        }
        if let Some(pem) = pem {
            let path = dir.join(format!("{}.pem", v["id"].as_str().unwrap()));
            std::fs::write(&path, pem).unwrap();
            cmd.arg("--rsa-key").arg(path);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            v["id"],
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["signature"], v["expected_signature"], "{}", v["id"]);
        assert_eq!(
            json["base_string"], v["expected_base_string"],
            "{}",
            v["id"]
        );
        let auth = json["authorization"].as_str().unwrap();
        assert!(auth.starts_with("OAuth "), "{}", v["id"]);
        if let Some(realm) = v["realm"].as_str() {
            assert!(auth.contains(&format!("realm=\"{realm}\"")));
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} vectors checked");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn outputs_are_deterministic_and_separate() {
    let base = [
        "sign",
        "--method",
        "GET",
        "--url",
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
        "--consumer-key",
        "dpf43f3p2l4k3l03",
        "--consumer-secret",
        "kd94hf93k423kf44",
        "--token",
        "nnch734d00sl2jdk",
        "--token-secret",
        "pfkkdhi9sl3r4s00",
        "--nonce",
        "chapoH",
        "--timestamp",
        "137131202",
        "--no-version",
        "--realm",
        "Photos",
    ];
    let run = |output: &str| {
        let out = sigil()
            .args(base)
            .args(["--output", output])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run("signature"), "MdpQcU8iPSUjWoN/UDMsK2sui9I=\n");
    assert!(
        run("base-string")
            .starts_with("GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg")
    );
    assert_eq!(
        run("header"),
        "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", oauth_token=\"nnch734d00sl2jdk\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"137131202\", oauth_nonce=\"chapoH\", oauth_signature=\"MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D\"\n"
    );
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(
        json["params"],
        "file=vacation.jpg&oauth_consumer_key=dpf43f3p2l4k3l03&oauth_nonce=chapoH&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131202&oauth_token=nnch734d00sl2jdk&size=original"
    );
}

#[test]
fn body_hash_for_a_non_form_body() {
    let dir = std::env::temp_dir().join(format!("sigil-sign-body-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = dir.join("body.xml");
    std::fs::write(&body, "Hello World!").unwrap();
    let out = sigil()
        .args([
            "sign",
            "--method",
            "POST",
            "--url",
            "https://lti.example/outcomes",
            "--consumer-key",
            "k",
            "--consumer-secret",
            "s",
            "--nonce",
            "n",
            "--timestamp",
            "1",
            "--body-hash",
            "--content-type",
            "application/xml",
            "--output",
            "json",
            "--body",
        ])
        .arg(&body)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["params"]
            .as_str()
            .unwrap()
            .contains("oauth_body_hash=Lve95gjOVATpfV8EL5X4nxwjKHE%3D")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    let cases: &[&[&str]] = &[
        &["sign", "--url", "http://a.b/"],
        &[
            "sign",
            "--url",
            "http://a.b/",
            "--consumer-key",
            "k",
            "--signature-method",
            "MD5",
        ],
        &["sign", "--url", "not a url", "--consumer-key", "k"],
        &[
            "sign",
            "--url",
            "http://a.b/",
            "--consumer-key",
            "k",
            "--signature-method",
            "RSA-SHA1",
        ],
        &[
            "sign",
            "--url",
            "http://a.b/",
            "--consumer-key",
            "k",
            "--oauth",
            "novalue",
        ],
        &[
            "sign",
            "--url",
            "http://a.b/",
            "--consumer-key",
            "k",
            "--oauth",
            "foo=bar",
        ],
        &[
            "sign",
            "--url",
            "http://a.b/",
            "--consumer-key",
            "k",
            "--oauth",
            "oauth_nonce=x",
            "--nonce",
            "y",
        ],
        &[
            "sign",
            "--url",
            "http://a.b/",
            "--consumer-key",
            "k",
            "--form",
            "a=b",
            "--body-hash",
        ],
    ];
    for args in cases {
        let out = sigil().args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("error"), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}
