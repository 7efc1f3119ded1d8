//! Mutations of raw bytes.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Values that parsers get wrong most often, written little- or big-endian
/// over 1, 2, 4 or 8 bytes.
const INTERESTING: [u64; 12] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
    1 << 40,
];

/// One change of a byte string.
#[derive(Debug, Clone)]
pub enum ByteMutation {
    /// Flip one bit.
    FlipBit { at: Index, bit: u8 },
    /// Overwrite bytes from `at` (as far as the data go).
    Overwrite { at: Index, bytes: Vec<u8> },
    /// Write an interesting value over `width` bytes at `at`.
    Interesting { at: Index, value: usize, width: usize, big_endian: bool },
    /// Cut the data at `at`.
    Truncate { at: Index },
    /// Insert bytes at `at`.
    Insert { at: Index, bytes: Vec<u8> },
    /// Remove up to `len` bytes from `at`.
    Remove { at: Index, len: usize },
    /// Copy up to `len` bytes from `from` over the bytes at `to`, or insert
    /// them there.
    Splice { from: Index, to: Index, len: usize, insert: bool },
}

/// Any [`ByteMutation`].
pub fn mutation() -> impl Strategy<Value = ByteMutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| ByteMutation::FlipBit { at, bit }),
        2 => (any::<Index>(), vec(any::<u8>(), 1..16)).prop_map(|(at, bytes)| ByteMutation::Overwrite { at, bytes }),
        3 => (any::<Index>(), 0..INTERESTING.len(), prop::sample::select(vec![1usize, 2, 4, 8]), any::<bool>())
            .prop_map(|(at, value, width, big_endian)| ByteMutation::Interesting { at, value, width, big_endian }),
        2 => any::<Index>().prop_map(|at| ByteMutation::Truncate { at }),
        1 => (any::<Index>(), vec(any::<u8>(), 1..32)).prop_map(|(at, bytes)| ByteMutation::Insert { at, bytes }),
        1 => (any::<Index>(), 1usize..64).prop_map(|(at, len)| ByteMutation::Remove { at, len }),
        1 => (any::<Index>(), any::<Index>(), 1usize..256, any::<bool>())
            .prop_map(|(from, to, len, insert)| ByteMutation::Splice { from, to, len, insert }),
    ]
}

/// One to `max` mutations.
pub fn mutations(max: usize) -> impl Strategy<Value = Vec<ByteMutation>> {
    vec(mutation(), 1..=max.max(1))
}

/// A position in `0..len` (0 when `len` is 0).
fn pos(at: &Index, len: usize) -> usize {
    if len == 0 { 0 } else { at.index(len) }
}

impl ByteMutation {
    /// Applies the mutation to `data` in place.
    pub fn apply(&self, data: &mut Vec<u8>) {
        let n = data.len();
        match self {
            ByteMutation::FlipBit { at, bit } => {
                if n > 0 {
                    data[pos(at, n)] ^= 1 << bit;
                }
            }
            ByteMutation::Overwrite { at, bytes } => {
                let start = pos(at, n);
                for (d, s) in data[start..].iter_mut().zip(bytes) {
                    *d = *s;
                }
            }
            ByteMutation::Interesting { at, value, width, big_endian } => {
                let v = INTERESTING[*value];
                let le = v.to_le_bytes();
                let be = v.to_be_bytes();
                let bytes = if *big_endian { &be[8 - width..] } else { &le[..*width] };
                let start = pos(at, n);
                for (d, s) in data[start..].iter_mut().zip(bytes) {
                    *d = *s;
                }
            }
            ByteMutation::Truncate { at } => data.truncate(pos(at, n)),
            ByteMutation::Insert { at, bytes } => {
                let start = pos(at, n + 1);
                data.splice(start..start, bytes.iter().copied());
            }
            ByteMutation::Remove { at, len } => {
                let start = pos(at, n);
                let end = (start + len).min(n);
                data.drain(start..end);
            }
            ByteMutation::Splice { from, to, len, insert } => {
                let start = pos(from, n);
                let chunk: Vec<u8> = data[start..(start + len).min(n)].to_vec();
                let dest = pos(to, n);
                if *insert {
                    data.splice(dest..dest, chunk);
                } else {
                    for (d, s) in data[dest..].iter_mut().zip(chunk) {
                        *d = s;
                    }
                }
            }
        }
    }
}

/// `data` with `mutations` applied in order.
pub fn apply_all(data: &[u8], mutations: &[ByteMutation]) -> Vec<u8> {
    let mut out = data.to_vec();
    for m in mutations {
        m.apply(&mut out);
    }
    out
}
