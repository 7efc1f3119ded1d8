//! Mutations of the header of a `.npy` file (numpy's format: the magic
//! `\x93NUMPY`, a version, the header length, then a Python dict literal
//! with `descr`, `fortran_order` and `shape`, padded with spaces and ended
//! by a newline; the data follow).

use proptest::prelude::*;

/// Shapes that a corrupt or hostile header may declare.
pub const SHAPES: [&str; 16] = [
    "()",
    "(0,)",
    "(0, 5)",
    "(-1,)",
    "(3, -2)",
    "(1000000000000,)",
    "(1000000, 1000000)",
    "(4294967296, 4294967296)",
    "(18446744073709551615,)",
    "(18446744073709551616,)",
    "(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)",
    "(2, 3, 4, 5, 6, 7)",
    "((1,),)",
    "('a',)",
    "(1.5,)",
    "(",
];

/// Element types a corrupt or foreign header may declare.
pub const DESCRS: [&str; 16] = [
    "'<f8'",
    "'>f8'",
    "'<f4'",
    "'<f2'",
    "'<i8'",
    "'>u4'",
    "'|u1'",
    "'|b1'",
    "'<c16'",
    "'<U4'",
    "'|O'",
    "'<M8[s]'",
    "'f8'",
    "''",
    "[('a', '<f8')]",
    "42",
];

/// Values of `fortran_order`.
pub const ORDERS: [&str; 4] = ["True", "False", "1", "None"];

/// One change of a `.npy` header.
#[derive(Debug, Clone)]
pub enum NpyMutation {
    /// Declares another shape (one of [`SHAPES`], or any list of sizes).
    Shape(String),
    /// Declares another element type (one of [`DESCRS`]).
    Descr(&'static str),
    /// Another `fortran_order` (one of [`ORDERS`]).
    Order(&'static str),
    /// Removes a key of the dict (`descr`, `fortran_order` or `shape`).
    DropKey(&'static str),
    /// Changes one byte of the magic string.
    Magic { at: usize, byte: u8 },
    /// Another format version.
    Version { major: u8, minor: u8 },
    /// A header length field that does not match the header.
    HeaderLen(u32),
}

/// Any [`NpyMutation`].
pub fn mutation() -> impl Strategy<Value = NpyMutation> {
    let shape = prop_oneof![
        3 => prop::sample::select(SHAPES.to_vec()).prop_map(str::to_string),
        1 => prop::collection::vec(0u64..=u64::MAX, 0..4).prop_map(|dims| {
            let body: Vec<String> = dims.iter().map(|d| (d % 1_000_000_000_000).to_string()).collect();
            format!("({},)", body.join(", "))
        }),
    ];
    prop_oneof![
        4 => shape.prop_map(NpyMutation::Shape),
        2 => prop::sample::select(DESCRS.to_vec()).prop_map(NpyMutation::Descr),
        1 => prop::sample::select(ORDERS.to_vec()).prop_map(NpyMutation::Order),
        1 => prop::sample::select(vec!["descr", "fortran_order", "shape"]).prop_map(NpyMutation::DropKey),
        1 => (0usize..6, any::<u8>()).prop_map(|(at, byte)| NpyMutation::Magic { at, byte }),
        1 => (0u8..5, 0u8..2).prop_map(|(major, minor)| NpyMutation::Version { major, minor }),
        1 => prop::sample::select(vec![0u32, 1, 10, 0xffff, 0xffff_ffff]).prop_map(NpyMutation::HeaderLen),
    ]
}

/// A parsed `.npy` layout: the version and the dict text; the data follow
/// at `data_start`.
struct Layout {
    major: u8,
    minor: u8,
    dict: String,
    data_start: usize,
}

const MAGIC: &[u8] = b"\x93NUMPY";

fn layout(bytes: &[u8]) -> Option<Layout> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return None;
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len, start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        _ => return None,
    };
    let dict = std::str::from_utf8(bytes.get(start..start + len)?).ok()?.to_string();
    Some(Layout { major, minor, dict, data_start: start + len })
}

/// The byte range of the value of `key` in a dict literal.
fn value_range(dict: &str, key: &str) -> Option<(usize, usize)> {
    let at = dict.find(&format!("'{key}':"))? + key.len() + 3;
    let rest = &dict[at..];
    let start = at + (rest.len() - rest.trim_start().len());
    let b = dict.as_bytes();
    let end = match b.get(start)? {
        b'(' | b'[' => {
            let (open, close) = if b[start] == b'(' { (b'(', b')') } else { (b'[', b']') };
            let mut depth = 0usize;
            let mut end = None;
            for (k, &c) in b.iter().enumerate().skip(start) {
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(k + 1);
                        break;
                    }
                }
            }
            end?
        }
        b'\'' | b'"' => start + 1 + dict[start + 1..].find(b[start] as char)? + 1,
        _ => start + dict[start..].find([',', '}'])?,
    };
    Some((start, end))
}

