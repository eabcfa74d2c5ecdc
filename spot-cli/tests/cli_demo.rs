//! `spot demo` end to end: the real binary, three nodes on loopback.

use std::process::Command;

#[test]
fn spot_demo_routes_publishes_and_detects_the_killed_node() {
    let output = Command::new(env!("CARGO_BIN_EXE_spot")).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}\n{stdout}\n{stderr}", output.status);
    for expected in [
        "c received game:score = \"42\"",
        "a received chat:lobby = \"hello from b\"",
        "b received metrics:cpu = \"0.93\"",
        "a declares c dead",
        "b declares c dead",
        "a drops c's topic metrics:cpu",
        "its topics cleaned up: yes",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    let wall: f64 = stdout
        .rsplit("; ")
        .next()
        .and_then(|tail| tail.split(" s in all").next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(f64::MAX);
    assert!(wall < 15.0, "the demo took {wall} s");
}
