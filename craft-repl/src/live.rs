//! The live functions: send, sendp, sr, sr1, srp, srp1, srloop, sniff — on craft::live.

use crate::interp::{err, Args, Interp, R};
use crate::value::Val;

/// State kept between live calls.
#[derive(Default)]
pub struct Live {}

pub fn call(_me: &mut Interp, name: &str, args: Args) -> R<Val> {
    err(args.at, format!("{name}() is not available yet"))
}