/// Rebuilds a `.npy` file from a version, a dict and the data, padding the
/// header as numpy does (total header a multiple of 64 bytes).
fn rebuild(major: u8, minor: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    let prefix = if major == 1 { 10 } else { 12 };
    let body = dict.trim_end().to_string();
    let total = (prefix + body.len() + 1).div_ceil(64) * 64;
    let mut header = body.into_bytes();
    header.resize(total - prefix - 1, b' ');
    header.push(b'\n');
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[major, minor]);
    if major == 1 {
        out.extend_from_slice(&u16::try_from(header.len()).unwrap_or(u16::MAX).to_le_bytes());
    } else {
        out.extend_from_slice(&u32::try_from(header.len()).unwrap_or(u32::MAX).to_le_bytes());
    }
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

impl NpyMutation {
    /// `bytes` (a `.npy` file) with its header changed; bytes that are not
    /// a `.npy` file are returned unchanged.
    pub fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        let Some(l) = layout(bytes) else { return bytes.to_vec() };
        let data = &bytes[l.data_start..];
        let replace = |key: &str, new: &str| -> String {
            match value_range(&l.dict, key) {
                Some((a, b)) => format!("{}{new}{}", &l.dict[..a], &l.dict[b..]),
                None => l.dict.clone(),
            }
        };
        match self {
            NpyMutation::Shape(s) => rebuild(l.major, l.minor, &replace("shape", s), data),
            NpyMutation::Descr(d) => rebuild(l.major, l.minor, &replace("descr", d), data),
            NpyMutation::Order(o) => rebuild(l.major, l.minor, &replace("fortran_order", o), data),
            NpyMutation::DropKey(key) => {
                let dict = match (l.dict.find(&format!("'{key}':")), value_range(&l.dict, key)) {
                    (Some(a), Some((_, b))) => {
                        let b = if l.dict[b..].starts_with(", ") { b + 2 } else { b };
                        format!("{}{}", &l.dict[..a], &l.dict[b..])
                    }
                    _ => l.dict.clone(),
                };
                rebuild(l.major, l.minor, &dict, data)
            }
            NpyMutation::Magic { at, byte } => {
                let mut out = bytes.to_vec();
                out[*at] = *byte;
                out
            }
            NpyMutation::Version { major, minor } => {
                let mut out = bytes.to_vec();
                out[6] = *major;
                out[7] = *minor;
                out
            }
            NpyMutation::HeaderLen(len) => {
                let mut out = bytes.to_vec();
                if l.major == 1 {
                    out[8..10].copy_from_slice(&(*len as u16).to_le_bytes());
                } else {
                    out[8..12].copy_from_slice(&len.to_le_bytes());
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        rebuild(1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", &[0u8; 48])
    }

    #[test]
    fn values_are_found_and_replaced() {
        let s = sample();
        let l = layout(&s).unwrap();
        assert_eq!(l.data_start % 64, 0);
        let (a, b) = value_range(&l.dict, "shape").unwrap();
        assert_eq!(&l.dict[a..b], "(2, 3)");
        let (a, b) = value_range(&l.dict, "descr").unwrap();
        assert_eq!(&l.dict[a..b], "'<f8'");
        let (a, b) = value_range(&l.dict, "fortran_order").unwrap();
        assert_eq!(&l.dict[a..b], "False");
        let m = NpyMutation::Shape("(1000000000000,)".into()).apply(&s);
        let l = layout(&m).unwrap();
        assert!(l.dict.contains("'shape': (1000000000000,)"), "{}", l.dict);
        assert_eq!(m.len() - l.data_start, 48, "the data are kept");
        let m = NpyMutation::DropKey("descr").apply(&s);
        assert!(!layout(&m).unwrap().dict.contains("descr"));
    }
}
