//! One module per protocol.

pub mod arp;
pub mod cooked_linux;
pub mod cooked_linux_v2;
pub mod dot1q;
pub mod ether;
pub mod gue;
pub mod icmp;
pub mod icmpv6;
pub mod ip;
pub mod ipv6;
pub mod ipv6ext;
pub mod loopback;
pub mod loopback_openbsd;
pub mod raw;
pub mod tcp;
pub mod udp;

pub use arp::Arp;
pub use cooked_linux::CookedLinux;
pub use cooked_linux_v2::CookedLinuxV2;
pub use dot1q::Dot1Q;
pub use ether::Ether;
pub use gue::Gue;
pub use icmp::Icmp;
pub use icmpv6::{
    Icmpv6DestUnreach, Icmpv6EchoReply, Icmpv6EchoRequest, Icmpv6NdNa, Icmpv6NdNs, Icmpv6NdOptDstLladdr,
    Icmpv6NdOptSrcLladdr, Icmpv6PacketTooBig, Icmpv6ParamProblem, Icmpv6TimeExceeded, Icmpv6Unknown,
};
pub use icmpv6::{
    Icmpv6MlDone, Icmpv6MlQuery, Icmpv6MlQuery2, Icmpv6MlReport, Icmpv6MlReport2, Icmpv6MldMultAddrRec, Icmpv6NdOptDnssl, Icmpv6NdOptMtu,
    Icmpv6NdOptPrefixInfo, Icmpv6NdOptRdnss, Icmpv6NdOptRedirectedHdr, Icmpv6NdOptRouteInfo, Icmpv6NdOptUnknown, Icmpv6NdRa,
    Icmpv6NdRedirect, Icmpv6NdRs,
};
pub use icmpv6::{IcmpExtHeader, IcmpExtInterfaceId, IcmpExtObject, Icmpv6ExtEchoReply, Icmpv6ExtEchoRequest};
pub use ip::Ip;
pub use ipv6::Ipv6;
pub use ipv6ext::{DestOpt, Fragment, HopByHop, Routing};
pub use loopback::Loopback;
pub use loopback_openbsd::LoopbackOpenBSD;
pub use raw::{Padding, Raw};
pub use tcp::{Tcp, TcpFlags, TcpOption, TcpOptions};
pub use udp::Udp;
