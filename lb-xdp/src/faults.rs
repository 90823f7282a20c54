//! Test-only fault switches (feature `faults`): the director built once more with real bugs
//! it once had, each behind a bit of the fault word in its map `FAULTS`, for the
//! reproducers in fixtures/ (issue #10). The default programs carry none of this: the
//! faulty object (lb-xdp-director-faults) is built only with the feature and loaded only
//! by [`Director::load_with_faults`] (`lb-xdp-faults director --fault NAME`); the fixed
//! variant of a reproducer is the real program.
use crate::director::{Director, DirectorMaps, MAP_NAMES};
use anyhow::{Context as _, Result};
use aya::maps::Array;

/// A bug the faulty director can be told to have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The outer IPv4 checksum summed over the header in the packet without zeroing its
    /// checksum field first: whatever the headroom held there is summed in.
    CsumNotZeroed,
    /// `bpf_xdp_adjust_head(ctx, +grow)` instead of `-grow`: the frame shrinks, the
    /// bounds check of the outer headers fails, XDP_DROP (counter `no_headroom`).
    AdjustHeadSign,
}

impl Fault {
    pub const ALL: [Fault; 2] = [Fault::CsumNotZeroed, Fault::AdjustHeadSign];

    pub fn name(self) -> &'static str {
        match self {
            Fault::CsumNotZeroed => "csum-not-zeroed",
            Fault::AdjustHeadSign => "adjust-head-sign",
        }
    }

    /// Its bit in the fault word (ebpf/src/bin/director.rs, `mod faults`).
    pub fn bit(self) -> u32 {
        match self {
            Fault::CsumNotZeroed => 1 << 0,
            Fault::AdjustHeadSign => 1 << 1,
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Fault {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
            anyhow::anyhow!("no fault '{s}'; there are: {}", names.join(", "))
        })
    }
}

impl Director {
    /// Loads the faulty director (not attached yet) with `faults` switched on; with none,
    /// it behaves as the real one.
    pub fn load_with_faults(faults: &[Fault]) -> Result<Director> {
        let (mut ebpf, maps) = crate::load(crate::ebpf::DIRECTOR_FAULTS, "director", MAP_NAMES)?;
        let word = faults.iter().fold(0, |w, f| w | f.bit());
        let map = ebpf.map_mut("FAULTS").context("the faulty director has no map FAULTS")?;
        Array::<_, u32>::try_from(map)?.set(0, word, 0).context("cannot set the fault word")?;
        Ok(Director { ebpf, maps: DirectorMaps(maps) })
    }
}
