//! The output of the processes a cluster test starts: kept, and printed if the test fails.

use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

use super::START_WAIT;

/// Lines of each log kept for the report of a failed test.
const LOG_LINES: usize = 400;

/// The last lines of a process's output, kept for the report of a failed test.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Keep reading `out` into the log (so the process never blocks on a full pipe).
    pub fn drain(&self, out: impl BufRead + Send + 'static) {
        let log = self.clone();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                log.push(line);
            }
        });
    }

    pub fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() >= LOG_LINES {
            lines.remove(0);
        }
        lines.push(line);
    }

    /// Every line kept, joined.
    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
    }

    /// Print the log if the test is failing.
    pub fn report_if_panicking(&self, who: &str) {
        if std::thread::panicking() {
            eprintln!("----- log of {who} (last {LOG_LINES} lines) -----");
            eprintln!("{}", self.text());
            eprintln!("----- end of {who} -----");
        }
    }
}

/// Read lines of `out` into `log` until one for which `find` gives a value, for at most
/// `START_WAIT`; the rest of `out` keeps going to `log`.
pub fn read_until<T: Send + 'static>(
    out: impl Read + Send + 'static,
    log: &Log,
    what: &str,
    find: impl Fn(&str) -> Option<T> + Send + 'static,
) -> T {
    let (found, wait) = std::sync::mpsc::channel();
    let log2 = log.clone();
    std::thread::spawn(move || {
        let mut out = BufReader::new(out);
        let mut sent = false;
        let mut line = String::new();
        loop {
            line.clear();
            match out.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = line.trim_end().to_owned();
            if !sent {
                if let Some(v) = find(&text) {
                    let _ = found.send(v);
                    sent = true;
                }
            }
            log2.push(text);
        }
    });
    wait.recv_timeout(START_WAIT).unwrap_or_else(|_| {
        panic!(
            "{what}: no start line within {START_WAIT:?}; output so far:\n{}",
            log.text()
        )
    })
}
