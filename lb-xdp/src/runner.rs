//! Starting an lb-xdp daemon (`lb-xdp director|decap|pass ...`, or `lb-xdp-faults`) inside a
//! network namespace, for tests and fixtures: the one way they all do it. lb-xdp's tests use
//! it as `lb_xdp::runner`; fixtures' topologies and craft's tests include this file
//! (`#[path]` in fixtures/src/topo.rs and craft/tests/common/lb_xdp.rs), since they build
//! without the eBPF toolchain lb-xdp needs, so only std and libc are used here. Stopping
//! (SIGINT, then kill) stays with each caller.
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// What a daemon prints as its first line once its program is attached and its maps pinned.
pub const READY: &str = "Ctrl-C to stop";

/// A daemon that printed [`READY`]: its process (stdout and stderr piped) and that line.
pub struct Started {
    /// The daemon; the caller stops and reaps it.
    pub child: Child,
    /// Its first line, [`READY`] in it.
    pub line: String,
}

/// Runs `bin args` in the network namespace `/var/run/netns/NETNS` and waits for its first
/// line. By nsenter, not `ip netns exec`, whose private /sys would hide the daemon's pins
/// from other processes (`lb-xdp stats`, craft's explain). The daemon gets SIGINT if this
/// process dies (PR_SET_PDEATHSIG), so it detaches and unpins even then; the kernel sends
/// it when the *thread* that called this exits, so keep the daemon no longer than that thread. When its first
/// line is not [`READY`] it is killed and reaped, and the error holds what it printed.
pub fn start_in_netns(netns: &str, bin: &Path, args: &[&str]) -> Result<Started, String> {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net=/var/run/netns/{netns}")).arg("--").arg(bin).args(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: prctl in the child between fork and exec, async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot run nsenter: {e}"))?;
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.as_mut().expect("piped stdout")).read_line(&mut line);
    if !line.contains(READY) {
        let _ = child.kill();
        let mut err = String::new();
        let _ = child.stderr.as_mut().expect("piped stderr").read_to_string(&mut err);
        let _ = child.wait();
        return Err(format!("did not start: {}{}", line, err.trim()));
    }
    Ok(Started { child, line })
}
