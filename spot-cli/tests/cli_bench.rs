//! `spot bench`: a tiny run of the real binary (two processes over loopback, no peers) gives a
//! JSON report of the documented shape with every message received; bad flags are usage errors.

use std::process::Command;

use serde_json::Value;

fn spot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spot"))
}

#[test]
fn tiny_bench_reports_json_with_every_message_received() {
    let output = spot()
        .args([
            "bench",
            "--json",
            "--runs",
            "1",
            "--messages",
            "2000",
            "--sizes",
            "16,1024",
            "--rate",
            "2000",
            "--duration",
            "0.25",
            "--burst",
            "100",
        ])
        .output()
        .expect("spot runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}; stderr:\n{stderr}", output.status);
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");

    assert_eq!(report["config"]["runs"], 1);
    assert_eq!(report["config"]["peers"], false);
    assert_eq!(report["config"]["latency_messages"], 500);
    let spot = &report["results"]["spot"];
    for size in ["16", "1024"] {
        let t = &spot["throughput"][size];
        assert_eq!(t["sent"], 2000, "{t}");
        assert_eq!(t["received"], 2000, "{t}");
        assert_eq!(t["lost"], 0, "{t}");
        let rate = t["msgs_per_s"]["median"].as_f64().expect("a rate");
        assert!(rate > 0.0, "{t}");
        assert!(t["msgs_per_s"]["min"].as_f64() <= Some(rate));
        assert!(t["msgs_per_s"]["max"].as_f64() >= Some(rate));
        let mb = t["mb_per_s"]["median"].as_f64().expect("MB/s");
        let expected = rate * size.parse::<f64>().expect("size") / 1e6;
        assert!((mb - expected).abs() <= expected * 1e-6, "{mb} vs {expected}");
        let runs = t["runs"].as_array().expect("per-run figures");
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0]["malformed"], 0);
    }
    let l = &spot["latency"]["16"];
    assert_eq!(l["rate"], 2000);
    assert_eq!(l["received"], 500, "{l}");
    let p50 = l["p50_us"]["median"].as_f64().expect("p50");
    let p99 = l["p99_us"]["median"].as_f64().expect("p99");
    assert!(p50 > 0.0 && p99 >= p50, "{l}");
    assert!(p99 < 1e6, "a p99 of a second or more means the clock is wrong: {l}");
    // No peers: no ratios, no targets, no servers.
    assert_eq!(report["ratios"], serde_json::json!({}));
    assert_eq!(report["targets"], serde_json::json!([]));
    assert!(report["results"]["nats"].is_null());
}

#[test]
fn bench_rejects_bad_flags_as_usage_errors() {
    for args in [
        &["bench", "--sizes", "8"][..],
        &["bench", "--runs", "0"],
        &["bench", "--rate", "0"],
        &["bench", "--duration", "-1"],
    ] {
        let output = spot().args(args).output().expect("spot runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&output.stderr).is_empty(), "{args:?}");
    }
}

#[test]
fn bench_help_lists_the_flags_and_hides_the_peer() {
    let output = spot().args(["bench", "--help"]).output().expect("spot runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--peers", "--runs", "--messages", "--sizes", "--rate", "--duration", "--json"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let top = spot().arg("--help").output().expect("spot runs");
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(top.contains("bench") && !top.contains("bench-peer"), "{top}");
}
