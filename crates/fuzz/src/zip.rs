//! An `.npz` (zip) archive taken apart into its members and written back,
//! with mutations at the level of members.
//!
//! Only what collop's writers produce is understood: members without data
//! descriptors or zip64 records, stored (method 0) or deflated (method 8).
//! Deflated members keep their compressed bytes; their data can be changed
//! only by the byte mutations of the whole file.

use proptest::prelude::*;
use proptest::sample::Index;

use crate::bytes::{self, ByteMutation};
use crate::npy::{self, NpyMutation};

/// One member of an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Its file name, e.g. `x.npy`.
    pub name: Vec<u8>,
    /// Compression method (0 stored, 8 deflated).
    pub method: u16,
    /// CRC-32 of the uncompressed data, as written.
    pub crc: u32,
    /// Uncompressed size, as written.
    pub size: u32,
    /// The data as stored (compressed for method 8).
    pub data: Vec<u8>,
}

/// The CRC-32 of zip (IEEE 802.3, reflected, polynomial 0xEDB88320).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The members of an archive, in directory order; `None` if it is not an
/// archive of the kind described in the module documentation.
pub fn members(archive: &[u8]) -> Option<Vec<Member>> {
    let eocd = archive.windows(4).rposition(|w| w == b"PK\x05\x06")?;
    let count = usize::from(u16_at(archive, eocd + 10)?);
    let mut at = u32_at(archive, eocd + 16)? as usize;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        if archive.get(at..at + 4)? != b"PK\x01\x02" {
            return None;
        }
        let method = u16_at(archive, at + 10)?;
        let crc = u32_at(archive, at + 16)?;
        let csize = u32_at(archive, at + 20)? as usize;
        let size = u32_at(archive, at + 24)?;
        let name_len = usize::from(u16_at(archive, at + 28)?);
        let extra_len = usize::from(u16_at(archive, at + 30)?);
        let comment_len = usize::from(u16_at(archive, at + 32)?);
        let local = u32_at(archive, at + 42)? as usize;
        let name = archive.get(at + 46..at + 46 + name_len)?.to_vec();
        let local_name = usize::from(u16_at(archive, local + 26)?);
        let local_extra = usize::from(u16_at(archive, local + 28)?);
        let start = local + 30 + local_name + local_extra;
        let data = archive.get(start..start + csize)?.to_vec();
        out.push(Member { name, method, crc, size, data });
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(out)
}

/// Writes members as a zip archive. `crc` and `size` are written as they
/// are (they may be wrong on purpose); the compressed size is the data's.
pub fn write(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for m in members {
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&m.method.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // time
            v.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
            v.extend_from_slice(&m.crc.to_le_bytes());
            v.extend_from_slice(&(m.data.len() as u32).to_le_bytes());
            v.extend_from_slice(&m.size.to_le_bytes());
            v.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        out.extend_from_slice(b"PK\x03\x04");
        common(&mut out);
        out.extend_from_slice(&m.name);
        out.extend_from_slice(&m.data);
        directory.extend_from_slice(b"PK\x01\x02");
        directory.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut directory);
        directory.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        directory.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(&m.name);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&directory);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]); // disk numbers
    let n = members.len() as u16;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

/// One change of an archive at the level of its members.
#[derive(Debug, Clone)]
pub enum MemberMutation {
    /// Changes a stored member's `.npy` header, fixing its CRC-32 and size
    /// so that the change reaches the `.npy` parser.
    Header { member: Index, change: NpyMutation },
    /// Changes a stored member's data bytes, fixing its CRC-32 and size
    /// when `fix_crc`.
    Data { member: Index, changes: Vec<ByteMutation>, fix_crc: bool },
    /// Writes a wrong CRC-32.
    Crc { member: Index, crc: u32 },
    /// Writes a wrong uncompressed size.
    Size { member: Index, size: u32 },
    /// Removes a member.
    Drop { member: Index },
    /// Repeats a member.
    Duplicate { member: Index },
    /// Gives a member the name of another (two members of one name).
    SameName { member: Index, like: Index },
    /// Renames a member.
    Rename { member: Index, name: Vec<u8> },
    /// Gives a member another compression method.
    Method { member: Index, method: u16 },
    /// Swaps the data of two members (each keeps its name).
    SwapData { a: Index, b: Index },
}

