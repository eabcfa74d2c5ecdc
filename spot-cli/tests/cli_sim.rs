//! `spot sim` as a user runs it: the built binary, its JSON, its summary and its exit codes.

use std::process::{Command, Output};

fn spot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spot")).args(args).output().expect("the spot binary runs")
}

fn json(args: &[&str]) -> serde_json::Value {
    let output = spot(args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

#[test]
fn json_report_holds_every_field() {
    let report = json(&[
        "sim",
        "--nodes",
        "12",
        "--seed",
        "5",
        "--kill",
        "2",
        "--duration",
        "120",
        "--json",
    ]);
    assert_eq!(report["nodes"], 12);
    assert_eq!(report["seed"], 5);
    assert_eq!(report["virtual_seconds"], 120.0);
    assert_eq!(report["false_deaths"], 0);
    assert_eq!(report["killed"].as_array().map(Vec::len), Some(2));
    let detect = report["detect_all_dead_s"].as_f64().expect("detection finished");
    assert!(detect > 0.0 && detect < 60.0, "detect {detect}");
    let msgs = report["msgs_per_member_per_period"].as_f64().expect("number");
    assert!(msgs > 1.0 && msgs < 4.0, "msgs {msgs}");
    assert!(report["bytes_per_member_per_period"].as_f64().expect("number") > msgs * 20.0);
    assert!(report["pushpull_bytes_per_member_per_period"].as_f64().expect("number") > 0.0);
    assert!(report["cpu_us_per_member_second"].as_f64().expect("number") > 0.0);
    assert!(report["wall_seconds"].as_f64().expect("number") > 0.0);
    assert_eq!(report["ok"], true);
}

#[test]
fn same_seed_same_simulated_figures() {
    let args = [
        "sim",
        "--nodes",
        "10",
        "--seed",
        "9",
        "--loss",
        "5",
        "--kill",
        "1",
        "--duration",
        "90",
        "--json",
    ];
    let (a, b) = (json(&args), json(&args));
    for field in [
        "killed",
        "detect_all_dead_s",
        "msgs_per_member_per_period",
        "bytes_per_member_per_period",
        "suspicions",
        "datagrams_lost",
    ] {
        assert_eq!(a[field], b[field], "{field}");
    }
    assert!(a["datagrams_lost"].as_u64().expect("count") > 0, "5% loss drops datagrams");
}

#[test]
fn nothing_killed_gives_null_detection_and_join_start_works() {
    let report = json(&[
        "sim",
        "--nodes",
        "8",
        "--duration",
        "40",
        "--start",
        "join",
        "--preset",
        "local",
        "--json",
    ]);
    assert!(report["detect_all_dead_s"].is_null());
    assert_eq!(report["start"], "join");
    assert_eq!(report["preset"], "local");
    assert_eq!(report["false_deaths"], 0);
}

#[test]
fn summary_is_readable() {
    let output = spot(&["sim", "--nodes", "6", "--kill", "1", "--duration", "90"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    for needle in
        ["6 members", "seed 1", "all see killed dead", "false deaths", "per member per period"]
    {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    for bad in [
        &["sim", "--loss", "101"][..],
        &["sim", "--nodes", "3", "--kill", "3"],
        &["sim", "--start", "sideways"],
        &["sim", "--nodes", "0"],
        &["frobnicate"],
    ] {
        let output = spot(bad);
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(!output.stderr.is_empty(), "{bad:?} explains itself");
    }
    for help in [&["--help"][..], &["sim", "--help"], &["help", "sim"]] {
        let output = spot(help);
        assert_eq!(output.status.code(), Some(0), "{help:?}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("Usage") && text.contains("Exit codes"), "{help:?}: {text}");
    }
    let text = String::from_utf8_lossy(&spot(&["sim", "--help"]).stdout).into_owned();
    for flag in
        ["--nodes", "--seed", "--loss", "--kill", "--duration", "--start", "--preset", "--json"]
    {
        assert!(text.contains(flag), "{flag} documented");
    }
}
