//! Interface flags (SIOCGIFFLAGS) and ethtool statistics (SIOCETHTOOL: ETHTOOL_GSSET_INFO,
//! ETHTOOL_GSTRINGS, ETHTOOL_GSTATS) through an AF_INET datagram socket, which answers for
//! the network namespace it was opened in.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSTATS: u32 = 0x1d;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
const ETH_SS_STATS: u32 = 1;
const ETH_GSTRING_LEN: usize = 32;
/// More statistics than any driver has; a bound against a count gone wrong.
const MAX_STATS: usize = 1 << 16;

/// `struct ifreq` with the union as a pointer (ethtool) or as flags.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    data: IfrData,
}

#[repr(C)]
union IfrData {
    ptr: *mut libc::c_void,
    flags: libc::c_short,
    _size: [u8; 24],
}

fn ifreq(ifname: &str) -> io::Result<IfReq> {
    let bytes = ifname.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad interface name {ifname:?}")));
    }
    let mut name = [0u8; libc::IFNAMSIZ];
    name[..bytes.len()].copy_from_slice(bytes);
    Ok(IfReq { name, data: IfrData { _size: [0; 24] } })
}

/// A socket to ask the kernel about interfaces of the namespace it was opened in.
pub struct Sock(OwnedFd);

impl Sock {
    pub fn new() -> io::Result<Sock> {
        // SAFETY: plain socket(2) call; the returned descriptor is checked before use.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        Ok(Sock(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// The interface's flags (IFF_UP, IFF_RUNNING...).
    pub fn flags(&self, ifname: &str) -> io::Result<u32> {
        let mut req = ifreq(ifname)?;
        // SAFETY: req is a valid ifreq the kernel fills in; the socket is open.
        let r = unsafe { libc::ioctl(self.0.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req as *mut IfReq) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: SIOCGIFFLAGS wrote the flags member of the union.
        Ok(unsafe { req.data.flags } as u16 as u32)
    }

    /// One ethtool command whose argument is `buf` (a u64 buffer, for alignment).
    fn ethtool(&self, ifname: &str, buf: &mut [u64]) -> io::Result<()> {
        let mut req = ifreq(ifname)?;
        req.data.ptr = buf.as_mut_ptr().cast();
        // SAFETY: req points at `buf`, which is sized for what the command writes (the
        // callers size it from the counts the kernel gave) and outlives the call.
        let r = unsafe { libc::ioctl(self.0.as_raw_fd(), SIOCETHTOOL as _, &mut req as *mut IfReq) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The driver's statistics (`ethtool -S`), names as the driver gives them, in its
    /// order; empty when the driver has none (loopback, dummy...).
    pub fn ethtool_stats(&self, ifname: &str) -> io::Result<Vec<(String, u64)>> {
        // ethtool_sset_info { u32 cmd; u32 reserved; u64 sset_mask; u32 data[1] }
        let mut info = [0u64; 3];
        set_u32s(&mut info[0], ETHTOOL_GSSET_INFO, 0);
        info[1] = 1 << ETH_SS_STATS;
        match self.ethtool(ifname, &mut info) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP) | Some(libc::ENODEV)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
        if info[1] & (1 << ETH_SS_STATS) == 0 {
            return Ok(Vec::new());
        }
        let n = get_u32s(info[2]).0 as usize;
        if n == 0 {
            return Ok(Vec::new());
        }
        if n > MAX_STATS {
            return Err(io::Error::other(format!("{ifname}: the driver claims {n} ethtool statistics")));
        }
        // ethtool_gstrings { u32 cmd; u32 string_set; u32 len; u8 data[] }
        let mut strings = vec![0u64; 2 + (n * ETH_GSTRING_LEN).div_ceil(8)];
        set_u32s(&mut strings[0], ETHTOOL_GSTRINGS, ETH_SS_STATS);
        set_u32s(&mut strings[1], n as u32, 0);
        self.ethtool(ifname, &mut strings)?;
        let n_strings = (get_u32s(strings[1]).0 as usize).min(n);
        // ethtool_stats { u32 cmd; u32 n_stats; u64 data[] }
        let mut stats = vec![0u64; 1 + n];
        set_u32s(&mut stats[0], ETHTOOL_GSTATS, n as u32);
        self.ethtool(ifname, &mut stats)?;
        let n_stats = (get_u32s(stats[0]).1 as usize).min(n);

        let bytes: Vec<u8> = strings[1..].iter().flat_map(|w| w.to_ne_bytes()).collect();
        // The names start at byte 12 of the struct: 4 bytes into strings[1].
        let names = &bytes[4..];
        let count = n_strings.min(n_stats);
        Ok((0..count)
            .map(|i| {
                let raw = &names[i * ETH_GSTRING_LEN..(i + 1) * ETH_GSTRING_LEN];
                let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                (String::from_utf8_lossy(&raw[..end]).into_owned(), stats[1 + i])
            })
            .collect())
    }
}

/// Two u32 fields laid out in memory as the first and second half of a u64 word.
fn set_u32s(word: &mut u64, first: u32, second: u32) {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&first.to_ne_bytes());
    b[4..].copy_from_slice(&second.to_ne_bytes());
    *word = u64::from_ne_bytes(b);
}

fn get_u32s(word: u64) -> (u32, u32) {
    let b = word.to_ne_bytes();
    (u32::from_ne_bytes([b[0], b[1], b[2], b[3]]), u32::from_ne_bytes([b[4], b[5], b[6], b[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u32_halves_round_trip() {
        let mut w = 0;
        set_u32s(&mut w, 0x1b, 7);
        assert_eq!(get_u32s(w), (0x1b, 7));
    }

    #[test]
    fn loopback_has_flags_and_no_stats() {
        let s = Sock::new().unwrap();
        let flags = s.flags("lo").unwrap();
        assert_ne!(flags & libc::IFF_LOOPBACK as u32, 0);
        assert!(s.ethtool_stats("lo").unwrap().is_empty());
        assert!(s.flags("no-such-if-x").is_err());
        assert!(s.flags("").is_err());
    }
}
