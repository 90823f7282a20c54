//! scapy's `bind_layers` and `split_layers`, for what craft binds at run time: UDP ports.
//!
//! `bind_layers(UDP, GUE, dport=9886)` makes every dissection of the session (`IP(b"...")`,
//! rdpcap, sniff, sr answers, show2) read UDP destination port 9886 as GUE; `sport=` binds
//! a source port. Like scapy's, a binding is tried after those already there (so a port
//! the registry binds, VXLAN's 4789, keeps its layer until `split_layers` removes it).
//!
//! Differs from scapy: only `UDP` can be the lower layer (Ether, IP and the others'
//! bindings are fixed in craft's layers), one port a binding (scapy can bind on both ports
//! or other fields at once), and only for dissection: building `UDP()/GUE()` still writes
//! the layer's own port (scapy's `bind_layers` also sets `dport` when building).

use craft::bind::UdpBind;
use craft::packet::LayerKind;
use craft::text::Pos;

use crate::interp::{err, Args, Interp, R};
use crate::value::Val;

/// `bind_layers(lower, upper, dport=N)` / `(..., sport=N)`.
pub fn bind_layers(me: &mut Interp, args: &Args) -> R<Val> {
    let (upper, ports) = parse(args, "bind_layers")?;
    let Some((port, sport)) = ports else {
        return err(
            args.at,
            format!(
                "bind_layers(UDP, {}) needs dport= or sport=: craft binds UDP payloads by port",
                upper.name()
            ),
        );
    };
    me.conf.dissect.append_udp_bind(UdpBind { port, sport, kind: upper });
    Ok(Val::None)
}

/// `split_layers(lower, upper, dport=N)` / `(..., sport=N)`, or without a port: every UDP
/// port binding of `upper`. Nothing bound is not an error (as in scapy).
pub fn split_layers(me: &mut Interp, args: &Args) -> R<Val> {
    let (upper, ports) = parse(args, "split_layers")?;
    let cx = &mut me.conf.dissect;
    let doomed: Vec<(u16, bool)> = match ports {
        Some(p) => vec![p],
        None => cx.udp_binds().iter().filter(|b| b.kind == upper).map(|b| (b.port, b.sport)).collect(),
    };
    for (port, sport) in doomed {
        cx.remove_udp_bind(port, sport, upper);
    }
    Ok(Val::None)
}

/// The upper layer and the port (with whether it is the source port), if given.
fn parse(args: &Args, func: &str) -> R<(LayerKind, Option<(u16, bool)>)> {
    if args.pos.len() > 2 {
        let at = args.pos[2].1;
        return err(at, format!("{func}(): give the port as a keyword: {func}(UDP, LAYER, dport=N)"));
    }
    let class = |n: usize, name: &str| -> R<LayerKind> {
        match args.pos.get(n).map(|(v, p)| (v, *p)).or_else(|| kw(args, name)) {
            Some((Val::Class(k), _)) => Ok(*k),
            Some((other, at)) => {
                err(at, format!("{func}() takes layer classes ({func}(UDP, GUE, dport=9886)), not {}", other.type_name()))
            }
            None => err(args.at, format!("{func}() missing required argument: '{name}'")),
        }
    };
    let lower = class(0, "lower")?;
    let upper = class(1, "upper")?;
    if lower != LayerKind::Udp {
        let at = args.pos.first().map_or(args.at, |(_, p)| *p);
        return err(
            at,
            format!(
                "{func}({}, {}): craft binds only UDP ports at run time; the bindings of {} are fixed in craft's layers",
                lower.name(),
                upper.name(),
                lower.name()
            ),
        );
    }
    let mut ports = None;
    for k in &args.kw {
        let sport = match k.name.as_str() {
            "lower" | "upper" => continue,
            "dport" => false,
            "sport" => true,
            other => {
                return err(k.pos, format!("{func}(UDP, ...): craft binds UDP payloads by dport= or sport= only, not {other}="))
            }
        };
        let port = match k.value.as_int() {
            Some(p @ 0..=0xffff) => p as u16,
            _ => return err(k.pos, format!("{func}(): {}= is a port, 0 to 65535, not {}", k.name, k.value.repr())),
        };
        if ports.is_some() {
            return err(k.pos, format!("{func}(): one port a binding: dport= or sport=, not both (craft does not bind on both ports at once)"));
        }
        ports = Some((port, sport));
    }
    Ok((upper, ports))
}

