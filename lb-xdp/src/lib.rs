//! lb-xdp: an XDP GUE load balancer (director) and its decap program, with aya.
//!
//! The eBPF side is in `ebpf/` (built by build.rs), the map layouts in `common/`.
pub mod config;
pub mod daemon;
pub mod decap;
pub mod director;
pub mod ebpf;
#[cfg(feature = "faults")]
pub mod faults;
pub mod maglev;
pub mod maps;
pub mod runner;
pub mod sys;

use anyhow::{Context as _, Result};
use aya::programs::{ProgramError, Xdp};
use aya::Ebpf;

/// Loads an object, then `program` into the kernel (with the verifier's log when it
/// refuses), and takes the maps out of the object.
pub fn load(object: &[u8], program: &str, map_names: &[&'static str]) -> Result<(Ebpf, maps::Maps)> {
    let mut ebpf = Ebpf::load(object).with_context(|| format!("cannot load the {program} object"))?;
    load_program(&mut ebpf, program)?;
    let maps = maps::Maps::take(&mut ebpf, map_names)?;
    Ok((ebpf, maps))
}

pub fn load_program(ebpf: &mut Ebpf, program: &str) -> Result<()> {
    let xdp: &mut Xdp = ebpf
        .program_mut(program)
        .with_context(|| format!("the object has no program {program}"))?
        .try_into()?;
    match xdp.load() {
        Ok(()) => Ok(()),
        Err(ProgramError::LoadError { io_error, verifier_log }) => Err(anyhow::anyhow!(
            "the kernel refused the {program} program: {io_error}\nverifier log:\n{verifier_log}"
        )),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot load the {program} program"))),
    }
}
