//! A process of this machine read from /proc: its CPU time and its memory.

/// `CLK_TCK` (USER_HZ): the unit of utime/stime in /proc/PID/stat, 100 on Linux.
pub const CLK_TCK: f64 = 100.0;

/// utime + stime of `pid`, in clock ticks.
pub fn read_cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // The command name is in parentheses and may contain spaces: fields restart after ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("unexpected /proc/PID/stat format")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let num = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| "unexpected /proc/PID/stat format".to_owned())
    };
    Ok(num(11)? + num(12)?)
}

/// A `Vm…:  1234 kB` line of /proc/PID/status, in KiB.
pub fn read_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
