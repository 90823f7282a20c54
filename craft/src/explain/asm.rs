//! A tiny eBPF assembler: instruction encoding (include/uapi/linux/bpf.h, bpf_common.h) and
//! forward jumps to named labels. Just what the drop watcher's program needs.

/// One `struct bpf_insn`: opcode, dst and src registers (4 bits each), offset, immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// The 8 bytes the kernel reads (little-endian; dst in the low nibble).
    pub fn encode(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.dst & 0xf) | (self.src & 0xf) << 4;
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }
}

// Instruction classes.
const LD: u8 = 0x00;
const LDX: u8 = 0x01;
const ST: u8 = 0x02;
const STX: u8 = 0x03;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
// Sizes.
const DW: u8 = 0x18;
// Modes.
const IMM: u8 = 0x00;
const MEM: u8 = 0x60;
const ATOMIC: u8 = 0xc0;
// ALU ops and source.
const ADD: u8 = 0x00;
const MOV: u8 = 0xb0;
const K: u8 = 0x00;
const X: u8 = 0x08;
// Jump ops.
const JA: u8 = 0x00;
const JEQ: u8 = 0x10;
const CALL: u8 = 0x80;
const EXIT: u8 = 0x90;

/// `BPF_PSEUDO_MAP_FD`: the imm of a 64-bit load is a map file descriptor.
const PSEUDO_MAP_FD: u8 = 1;

/// Access sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    B = 0x10,
    H = 0x08,
    W = 0x00,
    DW = 0x18,
}

pub const R0: u8 = 0;
pub const R1: u8 = 1;
pub const R2: u8 = 2;
pub const R3: u8 = 3;
pub const R6: u8 = 6;
pub const R7: u8 = 7;
pub const R8: u8 = 8;
pub const R9: u8 = 9;
/// The read-only frame pointer.
pub const R10: u8 = 10;

/// A program being written: instructions plus jumps waiting for their label.
#[derive(Default)]
pub struct Asm {
    insns: Vec<Insn>,
    /// (instruction index, label) of jumps to resolve.
    fixups: Vec<(usize, &'static str)>,
    labels: Vec<(&'static str, usize)>,
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    fn push(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) -> &mut Asm {
        self.insns.push(Insn { code, dst, src, off, imm });
        self
    }

    /// `dst = src`
    pub fn mov(&mut self, dst: u8, src: u8) -> &mut Asm {
        self.push(ALU64 | MOV | X, dst, src, 0, 0)
    }

    /// `dst = imm`
    pub fn mov_imm(&mut self, dst: u8, imm: i32) -> &mut Asm {
        self.push(ALU64 | MOV | K, dst, 0, 0, imm)
    }

    /// `dst += src`
    pub fn add(&mut self, dst: u8, src: u8) -> &mut Asm {
        self.push(ALU64 | ADD | X, dst, src, 0, 0)
    }

    /// `dst += imm`
    pub fn add_imm(&mut self, dst: u8, imm: i32) -> &mut Asm {
        self.push(ALU64 | ADD | K, dst, 0, 0, imm)
    }

    /// `dst = *(size *)(src + off)`
    pub fn load(&mut self, size: Size, dst: u8, src: u8, off: i16) -> &mut Asm {
        self.push(LDX | MEM | size as u8, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = src`
    pub fn store(&mut self, size: Size, dst: u8, off: i16, src: u8) -> &mut Asm {
        self.push(STX | MEM | size as u8, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = imm`
    pub fn store_imm(&mut self, size: Size, dst: u8, off: i16, imm: i32) -> &mut Asm {
        self.push(ST | MEM | size as u8, dst, 0, off, imm)
    }

    /// `lock *(u64 *)(dst + off) += src` (BPF_ATOMIC, BPF_ADD)
    pub fn atomic_add64(&mut self, dst: u8, off: i16, src: u8) -> &mut Asm {
        self.push(STX | ATOMIC | DW, dst, src, off, 0)
    }

    /// `dst = map` (a 64-bit load of a map file descriptor, two instruction slots).
    pub fn load_map_fd(&mut self, dst: u8, fd: i32) -> &mut Asm {
        self.push(LD | IMM | DW, dst, PSEUDO_MAP_FD, 0, fd);
        self.push(0, 0, 0, 0, 0)
    }

    /// `if dst == imm goto label`
    pub fn jeq_imm(&mut self, dst: u8, imm: i32, label: &'static str) -> &mut Asm {
        self.fixups.push((self.insns.len(), label));
        self.push(JMP | JEQ | K, dst, 0, 0, imm)
    }

    /// `goto label`
    pub fn ja(&mut self, label: &'static str) -> &mut Asm {
        self.fixups.push((self.insns.len(), label));
        self.push(JMP | JA, 0, 0, 0, 0)
    }

    /// Call helper number `helper` (arguments in r1-r5, result in r0; r1-r5 clobbered).
    pub fn call(&mut self, helper: i32) -> &mut Asm {
        self.push(JMP | CALL, 0, 0, 0, helper)
    }

    pub fn exit(&mut self) -> &mut Asm {
        self.push(JMP | EXIT, 0, 0, 0, 0)
    }

    /// The next instruction is `name`'s target.
    pub fn label(&mut self, name: &'static str) -> &mut Asm {
        assert!(!self.labels.iter().any(|(n, _)| *n == name), "label {name} defined twice");
        self.labels.push((name, self.insns.len()));
        self
    }

    /// The instructions, jumps resolved. Panics on an undefined label or a backward jump
    /// (a bug in the program's writer, not a runtime condition).
    pub fn finish(mut self) -> Vec<Insn> {
        for &(at, name) in &self.fixups {
            let &(_, target) =
                self.labels.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("undefined label {name}"));
            assert!(target > at, "backward jump to {name}");
            self.insns[at].off = i16::try_from(target - at - 1).expect("jump too far");
        }
        self.insns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_the_kernel_expects() {
        // r1 = r6 → bf 61 00 00 00 00 00 00 (as llvm-objdump shows it).
        let mut a = Asm::new();
        a.mov(R1, R6).load(Size::DW, R7, R6, 16).mov_imm(R0, 0).jeq_imm(R7, 0, "out").exit().label("out").exit();
        let insns = a.finish();
        assert_eq!(insns[0].encode(), [0xbf, 0x61, 0, 0, 0, 0, 0, 0]);
        assert_eq!(insns[1].encode(), [0x79, 0x67, 16, 0, 0, 0, 0, 0]);
        assert_eq!(insns[2].encode(), [0xb7, 0x00, 0, 0, 0, 0, 0, 0]);
        assert_eq!(insns[3].encode(), [0x15, 0x07, 1, 0, 0, 0, 0, 0]);
        assert_eq!(insns[4].encode(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn map_fd_load_takes_two_slots() {
        let mut a = Asm::new();
        a.load_map_fd(R1, 7).exit();
        let insns = a.finish();
        assert_eq!(insns.len(), 3);
        assert_eq!(insns[0].encode(), [0x18, 0x11, 0, 0, 7, 0, 0, 0]);
        assert_eq!(insns[1].encode(), [0; 8]);
    }

    #[test]
    fn atomic_add() {
        let mut a = Asm::new();
        a.atomic_add64(R0, 0, R1);
        assert_eq!(a.finish()[0].encode(), [0xdb, 0x10, 0, 0, 0, 0, 0, 0]);
    }
}
