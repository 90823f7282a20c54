//! craft's dissection against tshark's decoding of the same capture, for what issue 11
//! found undecoded or misread: the ICMPv6 router, redirect and MLD messages with their
//! options, jumbograms and BIG TCP/TSO packets (payload length 0) built by craft, and IPv4
//! headers that cannot be one (ihl below 5, a version that contradicts the EtherType), the
//! RouteInfo and DNSSL ND options, and RFC 8335 extended echo with its extension structure.
//! The test writes the pcap itself; every field tshark decodes is compared with craft's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use craft::check::check_bytes;
use craft::field::Value;
use craft::layer::DissectCx;
use craft::layers::ipv6ext::opt;
use craft::packet::{Layer, LayerKind, Packet};
use craft::prelude::*;

/// Whether tshark is installed; without it the test is skipped, unless CI is set.
fn have_tshark() -> bool {
    let found = Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "tshark is missing and CI is set: run scripts/setup.sh");
        eprintln!("skipping: tshark is not installed (scripts/setup.sh installs it)");
    }
    found
}

/// A classic pcap (microseconds, Ethernet) of these frames, snaplen 262144 (tshark's
/// largest): jumbograms fit whole.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        for word in [1_700_000_000 + i as u32, 0, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    out
}

fn write_pcap(name: &str, frames: &[Vec<u8>]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("craft-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, pcap(frames)).unwrap();
    file
}

/// tshark's values of `fields` for each frame: every occurrence, joined with ','.
fn tshark(file: &Path, fields: &[&str], occurrence: &str) -> Vec<BTreeMap<String, String>> {
    let mut args: Vec<String> = ["-r", file.to_str().unwrap(), "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]
        .map(String::from)
        .into();
    args.extend(["-T", "fields", "-E", &format!("occurrence={occurrence}"), "-E", "aggregator=,"].map(String::from));
    for f in fields {
        args.extend(["-e".to_string(), f.to_string()]);
    }
    let out = Command::new("tshark").args(&args).output().unwrap();
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| fields.iter().map(|f| f.to_string()).zip(line.split('\t').map(String::from)).collect())
        .collect()
}

/// How a craft field is written as tshark writes it.
#[derive(Clone, Copy)]
enum Form {
    Dec,
    Hex4,
    /// Two hex digits, no 0x (tshark's bytes).
    Hex2,
    /// 0x and two hex digits.
    Hex2x,
    /// Domain names without their final dot.
    Domain,
}

fn show(v: &Value, form: Form) -> String {
    match (v, form) {
        (Value::Int(i), Form::Hex4) => format!("{i:#06x}"),
        (Value::Int(i), Form::Hex2) => format!("{i:02x}"),
        (Value::Int(i), Form::Hex2x) => format!("{i:#04x}"),
        (Value::Str(s), Form::Domain) => s.strip_suffix('.').unwrap_or(s).to_lowercase(),
        (Value::Bytes(b), _) => String::from_utf8_lossy(b).into_owned(),
        (Value::Int(i), Form::Dec) => i.to_string(),
        (Value::Bool(b), _) => (*b as u8).to_string(),
        (Value::Str(s), _) => s.to_lowercase(),
        (Value::List(items), _) => items.iter().map(|v| show(v, form)).collect::<Vec<_>>().join(","),
        (v, _) => format!("{v:?}"),
    }
}

use LayerKind as K;

/// Every ICMPv6 message kind craft dissects these frames into.
const MESSAGES: &[LayerKind] = &[
    K::Icmpv6NdRs,
    K::Icmpv6NdRa,
    K::Icmpv6NdRedirect,
    K::Icmpv6MlQuery,
    K::Icmpv6MlReport,
    K::Icmpv6MlDone,
    K::Icmpv6MlQuery2,
    K::Icmpv6MlReport2,
];

/// Every ND option kind.
const OPTIONS: &[LayerKind] = &[
    K::Icmpv6NdOptSrcLladdr,
    K::Icmpv6NdOptDstLladdr,
    K::Icmpv6NdOptPrefixInfo,
    K::Icmpv6NdOptRedirectedHdr,
    K::Icmpv6NdOptMtu,
    K::Icmpv6NdOptRdnss,
    K::Icmpv6NdOptRouteInfo,
    K::Icmpv6NdOptDnssl,
    K::Icmpv6NdOptUnknown,
];

/// tshark field, the craft (layer kinds, field) it is, and how tshark writes it; `a|b`: the
/// field is `a` in the layers that have it, else `b`.
type Mapping = (&'static str, &'static [LayerKind], &'static str, Form);

const ICMPV6_FIELDS: &[Mapping] = &[
    ("icmpv6.type", MESSAGES, "type", Form::Dec),
    ("icmpv6.checksum", MESSAGES, "cksum", Form::Hex4),
    ("icmpv6.nd.ra.cur_hop_limit", &[K::Icmpv6NdRa], "chlim", Form::Dec),
    ("icmpv6.nd.ra.flag.m", &[K::Icmpv6NdRa], "M", Form::Dec),
    ("icmpv6.nd.ra.flag.o", &[K::Icmpv6NdRa], "O", Form::Dec),
    ("icmpv6.nd.ra.flag.h", &[K::Icmpv6NdRa], "H", Form::Dec),
    ("icmpv6.nd.ra.flag.prf", &[K::Icmpv6NdRa], "prf", Form::Dec),
    ("icmpv6.nd.ra.flag.p", &[K::Icmpv6NdRa], "P", Form::Dec),
    ("icmpv6.nd.ra.router_lifetime", &[K::Icmpv6NdRa], "routerlifetime", Form::Dec),
    ("icmpv6.nd.ra.reachable_time", &[K::Icmpv6NdRa], "reachabletime", Form::Dec),
    ("icmpv6.nd.ra.retrans_timer", &[K::Icmpv6NdRa], "retranstimer", Form::Dec),
    ("icmpv6.nd.rd.target_address", &[K::Icmpv6NdRedirect], "tgt", Form::Dec),
    ("icmpv6.rd.na.destination_address", &[K::Icmpv6NdRedirect], "dst", Form::Dec),
    ("icmpv6.opt.type", OPTIONS, "type", Form::Dec),
    ("icmpv6.opt.src_linkaddr", &[K::Icmpv6NdOptSrcLladdr], "lladdr", Form::Dec),
    ("icmpv6.opt.target_linkaddr", &[K::Icmpv6NdOptDstLladdr], "lladdr", Form::Dec),
    ("icmpv6.opt.prefix.length", &[K::Icmpv6NdOptPrefixInfo, K::Icmpv6NdOptRouteInfo], "prefixlen|plen", Form::Dec),
    ("icmpv6.opt.prefix.flag.l", &[K::Icmpv6NdOptPrefixInfo], "L", Form::Dec),
    ("icmpv6.opt.prefix.flag.a", &[K::Icmpv6NdOptPrefixInfo], "A", Form::Dec),
    ("icmpv6.opt.prefix.flag.r", &[K::Icmpv6NdOptPrefixInfo], "R", Form::Dec),
    ("icmpv6.opt.prefix.valid_lifetime", &[K::Icmpv6NdOptPrefixInfo], "validlifetime", Form::Dec),
    ("icmpv6.opt.prefix.preferred_lifetime", &[K::Icmpv6NdOptPrefixInfo], "preferredlifetime", Form::Dec),
    ("icmpv6.opt.prefix", &[K::Icmpv6NdOptPrefixInfo, K::Icmpv6NdOptRouteInfo], "prefix", Form::Dec),
    ("icmpv6.opt.route_info.flag.route_preference", &[K::Icmpv6NdOptRouteInfo], "prf", Form::Dec),
    ("icmpv6.opt.route_lifetime", &[K::Icmpv6NdOptRouteInfo], "rtlifetime", Form::Dec),
    ("icmpv6.opt.dnssl.lifetime", &[K::Icmpv6NdOptDnssl], "lifetime", Form::Dec),
    ("icmpv6.opt.dnssl", &[K::Icmpv6NdOptDnssl], "searchlist", Form::Domain),
    ("icmpv6.opt.mtu", &[K::Icmpv6NdOptMtu], "mtu", Form::Dec),
    ("icmpv6.opt.rdnss.lifetime", &[K::Icmpv6NdOptRdnss], "lifetime", Form::Dec),
    ("icmpv6.opt.rdnss", &[K::Icmpv6NdOptRdnss], "dns", Form::Dec),
    ("icmpv6.mld.maximum_response_delay", &[K::Icmpv6MlQuery, K::Icmpv6MlReport, K::Icmpv6MlDone], "mrd", Form::Dec),
    ("icmpv6.mld.maximum_response_code", &[K::Icmpv6MlQuery2], "mrd", Form::Dec),
    (
        "icmpv6.mld.multicast_address",
        &[K::Icmpv6MlQuery, K::Icmpv6MlReport, K::Icmpv6MlDone, K::Icmpv6MlQuery2],
        "mladdr",
        Form::Dec,
    ),
    ("icmpv6.mld.flag.s", &[K::Icmpv6MlQuery2], "S", Form::Dec),
    ("icmpv6.mld.flag.qrv", &[K::Icmpv6MlQuery2], "QRV", Form::Dec),
    ("icmpv6.mld.qqi", &[K::Icmpv6MlQuery2], "QQIC", Form::Dec),
    ("icmpv6.mld.nb_sources", &[K::Icmpv6MlQuery2], "sources_number", Form::Dec),
    ("icmpv6.mld.source_address", &[K::Icmpv6MlQuery2], "sources", Form::Dec),
    ("icmpv6.mldr.nb_mcast_records", &[K::Icmpv6MlReport2], "records_number", Form::Dec),
    ("icmpv6.mldr.mar.record_type", &[K::Icmpv6MldMultAddrRec], "rtype", Form::Dec),
    ("icmpv6.mldr.mar.aux_data_len", &[K::Icmpv6MldMultAddrRec], "auxdata_len", Form::Dec),
    ("icmpv6.mldr.mar.nb_sources", &[K::Icmpv6MldMultAddrRec], "sources_number", Form::Dec),
    ("icmpv6.mldr.mar.multicast_address", &[K::Icmpv6MldMultAddrRec], "dst", Form::Dec),
    ("icmpv6.mldr.mar.source_address", &[K::Icmpv6MldMultAddrRec], "sources", Form::Dec),
];

/// craft's value of a mapped field: every layer of the kinds, in order, joined with ','.
fn craft_value(p: &Packet, kinds: &[LayerKind], field: &str, form: Form) -> String {
    let values: Vec<String> = p
        .layers
        .iter()
        .filter(|l| kinds.contains(&l.kind()) && !absent_in_tshark(l, field))
        .map(|l| {
            let value = field.split('|').find_map(|f| l.get(f));
            show(&value.unwrap_or_else(|| panic!("{:?} has no {field}", l.kind())), form)
        })
        .filter(|s| !s.is_empty())
        .collect();
    values.join(",")
}

/// Fields craft has and tshark leaves out: a route-information option of one unit carries
/// no prefix bytes; craft reads its prefix as `::` (as scapy), tshark shows none.
fn absent_in_tshark(l: &Layer, field: &str) -> bool {
    matches!(l, Layer::Icmpv6NdOptRouteInfo(r) if r.len == Some(1) && field == "prefix")
}

fn kinds(p: &Packet) -> Vec<LayerKind> {
    p.layers.iter().map(Layer::kind).collect()
}

fn eth(dst: &str) -> Ether {
    Ether::new().src("02:00:00:00:00:01").dst(dst)
}

fn ll(dst: &str) -> Ipv6 {
    Ipv6::new().src("fe80::1").dst(dst)
}

fn a6(s: &str) -> std::net::Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn icmpv6_router_redirect_and_mld_fields_equal_tsharks() {
    if !have_tshark() {
        return;
    }
    let quoted = (Ipv6::new().src("2001:db8::1").dst("2001:db8::99") / Udp::new().sport(1234).dport(53) / vec![b'q'; 10]).build();
    let alert = HopByHop::new().options(opt::router_alert(0));
    let packets = [
        eth("33:33:00:00:00:02") / ll("ff02::2") / Icmpv6NdRs::new() / Icmpv6NdOptSrcLladdr::new().lladdr("02:00:00:00:00:01"),
        eth("33:33:00:00:00:01")
            / ll("ff02::1")
            / Icmpv6NdRa::new().chlim(64).other_flag(1).prf(3).routerlifetime(600).reachabletime(30000).retranstimer(1000)
            / Icmpv6NdOptSrcLladdr::new().lladdr("02:00:00:00:00:01")
            / Icmpv6NdOptMtu::new().mtu(1500)
            / Icmpv6NdOptPrefixInfo::new().prefix("2001:db8:1::").validlifetime(86400).preferredlifetime(14400)
            / Icmpv6NdOptPrefixInfo::new().prefix("fd00::").prefixlen(48).autonomous_flag(0).router_flag(1)
            / Icmpv6NdOptRdnss::new().lifetime(600).dns(vec![a6("2001:db8::53"), a6("2001:db8::54")])
            / Icmpv6NdOptRouteInfo::new().prefix("2001:db8:2::").plen(48).prf(1).rtlifetime(1800)
            / Icmpv6NdOptRouteInfo::new().len(2).plen(64).prefix("2001:db8:3:4::").prf(3)
            / Icmpv6NdOptRouteInfo::new().rtlifetime(0)
            / Icmpv6NdOptDnssl::new().lifetime(600).searchlist(vec!["example.com".into(), "corp.example.org".into()]),
        eth("33:33:00:00:00:01") / ll("ff02::1") / Icmpv6NdRa::new().managed_flag(1).home_flag(1).proxy_flag(1).prf(0),
        eth("02:00:00:00:00:02")
            / ll("2001:db8::1")
            / Icmpv6NdRedirect::new().tgt("fe80::2").dst("2001:db8::99")
            / Icmpv6NdOptDstLladdr::new().lladdr("02:00:00:00:00:02")
            / Icmpv6NdOptRedirectedHdr::new().pkt(quoted),
        eth("33:33:00:00:00:01") / ll("ff02::1") / Icmpv6MlQuery::new(),
        eth("33:33:00:00:00:fb") / ll("ff02::fb") / Icmpv6MlReport::new().mladdr("ff02::fb"),
        eth("33:33:00:00:00:02") / ll("ff02::2") / Icmpv6MlDone::new().mladdr("ff02::fb"),
        eth("33:33:00:00:00:01")
            / ll("ff02::1")
            / Icmpv6MlQuery2::new().mladdr("ff05::1:3").suppress(1).qrv(2).qqic(125).sources(vec![a6("2001:db8::1"), a6("2001:db8::2")]),
        eth("33:33:00:00:00:16")
            / ll("ff02::16")
            / alert
            / Icmpv6MlReport2::new()
            / Icmpv6MldMultAddrRec::new().dst("ff02::fb")
            / Icmpv6MldMultAddrRec::new().rtype(1).dst("ff05::1:3").sources(vec![a6("2001:db8::1")])
            / Icmpv6MldMultAddrRec::new().rtype(6).dst("ff0e::2").sources(vec![a6("2001:db8::a"), a6("2001:db8::b")]),
    ];
    let frames: Vec<Vec<u8>> = packets.iter().map(Packet::build).collect();
    let file = write_pcap("icmpv6.pcap", &frames);
    let mut fields: Vec<&str> = ICMPV6_FIELDS.iter().map(|m| m.0).collect();
    fields.extend(["icmpv6.checksum.status", "icmpv6.code", "icmpv6.opt.length", "frame.protocols", "_ws.expert.message"]);
    let theirs = tshark(&file, &fields, "a");
    assert_eq!(theirs.len(), frames.len());
    let mut compared = 0;
    for (i, (frame, t)) in frames.iter().zip(&theirs).enumerate() {
        let p = Packet::dissect(frame, LayerKind::Ether);
        assert!(!kinds(&p).contains(&K::Raw) && !kinds(&p).contains(&K::Icmpv6Unknown), "frame {i}: {:?}", kinds(&p));
        assert_eq!(t["icmpv6.checksum.status"], "1", "frame {i}: tshark finds the checksum wrong");
        assert_eq!(t["_ws.expert.message"], "", "frame {i}: tshark complains");
        assert!(!t["frame.protocols"].contains("data"), "frame {i}: tshark leaves bytes undecoded: {}", t["frame.protocols"]);
        for (tf, kinds, field, form) in ICMPV6_FIELDS {
            let ours = craft_value(&p, kinds, field, *form);
            assert_eq!(ours, t[*tf].to_lowercase(), "frame {i} ({}): {tf} vs craft {field}", p.summary());
            compared += !ours.is_empty() as usize;
        }
        // The code is `res` in an MLDv2 report, as scapy names it.
        let code = p.layers.iter().find(|l| MESSAGES.contains(&l.kind())).unwrap();
        let code = code.get("code").or_else(|| code.get("res")).unwrap();
        assert_eq!(show(&code, Form::Dec), t["icmpv6.code"], "frame {i}");
        // Every option's length (8-byte units), auto ones as built.
        assert_eq!(craft_value(&p, OPTIONS, "len", Form::Dec), t["icmpv6.opt.length"], "frame {i}");
    }
    assert!(compared >= 60, "only {compared} fields compared");
}

#[test]
fn jumbograms_and_big_segments_decode_as_tshark_does() {
    if !have_tshark() {
        return;
    }
    let v6 = || Ipv6::new().src("2001:db8::1").dst("2001:db8::2");
    let v4 = || Ip::new().src("192.0.2.1").dst("198.51.100.2");
    let payload = || vec![b'x'; 70_000];
    let jumbo = || HopByHop::new().options(opt::jumbo(0));
    let tcp = || Tcp::new().sport(1).dport(2).flags("A");
    let packets = [
        // RFC 2675 jumbograms built by craft: plen 0, the Jumbo length and UDP len 0 automatic.
        eth("02:00:00:00:00:02") / v6() / jumbo() / Udp::new().sport(1).dport(2) / payload(),
        eth("02:00:00:00:00:02") / v6() / jumbo() / tcp() / payload(),
        // Linux BIG TCP: plen 0 and no Jumbo option; IPv4 GSO: total length 0.
        eth("02:00:00:00:00:02") / v6() / tcp() / payload(),
        eth("02:00:00:00:00:02") / v4() / tcp() / payload(),
    ];
    let frames: Vec<Vec<u8>> = packets.iter().map(Packet::build).collect();
    let file = write_pcap("jumbo.pcap", &frames);
    let fields = [
        "ipv6.plen",
        "ipv6.opt.jumbo",
        "ip.len",
        "udp.length",
        "udp.checksum.status",
        "tcp.srcport",
        "tcp.len",
        "tcp.checksum.status",
        "frame.protocols",
        "_ws.expert.message",
    ];
    let theirs = tshark(&file, &fields, "a");
    for (i, (frame, t)) in frames.iter().zip(&theirs).enumerate() {
        let p = Packet::dissect(frame, LayerKind::Ether);
        let Some(Layer::Raw(r)) = p.layers.last() else { panic!("frame {i}: {:?}", kinds(&p)) };
        assert_eq!(r.load.len(), 70_000, "frame {i}: the payload runs to the end, no Padding");
        let problems: Vec<String> = check_bytes(frame, LayerKind::Ether, &DissectCx::default()).into_iter().map(|p| p.msg).collect();
        assert_eq!(problems.len(), 1, "frame {i}: {problems:?}");
        match i {
            0 | 1 => {
                assert_eq!(t["ipv6.plen"], "0");
                assert_eq!(t["ipv6.opt.jumbo"], (frame.len() - 14 - 40).to_string());
                assert!(problems[0].starts_with("IPv6 plen is 0: a jumbogram (RFC 2675) of "), "{problems:?}");
            }
            2 => {
                assert_eq!(t["ipv6.plen"], "0");
                assert!(t["_ws.expert.message"].contains("IPv6 payload length equals 0"), "{t:?}");
                assert!(problems[0].starts_with("IPv6 plen is 0 and no Hop-by-Hop Jumbo option"), "{problems:?}");
            }
            _ => {
                // tshark takes the length from the bytes too (its TSO rule).
                assert_eq!(t["ip.len"], (frame.len() - 14).to_string());
                assert!(problems[0].starts_with("IP len is 0: the packet is taken to run to the end"), "{problems:?}");
            }
        }
        if i == 0 {
            let Layer::Udp(u) = &p.layers[3] else { panic!() };
            assert_eq!((t["udp.length"].as_str(), u.len), ("0", Some(0)));
            assert_eq!(t["udp.checksum.status"], "1", "tshark verifies craft's UDP checksum over 32-bit length");
        }
        if !t["tcp.srcport"].is_empty() {
            assert_eq!(t["tcp.srcport"], "1");
            assert_eq!(t["tcp.len"], "70000", "frame {i}");
            assert_eq!(t["tcp.checksum.status"], "1", "frame {i}");
        }
        // tshark 4.0 gives up inside TCP behind plen 0 without a Jumbo option (an exception
        // past 65535 bytes): there it decodes no TCP field to compare.
        let protocols = [
            "eth:ethertype:ipv6:ipv6.hopopts:udp:data",
            "eth:ethertype:ipv6:ipv6.hopopts:tcp:data",
            "eth:ethertype:ipv6:tcp",
            "eth:ethertype:ip:tcp:data",
        ];
        assert_eq!(t["frame.protocols"], protocols[i], "frame {i}");
    }
}

#[test]
fn broken_ipv4_headers_end_where_tshark_stops() {
    if !have_tshark() {
        return;
    }
    let ip = || Ip::new().src("192.168.1.1").dst("10.200.1.1");
    let tcp = || Tcp::new().sport(31337).dport(80).flags("A") / &b"katran test pkt"[..];
    let packets = [
        eth("02:00:00:00:00:02") / ip().ihl(4) / tcp(),
        eth("02:00:00:00:00:02") / ip().ihl(0) / tcp(),
        // The load balancer's IP(ihl=6) without options: decoded on, as tshark does.
        eth("02:00:00:00:00:02") / ip().ihl(6) / tcp(),
        eth("02:00:00:00:00:02").r#type(0x86dd) / ip() / tcp(),
        eth("02:00:00:00:00:02").r#type(0x0800) / Ipv6::new().src("2001:db8::1").dst("2001:db8::2") / tcp(),
    ];
    let frames: Vec<Vec<u8>> = packets.iter().map(Packet::build).collect();
    let file = write_pcap("ihl.pcap", &frames);
    let fields = ["ip.version", "ip.hdr_len", "ipv6.version", "tcp.srcport", "frame.protocols", "_ws.expert.message"];
    let theirs = tshark(&file, &fields, "f");
    for (i, (frame, t)) in frames.iter().zip(&theirs).enumerate() {
        let p = Packet::dissect(frame, LayerKind::Ether);
        let problems: Vec<String> = check_bytes(frame, LayerKind::Ether, &DissectCx::default()).into_iter().map(|p| p.msg).collect();
        match i {
            0 | 1 => {
                let ihl = if i == 0 { 4 } else { 0 };
                assert_eq!(kinds(&p), [K::Ether, K::Raw]);
                let Layer::Raw(r) = &p.layers[1] else { panic!() };
                assert_eq!((r.malformed, r.truncated), (Some("IP"), None));
                // tshark decodes the version and header length, then stops: nothing else.
                assert_eq!((t["ip.version"].as_str(), t["ip.hdr_len"].as_str()), ("4", (4 * ihl).to_string().as_str()));
                assert_eq!(t["frame.protocols"], "eth:ethertype:ip");
                assert!(t["_ws.expert.message"].starts_with("Bogus IP header length"), "{t:?}");
                assert_eq!(problems, [format!("IP ihl is {ihl} ({} bytes), below the minimum 5: the 55 bytes from here are left undecoded (Raw)", 4 * ihl)]);
            }
            2 => {
                // Options read from TCP's first 4 bytes, TCP from byte 24: as tshark.
                assert_eq!(kinds(&p), [K::Ether, K::Ip, K::Tcp, K::Raw]);
                assert_eq!(t["ip.hdr_len"], "24");
                let Layer::Tcp(tcp) = &p.layers[2] else { panic!() };
                assert_eq!(t["tcp.srcport"], tcp.sport.to_string());
                assert!(problems[0].starts_with("IP ihl is 6 (24 bytes), but its 4 option bytes (7a690050) are not options"), "{problems:?}");
                assert_eq!(problems.len(), 2, "the ihl, then the checksum over 20 bytes; nothing about TCP: {problems:?}");
            }
            3 => {
                assert_eq!(kinds(&p), [K::Ether, K::Raw]);
                assert_eq!(t["ipv6.version"], "4");
                assert!(t["_ws.expert.message"].contains("Bogus IPv6 version"), "{t:?}");
                // tshark shows the version under an IPv6 tree, and the bytes as data.
                assert_eq!(t["frame.protocols"], "eth:ethertype:data");
                assert!(problems[0].starts_with("IPv6 version is 4, not 6: an IPv4 header, though Ether type 0x86dd announces IPv6"), "{problems:?}");
            }
            _ => {
                // tshark names the bogus version, then tries IPv6 anyway; craft stops, as
                // for 0x86dd carrying IPv4.
                assert_eq!(kinds(&p), [K::Ether, K::Raw]);
                assert_eq!(t["ip.version"], "6");
                assert!(t["_ws.expert.message"].contains("Bogus IPv4 version"), "{t:?}");
                assert!(problems[0].starts_with("IP version is 6, not 4: an IPv6 header, though Ether type 0x0800 announces IPv4"), "{problems:?}");
            }
        }
        assert_eq!(p.build(), *frame, "frame {i}: bytes kept");
    }
}

/// Extended echo messages and the extension structure's header and objects.
const EXT_MESSAGES: &[LayerKind] = &[K::Icmpv6ExtEchoRequest, K::Icmpv6ExtEchoReply];
const EXT_OBJECTS: &[LayerKind] = &[K::IcmpExtInterfaceId, K::IcmpExtObject];

const EXT_ECHO_FIELDS: &[Mapping] = &[
    ("icmpv6.type", EXT_MESSAGES, "type", Form::Dec),
    ("icmpv6.code", EXT_MESSAGES, "code", Form::Dec),
    ("icmpv6.checksum", EXT_MESSAGES, "cksum", Form::Hex4),
    ("icmpv6.echo.identifier", EXT_MESSAGES, "id", Form::Hex4),
    ("icmpv6.ext.echo.seq", EXT_MESSAGES, "seq", Form::Dec),
    ("icmpv6.ext.echo.req.res", &[K::Icmpv6ExtEchoRequest], "res", Form::Hex2x),
    ("icmpv6.ext.echo.req.local", &[K::Icmpv6ExtEchoRequest], "local", Form::Dec),
    ("icmpv6.ext.echo.rsp.state", &[K::Icmpv6ExtEchoReply], "state", Form::Dec),
    ("icmpv6.ext.echo.rsp.res", &[K::Icmpv6ExtEchoReply], "res", Form::Hex2x),
    ("icmpv6.ext.echo.rsp.active", &[K::Icmpv6ExtEchoReply], "active", Form::Dec),
    ("icmpv6.ext.echo.rsp.ipv4", &[K::Icmpv6ExtEchoReply], "ipv4", Form::Dec),
    ("icmpv6.ext.echo.rsp.ipv6", &[K::Icmpv6ExtEchoReply], "ipv6", Form::Dec),
    ("icmp.ext.version", &[K::IcmpExtHeader], "version", Form::Dec),
    ("icmp.ext.res", &[K::IcmpExtHeader], "reserved", Form::Hex4),
    ("icmp.ext.checksum", &[K::IcmpExtHeader], "chksum", Form::Hex4),
    ("icmp.ext.length", EXT_OBJECTS, "len", Form::Dec),
    ("icmp.ext.class", EXT_OBJECTS, "classnum", Form::Dec),
    ("icmp.ext.ctype", EXT_OBJECTS, "classtype", Form::Dec),
    ("icmp.int_ident.name", &[K::IcmpExtInterfaceId], "ifname", Form::Dec),
    ("icmp.int_ident.index", &[K::IcmpExtInterfaceId], "ifindex", Form::Dec),
    ("icmp.int_ident.afi", &[K::IcmpExtInterfaceId], "afi", Form::Dec),
    ("icmp.int_ident.addr_length", &[K::IcmpExtInterfaceId], "addrlen", Form::Dec),
    ("icmp.int_ident.reserved", &[K::IcmpExtInterfaceId], "reserved", Form::Hex2),
    ("icmp.int_ident.ipv4", &[K::IcmpExtInterfaceId], "ip4", Form::Dec),
    ("icmp.int_ident.ipv6", &[K::IcmpExtInterfaceId], "ip6", Form::Dec),
];

#[test]
fn extended_echo_fields_equal_tsharks() {
    if !have_tshark() {
        return;
    }
    let v6 = |src: &str, dst: &str| eth("02:00:00:00:00:02") / Ipv6::new().src(src).dst(dst);
    let req = |seq: u8| v6("fd00::1", "fd00::2") / Icmpv6ExtEchoRequest::new().id(0x8335).seq(seq) / IcmpExtHeader::new();
    let id = IcmpExtInterfaceId::new;
    // What Linux sends back (see ext_echo_live.rs): the bits, then the request's structure.
    let packets = [
        req(1) / id().ifname(b"veth0".to_vec()),
        req(2) / id().ifname(b"a-name-of-15b00".to_vec()),
        req(3) / id().classtype(2).ifindex(7),
        req(4) / id().classtype(3).ip4("192.0.2.7"),
        req(5) / id().classtype(3).afi(2).ip6("fd00::2").reserved(0x5a),
        v6("fd00::1", "fd00::2") / Icmpv6ExtEchoRequest::new().id(1).seq(200).local(0).res(0x55) / IcmpExtHeader::new().reserved(0x123) / id().classtype(2).ifindex(0xfffe),
        v6("fd00::2", "fd00::1") / Icmpv6ExtEchoReply::new().id(0x8335).seq(1).active(1).ipv4(1).ipv6(1),
        v6("fd00::2", "fd00::1") / Icmpv6ExtEchoReply::new().id(2).seq(3).code(2).state(3).res(2).ipv6(1),
        v6("fd00::2", "fd00::1") / Icmpv6ExtEchoReply::new().id(0x8335).seq(9) / IcmpExtHeader::new() / id().ifname(b"lo".to_vec()),
    ];
    let frames: Vec<Vec<u8>> = packets.iter().map(Packet::build).collect();
    let file = write_pcap("ext_echo.pcap", &frames);
    let mut fields: Vec<&str> = EXT_ECHO_FIELDS.iter().map(|m| m.0).collect();
    fields.extend(["icmpv6.checksum.status", "icmp.ext.checksum.status", "frame.protocols", "_ws.expert.message"]);
    let theirs = tshark(&file, &fields, "a");
    assert_eq!(theirs.len(), frames.len());
    let mut compared = 0;
    for (i, (frame, t)) in frames.iter().zip(&theirs).enumerate() {
        let p = Packet::dissect(frame, LayerKind::Ether);
        assert!(!kinds(&p).contains(&K::Raw) && !kinds(&p).contains(&K::Icmpv6Unknown), "frame {i}: {:?}", kinds(&p));
        assert_eq!(p.build(), *frame, "frame {i}");
        assert_eq!(t["icmpv6.checksum.status"], "1", "frame {i}: tshark finds the checksum wrong");
        // Linux echoes the request's extension structure in its reply; RFC 8335 gives the
        // reply none, and tshark decodes none there (nor calls the bytes data): craft does.
        let reply = p.find(K::Icmpv6ExtEchoReply).is_some();
        if reply {
            assert_eq!(t["icmp.ext.version"], "", "frame {i}");
        } else {
            assert_eq!(t["icmp.ext.checksum.status"], "1", "frame {i}: tshark finds the extension checksum wrong");
        }
        assert_eq!(t["_ws.expert.message"], "", "frame {i}: tshark complains");
        assert!(!t["frame.protocols"].contains("data"), "frame {i}: tshark leaves bytes undecoded: {}", t["frame.protocols"]);
        for (tf, kinds, field, form) in EXT_ECHO_FIELDS.iter().filter(|m| !reply || m.0.starts_with("icmpv6.")) {
            // A field the layer does not show (another c-type's) is one tshark has not either.
            let shown: Vec<&Layer> = p.layers.iter().filter(|l| kinds.contains(&l.kind()) && l.present(field)).collect();
            let ours: Vec<String> = shown.iter().map(|l| show(&l.get(field).unwrap(), *form)).collect();
            assert_eq!(ours.join(","), t[*tf].to_lowercase(), "frame {i} ({}): {tf} vs craft {field}", p.summary());
            compared += ours.len();
        }
    }
    assert!(compared >= 120, "only {compared} fields compared");
}

/// VXLAN (RFC 7348, and the Group Policy extension) on the ports tshark decodes as VXLAN
/// (4789, either direction): craft finds the same layers and the same header fields.
#[test]
fn vxlan_fields_equal_tsharks() {
    if !have_tshark() {
        return;
    }
    let inner = || {
        Ether::new().src("02:00:00:00:00:01").dst("02:00:00:00:00:02")
            / Ip::new().src("1.1.1.1").dst("2.2.2.2")
            / Udp::new().sport(1).dport(2)
    };
    let outer = |sport: u16, dport: Option<u16>| {
        let udp = Udp::new().sport(sport);
        eth("02:00:00:00:00:03") / Ip::new().src("10.0.0.1").dst("10.0.0.2") / dport.map_or(udp.clone(), |d| udp.dport(d))
    };
    let frames: Vec<Vec<u8>> = [
        outer(40000, None) / Vxlan::new().flags(0x08).vni(0x123456) / inner(),
        outer(40000, Some(4789)) / Vxlan::new().flags(0x88).gpflags(0x08).gpid(0x1234).vni(7) / inner(),
        outer(4789, Some(40000)) / Vxlan::new().flags(0x08).vni(0xffffff).reserved2(0x5a) / inner(),
    ]
    .iter()
    .map(Packet::build)
    .collect();
    let file = write_pcap("vxlan.pcap", &frames);
    let fields = ["frame.protocols", "vxlan.flags", "vxlan.vni", "vxlan.gbp", "vxlan.reserved8", "ip.src"];
    let decoded = tshark(&file, &fields, "a");
    assert_eq!(decoded.len(), frames.len());
    for (i, (frame, t)) in frames.iter().zip(&decoded).enumerate() {
        let p = Packet::dissect(frame, K::Ether);
        assert_eq!(kinds(&p), [K::Ether, K::Ip, K::Udp, K::Vxlan, K::Ether, K::Ip, K::Udp], "frame {i}");
        assert!(t["frame.protocols"].ends_with("udp:vxlan:eth:ethertype:ip:udp"), "frame {i}: {t:?}");
        let Layer::Vxlan(v) = &p.layers[3] else { panic!() };
        let flags = v.flags.unwrap();
        // tshark's flags are 16 bits: VXLAN's flags byte, then the Group Policy flags.
        let second = if flags & 0x80 != 0 { v.gpflags } else { 0 };
        assert_eq!(t["vxlan.flags"], format!("{:#06x}", u16::from_be_bytes([flags, second])), "frame {i}");
        assert_eq!(t["vxlan.vni"], v.vni.to_string(), "frame {i}");
        assert_eq!(t["vxlan.gbp"], v.gpid.to_string(), "frame {i}");
        assert_eq!(t["vxlan.reserved8"], v.reserved2.to_string(), "frame {i}");
        assert_eq!(t["ip.src"], "10.0.0.1,1.1.1.1", "frame {i}");
        assert!(check_bytes(frame, K::Ether, &DissectCx::default()).is_empty(), "frame {i}");
        assert_eq!(p.build(), *frame, "frame {i}: bytes kept");
    }
}
