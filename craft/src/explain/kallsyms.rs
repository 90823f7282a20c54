//! Kernel addresses to `function+0xoffset`, from /proc/kallsyms (readable with addresses by
//! root; others see zeros, and then addresses print as hex).

/// The kernel's text symbols, sorted by address.
pub struct Kallsyms {
    syms: Vec<(u64, String)>,
}

impl Kallsyms {
    /// Read /proc/kallsyms; empty (addresses then print as hex) if it cannot be read.
    pub fn load() -> Kallsyms {
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
        Kallsyms::parse(&text)
    }

    /// Lines as /proc/kallsyms writes them: `ffffffff81000000 T _stext [module]`.
    pub fn parse(text: &str) -> Kallsyms {
        let mut syms: Vec<(u64, String)> = text
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let addr = u64::from_str_radix(it.next()?, 16).ok()?;
                let kind = it.next()?;
                let name = it.next()?;
                (addr != 0 && matches!(kind, "t" | "T" | "w" | "W")).then(|| (addr, name.to_string()))
            })
            .collect();
        syms.sort_by_key(|s| s.0);
        Kallsyms { syms }
    }

    /// `name+0xoff` for an address inside a known function, else `0x…`.
    pub fn symbolize(&self, addr: u64) -> String {
        let i = self.syms.partition_point(|s| s.0 <= addr);
        match i.checked_sub(1).map(|i| &self.syms[i]) {
            Some((start, name)) if addr - start < 1 << 20 => format!("{name}+{:#x}", addr - start),
            _ => format!("{addr:#x}"),
        }
    }
}

/// The function of a `function+0xoffset` symbol.
pub fn function_of(symbol: &str) -> &str {
    symbol.split_once('+').map_or(symbol, |(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbolizes_addresses() {
        let k = Kallsyms::parse(
            "ffffffff81a00000 T ip_rcv_core\nffffffff81a00400 t ip_rcv_finish\n0000000000000000 T zero\nffffffffc0000000 t foo\t[mod]\n",
        );
        assert_eq!(k.symbolize(0xffffffff81a001a4), "ip_rcv_core+0x1a4");
        assert_eq!(k.symbolize(0xffffffff81a00400), "ip_rcv_finish+0x0");
        assert_eq!(k.symbolize(0xffffffffc0000010), "foo+0x10");
        assert_eq!(k.symbolize(0x1000), "0x1000");
    }
}
