//! CPU time of this process, from /proc (Linux), with nanosecond precision where available.

use std::time::Duration;

/// CPU time used by every thread of this process so far (zero if /proc is not readable).
pub fn process_cpu_time() -> Duration {
    let mut total = 0u64;
    let mut found = false;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let path = task.path().join("schedstat");
            if let Some(nanos) = std::fs::read_to_string(path)
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
            {
                total += nanos;
                found = true;
            }
        }
    }
    if found && total > 0 {
        return Duration::from_nanos(total);
    }
    // Fallback: utime + stime in clock ticks (USER_HZ is 100 on Linux).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let after = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = after.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(Duration::from_millis(ticks * 10))
        })
        .unwrap_or_default()
}
