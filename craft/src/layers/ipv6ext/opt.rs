//! Options of HopByHop and DestOpt headers, as TLV bytes to concatenate into `options`:
//! builders (scapy's option classes), the walk over them, and what craft reads from them
//! (the Jumbo payload length, the Home Address that stands for the source).

use std::net::Ipv6Addr;

/// One padding byte.
pub const PAD1: u8 = 0x00;
/// Padding of 2 or more bytes.
pub const PADN: u8 = 0x01;
/// Router alert (RFC 2711).
pub const ROUTER_ALERT: u8 = 0x05;
/// Jumbo payload length (RFC 2675).
pub const JUMBO: u8 = 0xc2;
/// Home address (mobile IPv6, RFC 6275), in destination options.
pub const HOME_ADDRESS: u8 = 0xc9;

/// Pad1: a single zero byte.
pub fn pad1() -> Vec<u8> {
    vec![PAD1]
}

/// PadN with `zeros` data bytes (2 + zeros bytes in all; zeros must fit in a byte).
pub fn padn(zeros: u8) -> Vec<u8> {
    let mut v = vec![PADN, zeros];
    v.resize(2 + zeros as usize, 0);
    v
}

/// `n` bytes of padding the way scapy writes it: Pad1 for one byte, PadN otherwise.
pub fn padding(n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    write_padding(&mut v);
    v
}

/// Fills `out` with padding options (PadN runs of at most 257 bytes, Pad1 for a last
/// single byte).
pub fn write_padding(mut out: &mut [u8]) {
    while !out.is_empty() {
        let n = out.len().min(257);
        let (run, rest) = out.split_at_mut(n);
        run.fill(0);
        if n >= 2 {
            run[0] = PADN;
            run[1] = (n - 2) as u8;
        }
        out = rest;
    }
}

/// Router alert with its value (0: MLD, 1: RSVP, 2: active networks).
pub fn router_alert(value: u16) -> Vec<u8> {
    let v = value.to_be_bytes();
    vec![ROUTER_ALERT, 2, v[0], v[1]]
}

/// Jumbo payload length, for packets over 65535 bytes (IPv6 plen is then 0).
pub fn jumbo(payload_len: u32) -> Vec<u8> {
    let mut v = vec![JUMBO, 4];
    v.extend_from_slice(&payload_len.to_be_bytes());
    v
}

/// The Jumbo payload length in these options, if they hold a Jumbo option (4 data bytes).
pub fn jumbo_of(options: &[u8]) -> Option<u32> {
    let tlv = split(options).0.into_iter().find(|t| t.kind == JUMBO)?;
    Some(u32::from_be_bytes(tlv.data.try_into().ok()?))
}

/// Home address option: the mobile node's home address.
pub fn home_address(addr: Ipv6Addr) -> Vec<u8> {
    let mut v = vec![HOME_ADDRESS, 16];
    v.extend_from_slice(&addr.octets());
    v
}

/// Option alignment requirement `(x, y)`: the type byte must sit at `x*n + y` from the
/// start of the header (RFC 8200 4.2); (1, 0) for none.
fn alignment(kind: u8) -> (usize, usize) {
    match kind {
        ROUTER_ALERT | 0x63 => (2, 0),
        JUMBO => (4, 2),
        HOME_ADDRESS => (8, 6),
        _ => (1, 0),
    }
}

/// Concatenates options with the padding scapy's autopad inserts so each one meets its
/// alignment; the header's trailing padding is added when it is built.
pub fn aligned(options: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for o in options {
        let Some(&kind) = o.first() else { continue };
        let (x, y) = alignment(kind);
        // Positions count from the start of the header: nh and len come first.
        let pos = 2 + out.len();
        let aligned_pos = (pos + x - 1 - y) / x * x + y;
        out.extend(padding(aligned_pos.max(pos) - pos));
        out.extend_from_slice(o);
    }
    out
}

/// One option found in a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Offset of the type byte within the options.
    pub offset: usize,
    pub kind: u8,
    /// The option's data (empty for Pad1).
    pub data: &'a [u8],
}

impl Tlv<'_> {
    pub fn is_padding(&self) -> bool {
        matches!(self.kind, PAD1 | PADN)
    }

    /// A short name for summaries.
    pub fn name(&self) -> String {
        match self.kind {
            PAD1 => "pad1".into(),
            PADN => "padn".into(),
            ROUTER_ALERT => "router-alert".into(),
            JUMBO => "jumbo".into(),
            HOME_ADDRESS => "home-address".into(),
            k => format!("opt-0x{k:02x}"),
        }
    }
}

/// Splits options into TLVs; the second value is the offset of an option whose length
/// runs past the end, where splitting stopped.
pub fn split(mut b: &[u8]) -> (Vec<Tlv<'_>>, Option<usize>) {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some(&kind) = b.first() {
        let size = if kind == PAD1 {
            1
        } else {
            match b.get(1) {
                Some(&len) if 2 + len as usize <= b.len() => 2 + len as usize,
                _ => return (found, Some(offset)),
            }
        };
        let data = if kind == PAD1 { &b[..0] } else { &b[2..size] };
        found.push(Tlv { offset, kind, data });
        b = &b[size..];
        offset += size;
    }
    (found, None)
}

/// The home address, when the options (padding aside) are one home address option:
/// scapy's condition for using it as the checksum source.
pub fn home_address_of(options: &[u8]) -> Option<Ipv6Addr> {
    let (tlvs, _) = split(options);
    let mut real = tlvs.iter().filter(|t| !t.is_padding());
    match (real.next(), real.next()) {
        (Some(t), None) if t.kind == HOME_ADDRESS => {
            <[u8; 16]>::try_from(t.data).ok().map(Ipv6Addr::from)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn option_builders_match_scapy() {
        assert_eq!(jumbo(0), hex("c20400000000"));
        assert_eq!(router_alert(0), hex("05020000"));
        assert_eq!(padn(0), hex("0100"));
        assert_eq!(pad1(), hex("00"));
        assert_eq!(padding(0), hex(""));
        assert_eq!(padding(1), hex("00"));
        assert_eq!(padding(4), hex("01020000"));
        assert_eq!(padding(258).len(), 258);
        assert_eq!(padding(258)[257], 0);
    }

    #[test]
    fn option_split_handles_garbage() {
        let options = hex("00010100c20400011170");
        let (tlvs, broken) = split(&options);
        assert_eq!(tlvs.iter().map(|t| t.kind).collect::<Vec<_>>(), [0, 1, 0xc2]);
        assert_eq!(broken, None);
        assert_eq!(split(&hex("0001")).1, Some(1));
        assert_eq!(split(&hex("05")).1, Some(0));
    }
}
