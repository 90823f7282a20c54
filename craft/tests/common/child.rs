//! Child processes in tests: killed and reaped when dropped, waited for with a limit.
// Not every test binary uses every helper.
#![allow(dead_code)]

use std::process::{Child, Output};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when dropped, so a failing test leaves none behind.
pub struct Guard(pub Option<Child>);

impl Guard {
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }

    /// Its output once it exits; killed, with a panic naming what it printed, past `limit`.
    pub fn wait(mut self, limit: Duration) -> Output {
        let mut child = self.0.take().expect("running");
        let start = Instant::now();
        loop {
            if child.try_wait().expect("try_wait").is_some() {
                return child.wait_with_output().expect("output");
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "command ran over {limit:?}; stdout: {} stderr: {}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Stop `child` the way a user's Ctrl-C would (SIGINT: daemons detach and clean up), killed
/// if it is still running `grace` later; reaped either way.
pub fn interrupt(mut child: Child, grace: Duration) {
    // SAFETY: kill(2) on our own child's pid, which it keeps until we reap it below.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