/// Any [`MemberMutation`].
pub fn member_mutation() -> impl Strategy<Value = MemberMutation> {
    let name = prop_oneof![
        Just(b"".to_vec()),
        Just(b".npy".to_vec()),
        Just(b"x".to_vec()),
        Just(b"../escape.npy".to_vec()),
        Just(vec![0xff, 0xfe, b'.', b'n', b'p', b'y']),
        prop::collection::vec(any::<u8>(), 1..12),
    ];
    prop_oneof![
        6 => (any::<Index>(), npy::mutation()).prop_map(|(member, change)| MemberMutation::Header { member, change }),
        4 => (any::<Index>(), bytes::mutations(3), prop::bool::weighted(0.8))
            .prop_map(|(member, changes, fix_crc)| MemberMutation::Data { member, changes, fix_crc }),
        1 => (any::<Index>(), any::<u32>()).prop_map(|(member, crc)| MemberMutation::Crc { member, crc }),
        1 => (any::<Index>(), prop::sample::select(vec![0u32, 1, 100, 0x7fff_ffff, u32::MAX]))
            .prop_map(|(member, size)| MemberMutation::Size { member, size }),
        1 => any::<Index>().prop_map(|member| MemberMutation::Drop { member }),
        1 => any::<Index>().prop_map(|member| MemberMutation::Duplicate { member }),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(member, like)| MemberMutation::SameName { member, like }),
        1 => (any::<Index>(), name).prop_map(|(member, name)| MemberMutation::Rename { member, name }),
        1 => (any::<Index>(), prop::sample::select(vec![0u16, 8, 12, 99]))
            .prop_map(|(member, method)| MemberMutation::Method { member, method }),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| MemberMutation::SwapData { a, b }),
    ]
}

fn fix(m: &mut Member) {
    m.crc = crc32(&m.data);
    m.size = m.data.len() as u32;
}

impl MemberMutation {
    /// Applies the mutation to `members` (nothing on an empty list).
    pub fn apply(&self, members: &mut Vec<Member>) {
        let n = members.len();
        if n == 0 {
            return;
        }
        match self {
            MemberMutation::Header { member, change } => {
                let m = &mut members[member.index(n)];
                if m.method == 0 {
                    m.data = change.apply(&m.data);
                    fix(m);
                }
            }
            MemberMutation::Data { member, changes, fix_crc } => {
                let m = &mut members[member.index(n)];
                m.data = bytes::apply_all(&m.data, changes);
                if *fix_crc && m.method == 0 {
                    fix(m);
                }
            }
            MemberMutation::Crc { member, crc } => members[member.index(n)].crc = *crc,
            MemberMutation::Size { member, size } => members[member.index(n)].size = *size,
            MemberMutation::Drop { member } => {
                members.remove(member.index(n));
            }
            MemberMutation::Duplicate { member } => {
                let m = members[member.index(n)].clone();
                members.push(m);
            }
            MemberMutation::SameName { member, like } => {
                let name = members[like.index(n)].name.clone();
                members[member.index(n)].name = name;
            }
            MemberMutation::Rename { member, name } => members[member.index(n)].name = name.clone(),
            MemberMutation::Method { member, method } => members[member.index(n)].method = *method,
            MemberMutation::SwapData { a, b } => {
                let (a, b) = (a.index(n), b.index(n));
                let da = std::mem::take(&mut members[a].data);
                let db = std::mem::replace(&mut members[b].data, da);
                members[a].data = db;
                fix(&mut members[a]);
                fix(&mut members[b]);
            }
        }
    }
}

/// `archive` with member-level mutations, then byte-level mutations of
/// the whole file. An input that is not an archive gets the byte-level
/// mutations only.
pub fn mutate(archive: &[u8], member_changes: &[MemberMutation], byte_changes: &[ByteMutation]) -> Vec<u8> {
    let rebuilt = match members(archive) {
        Some(mut ms) if !member_changes.is_empty() => {
            for c in member_changes {
                c.apply(&mut ms);
            }
            write(&ms)
        }
        _ => archive.to_vec(),
    };
    bytes::apply_all(&rebuilt, byte_changes)
}

/// Member-level mutations (up to `max_members`) and byte-level mutations
/// (up to `max_bytes`), either list possibly empty.
pub fn mutations(
    max_members: usize,
    max_bytes: usize,
) -> impl Strategy<Value = (Vec<MemberMutation>, Vec<ByteMutation>)> {
    (
        prop::collection::vec(member_mutation(), 0..=max_members),
        prop::collection::vec(bytes::mutation(), 0..=max_bytes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_known_text() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn written_members_read_back() {
        let ms = vec![
            Member {
                name: b"a.npy".to_vec(),
                method: 0,
                crc: crc32(b"hello"),
                size: 5,
                data: b"hello".to_vec(),
            },
            Member { name: b"b.npy".to_vec(), method: 0, crc: crc32(b""), size: 0, data: Vec::new() },
        ];
        assert_eq!(members(&write(&ms)).unwrap(), ms);
    }
}
