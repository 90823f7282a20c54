//! The lab the live tests share: two fresh network namespaces A and B joined by a veth pair
//! with addresses on both ends, both ends up. Removed when dropped (veth first, then the
//! namespaces), panics included; see netns.rs.

#![allow(dead_code)]

use std::time::Duration;

use craft::field::Mac;
use craft::live::Iface;

use super::netns::{Netns, VethPair};

pub struct Lab {
    // Field order is drop order: the veth goes before the namespaces.
    pub veth: VethPair,
    pub a: Netns,
    pub b: Netns,
    pub mac_a: Mac,
    pub mac_b: Mac,
}

/// Namespaces `{prefix}a-…` and `{prefix}b-…`; veth end a gets `v4.0`/24, end b `v4.1`/24,
/// and with `v6` IPv6 turned on and `v6.0`/64, `v6.1`/64 (no duplicate address detection).
pub fn lab(prefix: &str, v4: (&str, &str), v6: Option<(&str, &str)>) -> Lab {
    let a = Netns::new(&format!("{prefix}a"));
    let b = Netns::new(&format!("{prefix}b"));
    let mut veth = VethPair::new(&a, &b);
    if let Some((a6, b6)) = v6 {
        veth = veth.with_v6(&format!("{a6}/64"), &format!("{b6}/64"));
    }
    let veth = veth.with_addrs(&format!("{}/24", v4.0), &format!("{}/24", v4.1));
    let mac_a = iface_in(&a, &veth.a).mac;
    let mac_b = iface_in(&b, &veth.b).mac;
    Lab { veth, a, b, mac_a, mac_b }
}

impl Lab {
    /// One more address (CIDR) on B's end, usable at once (IPv6: no duplicate address
    /// detection).
    pub fn add_to_b(&self, cidr: &str) {
        let mut args = vec!["addr", "add", cidr, "dev", self.veth.b.as_str()];
        if cidr.contains(':') {
            args.push("nodad");
        }
        self.b.exec(&args);
    }
}

/// Interface `dev` of namespace `ns`, as craft sees it there.
pub fn iface_in(ns: &Netns, dev: &str) -> Iface {
    let dev = dev.to_string();
    ns.run(Duration::from_secs(20), move || Iface::lookup(&dev)).expect("lookup")
}
