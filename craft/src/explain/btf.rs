//! A minimal reader of the kernel's BTF (`/sys/kernel/btf/vmlinux`): just enough to find
//! struct member offsets, enum value names and the arguments of a tracepoint, so the drop
//! watcher's program works on any kernel without a rebuild.

use std::io;

const BTF_MAGIC: u16 = 0xeb9f;

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// One BTF type: its kind, name, size-or-type word and the offset of its trailing data.
#[derive(Debug, Clone, Copy)]
struct Type {
    name_off: u32,
    kind: u32,
    vlen: u32,
    kind_flag: bool,
    size_or_type: u32,
    /// Offset in `Btf::data` of what follows the 12-byte header (members, params, values).
    extra: usize,
}

/// A parsed BTF blob (types and strings).
pub struct Btf {
    data: Vec<u8>,
    str_start: usize,
    str_len: usize,
    /// Index = type id; id 0 (void) is a placeholder.
    types: Vec<Type>,
}

/// A struct member found by name: its byte offset from the start of the struct and the
/// member's type id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub offset: u32,
    pub type_id: u32,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("BTF: {}", msg.into()))
}

impl Btf {
    /// The running kernel's BTF.
    pub fn vmlinux() -> io::Result<Btf> {
        const PATH: &str = "/sys/kernel/btf/vmlinux";
        let data = std::fs::read(PATH).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{PATH}: {e} (the kernel needs CONFIG_DEBUG_INFO_BTF for craft explain)"),
            )
        })?;
        Btf::parse(data)
    }

    /// Parse a raw BTF blob (little-endian, as the host's kernel writes it).
    pub fn parse(data: Vec<u8>) -> io::Result<Btf> {
        let u16_at = |o: usize| data.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        let u32_at = |o: usize| data.get(o..o + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()));
        if u16_at(0) != Some(BTF_MAGIC) {
            return Err(bad("bad magic (not little-endian BTF)"));
        }
        let hdr_len = u32_at(4).ok_or_else(|| bad("short header"))? as usize;
        let field = |i: usize| u32_at(8 + 4 * i).map(|v| v as usize).ok_or_else(|| bad("short header"));
        let (type_off, type_len, str_off, str_len) = (field(0)?, field(1)?, field(2)?, field(3)?);
        let type_start = hdr_len + type_off;
        let type_end = type_start + type_len;
        let str_start = hdr_len + str_off;
        if type_end > data.len() || str_start + str_len > data.len() {
            return Err(bad("sections run past the end"));
        }
        let mut types = vec![Type { name_off: 0, kind: 0, vlen: 0, kind_flag: false, size_or_type: 0, extra: 0 }];
        let mut pos = type_start;
        while pos < type_end {
            let (Some(name_off), Some(info), Some(size_or_type)) = (u32_at(pos), u32_at(pos + 4), u32_at(pos + 8)) else {
                return Err(bad("truncated type"));
            };
            let kind = (info >> 24) & 0x1f;
            let vlen = info & 0xffff;
            let kind_flag = info >> 31 == 1;
            let extra = pos + 12;
            let extra_len = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_FUNC
                | KIND_FLOAT | KIND_TYPE_TAG => 0,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen as usize,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen as usize,
                k => return Err(bad(format!("unknown kind {k} at type {}", types.len()))),
            };
            types.push(Type { name_off, kind, vlen, kind_flag, size_or_type, extra });
            pos = extra + extra_len;
        }
        Ok(Btf { data, str_start, str_len, types })
    }

    fn u32_at(&self, o: usize) -> u32 {
        u32::from_le_bytes(self.data[o..o + 4].try_into().unwrap())
    }

    /// The string at `off` in the string section ("" when out of range).
    fn str_at(&self, off: u32) -> &str {
        let off = off as usize;
        if off >= self.str_len {
            return "";
        }
        let s = &self.data[self.str_start + off..self.str_start + self.str_len];
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        std::str::from_utf8(&s[..end]).unwrap_or("")
    }

    fn ty(&self, id: u32) -> Option<&Type> {
        self.types.get(id as usize).filter(|_| id != 0)
    }

    /// The id of the first type of this kind and name.
    fn find(&self, kind: u32, name: &str) -> Option<u32> {
        (1..self.types.len()).find(|&i| self.types[i].kind == kind && self.str_at(self.types[i].name_off) == name).map(|i| i as u32)
    }

    /// Skip typedefs and qualifiers.
    fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.ty(id) {
                Some(t) if matches!(t.kind, KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG) => {
                    id = t.size_or_type
                }
                _ => break,
            }
        }
        id
    }

    /// Size in bytes of a type (after typedefs), if it has one.
    pub fn size_of(&self, id: u32) -> Option<u32> {
        let id = self.resolve(id);
        let t = self.ty(id)?;
        match t.kind {
            KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT => Some(t.size_or_type),
            KIND_PTR => Some(8),
            KIND_ARRAY => {
                let elem = self.u32_at(t.extra);
                let n = self.u32_at(t.extra + 8);
                Some(self.size_of(elem)? * n)
            }
            _ => None,
        }
    }

    /// A readable name of a type: "struct sk_buff *", "enum skb_drop_reason", "void *".
    pub fn type_name(&self, id: u32) -> String {
        let Some(t) = self.ty(id) else { return "void".into() };
        let name = self.str_at(t.name_off);
        match t.kind {
            KIND_PTR => format!("{} *", self.type_name(t.size_or_type)),
            KIND_STRUCT => format!("struct {name}"),
            KIND_UNION => format!("union {name}"),
            KIND_ENUM | KIND_ENUM64 => format!("enum {name}"),
            KIND_CONST => format!("const {}", self.type_name(t.size_or_type)),
            KIND_VOLATILE => format!("volatile {}", self.type_name(t.size_or_type)),
            _ => name.to_string(),
        }
    }

    /// The member `name` of struct (or union) `id`, looked for inside anonymous structs and
    /// unions too (sk_buff keeps most of its fields in them). Bitfields are not found.
    fn member_of(&self, id: u32, name: &str, depth: u32) -> Option<Member> {
        let id = self.resolve(id);
        let t = self.ty(id)?;
        if !matches!(t.kind, KIND_STRUCT | KIND_UNION) || depth > 8 {
            return None;
        }
        for i in 0..t.vlen as usize {
            let m = t.extra + 12 * i;
            let (m_name, m_type, m_off) = (self.u32_at(m), self.u32_at(m + 4), self.u32_at(m + 8));
            let (bit_off, bitfield) = if t.kind_flag { (m_off & 0xff_ffff, m_off >> 24) } else { (m_off, 0) };
            let m_name = self.str_at(m_name);
            if m_name == name {
                if bitfield != 0 || bit_off % 8 != 0 {
                    return None;
                }
                return Some(Member { offset: bit_off / 8, type_id: m_type });
            }
            if m_name.is_empty() {
                if let Some(inner) = self.member_of(m_type, name, depth + 1) {
                    if bit_off % 8 == 0 {
                        return Some(Member { offset: bit_off / 8 + inner.offset, type_id: inner.type_id });
                    }
                }
            }
        }
        None
    }

    /// `struct S`'s member at this dotted path ("nd_net.net"), its offset summed along the way.
    pub fn member(&self, strukt: &str, path: &str) -> io::Result<Member> {
        let id = self.find(KIND_STRUCT, strukt).ok_or_else(|| bad(format!("no struct {strukt}")))?;
        let mut cur = Member { offset: 0, type_id: id };
        for part in path.split('.') {
            let m = self
                .member_of(cur.type_id, part, 0)
                .ok_or_else(|| bad(format!("struct {strukt} has no member {path} (at {part})")))?;
            cur = Member { offset: cur.offset + m.offset, type_id: m.type_id };
        }
        Ok(cur)
    }

    /// Like [`Btf::member`], checking that the member is `size` bytes long.
    pub fn member_sized(&self, strukt: &str, path: &str, size: u32) -> io::Result<u32> {
        let m = self.member(strukt, path)?;
        match self.size_of(m.type_id) {
            Some(s) if s == size => Ok(m.offset),
            other => Err(bad(format!("struct {strukt} member {path} is {other:?} bytes, expected {size}"))),
        }
    }

    /// The values of `enum name`: (value, name), in declaration order.
    pub fn enum_values(&self, name: &str) -> io::Result<Vec<(u64, String)>> {
        let id = self
            .find(KIND_ENUM, name)
            .or_else(|| self.find(KIND_ENUM64, name))
            .ok_or_else(|| bad(format!("no enum {name}")))?;
        let t = self.types[id as usize];
        let mut out = Vec::with_capacity(t.vlen as usize);
        for i in 0..t.vlen as usize {
            let (n, v) = if t.kind == KIND_ENUM {
                let m = t.extra + 8 * i;
                (self.u32_at(m), self.u32_at(m + 4) as u64)
            } else {
                let m = t.extra + 12 * i;
                (self.u32_at(m), self.u32_at(m + 4) as u64 | (self.u32_at(m + 8) as u64) << 32)
            };
            out.push((v, self.str_at(n).to_string()));
        }
        Ok(out)
    }

    /// The parameters of the function-pointer typedef `name` (e.g. `btf_trace_kfree_skb`),
    /// as readable type names, the tracepoint's hidden first `void *` included.
    pub fn fn_ptr_params(&self, name: &str) -> io::Result<Vec<String>> {
        let id = self.find(KIND_TYPEDEF, name).ok_or_else(|| bad(format!("no typedef {name}")))?;
        let ptr = self.resolve(id);
        let proto = self.ty(ptr).filter(|t| t.kind == KIND_PTR).map(|t| self.resolve(t.size_or_type));
        let t = proto
            .and_then(|p| self.ty(p))
            .filter(|t| t.kind == KIND_FUNC_PROTO)
            .ok_or_else(|| bad(format!("typedef {name} is not a function pointer")))?;
        Ok((0..t.vlen as usize).map(|i| self.type_name(self.u32_at(t.extra + 8 * i + 4))).collect())
    }
}