fn kw<'a>(args: &'a Args, name: &str) -> Option<(&'a Val, Pos)> {
    args.kw.iter().find(|k| k.name == name).map(|k| (&k.value, k.pos))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io::Write;
    use std::rc::Rc;

    use crate::interp::Interp;

    #[derive(Clone, Default)]
    struct Buf(Rc<RefCell<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Runs `src` in a fresh session: what it printed, or the error's message.
    fn run(src: &str) -> String {
        let buf = Buf::default();
        let mut me = Interp::new(Box::new(buf.clone()));
        me.echo = true;
        let r = me.run(src);
        let out = String::from_utf8_lossy(&buf.0.borrow()).into_owned();
        match r {
            Ok(()) => out,
            Err(e) => format!("{out}error: {}", e.msg),
        }
    }

    const FRAME: &str = "p = raw(IP(src='192.0.2.1', dst='192.0.2.2')/UDP(sport=1, dport=9886)/GUE(proto=17)/UDP(sport=5, dport=6))\n";

    #[test]
    fn bind_layers_makes_every_dissection_read_the_port() {
        let out = run(&format!("{FRAME}GUE in IP(p)\nbind_layers(UDP, GUE, dport=9886)\nGUE in IP(p)\nIP(p)[GUE].proto\n"));
        assert_eq!(out, "False\nTrue\n17\n");
        // show2 dissects with the session's bindings too.
        let out = run(&format!("{FRAME}bind_layers(UDP, GUE, dport=9886)\nIP(p).show2(dump=True).count('GUE')\n"));
        assert_eq!(out, "1\n");
    }

    #[test]
    fn source_ports_and_split_layers() {
        let src = format!(
            "{FRAME}bind_layers(UDP, GUE, sport=1)\nGUE in IP(p)\nsplit_layers(UDP, GUE, sport=1)\nGUE in IP(p)\n\
             bind_layers(UDP, GUE, dport=9886)\nsplit_layers(UDP, GUE)\nGUE in IP(p)\n"
        );
        assert_eq!(run(&src), "True\nFalse\nFalse\n");
        // The registry's bindings can be split too; a port bound after them comes second.
        let vx = "v = raw(IP(src='192.0.2.1', dst='192.0.2.2')/UDP(sport=1, dport=4789)/GUE(proto=17)/UDP(sport=5, dport=6))\n";
        let src = format!("{vx}bind_layers(UDP, GUE, dport=4789)\nGUE in IP(v)\nsplit_layers(UDP, VXLAN, dport=4789)\nGUE in IP(v)\n");
        assert_eq!(run(&src), "False\nTrue\n");
    }

    #[test]
    fn unsupported_bindings_say_why() {
        let e = run("bind_layers(IP, GUE, proto=99)");
        assert!(e.contains("craft binds only UDP ports at run time; the bindings of IP are fixed"), "{e}");
        let e = run("bind_layers(UDP, GUE)");
        assert!(e.contains("needs dport= or sport="), "{e}");
        let e = run("bind_layers(UDP, GUE, dport=1, sport=2)");
        assert!(e.contains("not both"), "{e}");
        let e = run("bind_layers(UDP, GUE, len=8)");
        assert!(e.contains("dport= or sport= only, not len="), "{e}");
        let e = run("bind_layers(UDP, GUE, dport=70000)");
        assert!(e.contains("0 to 65535"), "{e}");
        let e = run("bind_layers('UDP', GUE, dport=1)");
        assert!(e.contains("takes layer classes"), "{e}");
        let e = run("bind_layers(UDP, GUE, {'dport': 1})");
        assert!(e.contains("as a keyword"), "{e}");
        let e = run("split_layers(UDP)");
        assert!(e.contains("missing required argument: 'upper'"), "{e}");
    }
}
