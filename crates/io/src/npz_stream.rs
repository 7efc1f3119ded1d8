//! Reading `.npz` archives member by member and row by row, without holding
//! whole arrays in memory.
//!
//! An `.npz` archive is a zip file of `.npy` members, each compressed on its
//! own (deflate for `np.savez_compressed` and [`crate::write_npz`]). A
//! member can only be decompressed from its start, but it can be
//! decompressed *incrementally*: a C-order array of shape `(rows, ...)`
//! stores its rows one after the other, so row `k` is the next
//! `prod(shape[1..])` values of the decompressed stream. [`for_each_npz_row`]
//! opens one zip reader per requested member (the file is opened once per
//! member) and hands the caller row `k` of every member together, holding one
//! row per member: a particle-track file of shape `(dumps, particles)` is
//! read dump by dump.
//!
//! Members in Fortran order (rows not contiguous) or of an element type other
//! than float64 / float32 are decoded whole with [`read_npz_array`] and then
//! handed out row by row: correct, but holding that member in memory.
//!
//! ## Integrity
//!
//! A zip archive stores the CRC-32 of every member's data. The zip reader
//! checks it when a member is read to its end, never before, so every
//! reader here reads each member it uses to the end: [`read_npz_array`]
//! (and [`crate::read_npz`]) read whole members, and [`for_each_npz_row`]
//! reads the rest of each member after its last row. A member whose bytes
//! changed after it was written (a flipped bit on disk or in a copy), or
//! whose file was cut short, is an `IoError::Npz` naming the file and the
//! array, never data silently read. Headers alone ([`npz_members`]) are not
//! checked: they are checked when the data are read.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use ndarray::{ArrayD, Axis};
use ndarray_npy::npy::header::Header;
use zip::ZipArchive;

use crate::IoError;
use crate::npy::{decode_npy_f64, read_npy_header};

/// One member of an `.npz` archive, as its `.npy` header describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpzMember {
    /// Array name (the member's file name without `.npy`).
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// numpy type descriptor, e.g. `<f8`.
    pub descr: String,
    /// Whether the values are stored in Fortran (column-major) order.
    pub fortran_order: bool,
}

pub(crate) fn npz_error(path: &Path, reason: String) -> IoError {
    IoError::Npz { path: path.to_path_buf(), reason }
}

/// A member whose data could not be read to their end: a CRC-32 mismatch
/// (`cause` "Invalid checksum"), a damaged compressed stream or a file cut
/// short.
pub(crate) fn damaged_member(path: &Path, name: &str, cause: impl std::fmt::Display) -> IoError {
    npz_error(
        path,
        format!(
            "array `{name}` is damaged ({cause}): its bytes changed after the file was written (a disk or \
             copy error) or the file was cut short; restore the file from a copy or regenerate it"
        ),
    )
}

pub(crate) fn open_archive(path: &Path) -> Result<ZipArchive<BufReader<File>>, IoError> {
    let file = File::open(path).map_err(|e| IoError::io(path, "opening", e))?;
    ZipArchive::new(BufReader::new(file)).map_err(|e| {
        npz_error(
            path,
            format!("not a readable .npz archive ({e}); the file is corrupt or truncated: regenerate it"),
        )
    })
}

/// The name of the zip entry holding array `name`, as numpy looks it up:
/// `name` itself, else `name.npy`.
pub(crate) fn entry_name(archive: &ZipArchive<BufReader<File>>, name: &str) -> Option<String> {
    let with = format!("{name}.npy");
    let mut found = None;
    for n in archive.file_names() {
        if n == name {
            return Some(n.to_string());
        }
        if n == with {
            found = Some(with.clone());
        }
    }
    found
}

fn descr_of(header: &Header) -> String {
    header.type_descriptor.to_string().trim_matches(|c| c == '\'' || c == '"').to_string()
}

fn read_header(path: &Path, name: &str, reader: &mut impl Read) -> Result<Header, IoError> {
    read_npy_header(reader).map_err(|e| {
        npz_error(path, format!("array `{name}` has an unreadable .npy header ({e}); regenerate it"))
    })
}

/// The members of an `.npz` archive with their shapes and element types,
/// reading only their headers.
pub fn npz_members(path: impl AsRef<Path>) -> Result<Vec<NpzMember>, IoError> {
    let path = path.as_ref();
    let mut archive = open_archive(path)?;
    let mut out = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| {
            npz_error(path, format!("member {index} is unreadable ({e}); regenerate the archive"))
        })?;
        let name = entry.name().strip_suffix(".npy").unwrap_or(entry.name()).to_string();
        let header = read_header(path, &name, &mut entry)?;
        out.push(NpzMember {
            name,
            descr: descr_of(&header),
            fortran_order: header.layout.is_fortran(),
            shape: header.shape,
        });
    }
    Ok(out)
}

/// The uncompressed size of a member as far as it can be trusted: the size
/// in the archive's directory, capped by what the member's stored bytes,
/// which lie in the file, can hold (deflate expands at most 1032 times),
/// so that a corrupt size does not reserve memory.
fn trusted_size<R: Read>(path: &Path, member: &zip::read::ZipFile<'_, R>) -> u64 {
    let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
    let stored = member.compressed_size().min(file_len);
    let most = match member.compression() {
        zip::CompressionMethod::Stored => stored,
        _ => stored.saturating_mul(1032),
    };
    member.size().min(most)
}

/// The bytes of the `.npy` member `entry` (array `name`) of an open
/// archive, read to the end so that the zip reader checks the member's
/// CRC-32.
pub(crate) fn read_member(
    archive: &mut ZipArchive<BufReader<File>>,
    path: &Path,
    entry: &str,
    name: &str,
) -> Result<Vec<u8>, IoError> {
    let mut member = archive.by_name(entry).map_err(|e| damaged_member(path, name, e))?;
    let hint = trusted_size(path, &member);
    let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(0).min(1 << 30));
    member.read_to_end(&mut bytes).map_err(|e| damaged_member(path, name, e))?;
    Ok(bytes)
}

/// [`decode_npy_f64`] of the member `name` of `path`, its errors worded
/// for an archive member.
pub(crate) fn decode_member_f64(path: &Path, name: &str, bytes: &[u8]) -> Result<ArrayD<f64>, IoError> {
    decode_npy_f64(path, bytes).map_err(|e| match e {
        IoError::Npy { reason, .. } => {
            npz_error(path, format!("array `{name}` is unreadable ({reason}); regenerate the archive"))
        }
        IoError::UnsupportedDtype { descr, .. } => npz_error(
            path,
            format!("array `{name}` has unsupported element type {descr}; store real numbers"),
        ),
        other => other,
    })
}

/// One array of an `.npz` archive as `f64` (any real or integer element
/// type), decompressing only that member and checking its CRC-32.
pub fn read_npz_array(path: impl AsRef<Path>, name: &str) -> Result<ArrayD<f64>, IoError> {
    let path = path.as_ref();
    let mut archive = open_archive(path)?;
    let entry = entry_name(&archive, name)
        .ok_or_else(|| npz_error(path, format!("no array `{name}` in the archive")))?;
    let bytes = read_member(&mut archive, path, &entry, name)?;
    decode_member_f64(path, name, &bytes)
}

/// Element types decoded while streaming.
#[derive(Debug, Clone, Copy)]
enum Element {
    F64 { big_endian: bool },
    F32 { big_endian: bool },
}

impl Element {
    fn parse(descr: &str) -> Option<Self> {
        let (order, kind) = descr.split_at(1.min(descr.len()));
        let big_endian = match order {
            "<" | "|" | "=" => cfg!(target_endian = "big") && order == "=",
            ">" => true,
            _ => return None,
        };
        match kind {
            "f8" => Some(Element::F64 { big_endian }),
            "f4" => Some(Element::F32 { big_endian }),
            _ => None,
        }
    }

    fn size(self) -> usize {
        match self {
            Element::F64 { .. } => 8,
            Element::F32 { .. } => 4,
        }
    }

    fn decode(self, bytes: &[u8], out: &mut [f64]) {
        match self {
            Element::F64 { big_endian } => {
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                    let b: [u8; 8] = b.try_into().expect("8 bytes");
                    *o = if big_endian { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) };
                }
            }
            Element::F32 { big_endian } => {
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    let b: [u8; 4] = b.try_into().expect("4 bytes");
                    *o = f64::from(if big_endian { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) });
                }
            }
        }
    }
}

/// Where the rows of one member come from.
enum Rows<'a> {
    /// Decompressed incrementally from the archive.
    Stream { reader: zip::read::ZipFile<'a, BufReader<File>>, element: Element, bytes: Vec<u8> },
    /// Decoded whole (Fortran order or another element type).
    Whole(ArrayD<f64>),
}

/// Call `each(k, rows)` for `k = 0, 1, ...` over the first axis of the
/// arrays `names` of the archive at `path`, where `rows[m]` holds row `k` of
/// array `names[m]` flattened in C order (the caller may change it in
/// place). Every named array must have at least one axis and the same
/// length along the first; a 1D array gives rows of one value.
///
/// Memory: one row per array (plus the zip readers' buffers) for C-order
/// float64 / float32 members; see the module documentation for the others.
/// Stops at the first error of `each` and returns it.
///
/// Integrity: after the last row, the rest of every member is read, which
/// makes the zip reader check its CRC-32; so `each` has seen every row of
/// a damaged member before the call returns its error: discard what it
/// built when the call fails.
///
/// Errors (as `IoError::Npz`, converted into `E`): a missing array, arrays
/// whose first axes differ, a member that ends early, is corrupt, fails
/// its CRC-32 check or holds more data than its shape.
pub fn for_each_npz_row<E: From<IoError>>(
    path: impl AsRef<Path>,
    names: &[&str],
    mut each: impl FnMut(usize, &mut [Vec<f64>]) -> Result<(), E>,
) -> Result<(), E> {
    let path = path.as_ref();
    let mut archives = Vec::with_capacity(names.len());
    let mut entries = Vec::with_capacity(names.len());
    for name in names {
        let archive = open_archive(path)?;
        let entry = entry_name(&archive, name)
            .ok_or_else(|| npz_error(path, format!("no array `{name}` in the archive")))?;
        archives.push(archive);
        entries.push(entry);
    }
    let mut sources = Vec::with_capacity(names.len());
    let mut lengths = Vec::with_capacity(names.len());
    let mut row_lens = Vec::with_capacity(names.len());
    for ((archive, entry), name) in archives.iter_mut().zip(&entries).zip(names) {
        let mut reader = archive.by_name(entry).map_err(|e| {
            npz_error(path, format!("array `{name}` is unreadable ({e}); regenerate the archive"))
        })?;
        let header = read_header(path, name, &mut reader)?;
        let Some((&rows, rest)) = header.shape.split_first() else {
            return Err(
                npz_error(path, format!("array `{name}` is a scalar; rows need at least one axis")).into()
            );
        };
        let Some(row_len) = rest.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) else {
            return Err(npz_error(
                path,
                format!(
                    "array `{name}`: shape {:?} has more values than memory can address; the file is corrupt: \
                     regenerate it",
                    header.shape
                ),
            )
            .into());
        };
        let element = Element::parse(&descr_of(&header)).filter(|_| !header.layout.is_fortran());
        let source = match element {
            Some(element) => {
                // A corrupt shape must not allocate more than the member holds.
                let most = trusted_size(path, &reader);
                let promised = row_len.checked_mul(element.size()).filter(|b| (*b as u64) <= most);
                let Some(row_bytes) = promised else {
                    return Err(npz_error(
                        path,
                        format!("array `{name}`: shape {:?} does not fit the member's size", header.shape),
                    )
                    .into());
                };
                Rows::Stream { reader, element, bytes: vec![0; row_bytes] }
            }
            None => {
                drop(reader);
                Rows::Whole(read_npz_array(path, name)?)
            }
        };
        sources.push(source);
        lengths.push(rows);
        row_lens.push(row_len);
    }
    if let Some(k) = lengths.iter().position(|&n| n != lengths[0]) {
        return Err(npz_error(
            path,
            format!(
                "arrays `{}` ({} rows) and `{}` ({} rows) differ along the first axis; they must match",
                names[0], lengths[0], names[k], lengths[k]
            ),
        )
        .into());
    }
    let n_rows = lengths.first().copied().unwrap_or(0);
    let mut rows: Vec<Vec<f64>> = row_lens.iter().map(|&n| vec![0.0; n]).collect();
    for k in 0..n_rows {
        for ((source, row), name) in sources.iter_mut().zip(&mut rows).zip(names) {
            match source {
                Rows::Stream { reader, element, bytes } => {
                    reader.read_exact(bytes).map_err(|e| {
                        damaged_member(path, name, format!("it ends or breaks at row {k} of {n_rows}: {e}"))
                    })?;
                    element.decode(bytes, row);
                }
                Rows::Whole(a) => {
                    let r = a.index_axis(Axis(0), k);
                    for (d, s) in row.iter_mut().zip(r.iter()) {
                        *d = *s;
                    }
                }
            }
        }
        each(k, &mut rows)?;
    }
    for (source, name) in sources.iter_mut().zip(names) {
        if let Rows::Stream { reader, .. } = source {
            // Reading to the end is what makes the zip reader check the CRC-32.
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).map_err(|e| damaged_member(path, name, e))?;
            if !rest.is_empty() {
                return Err(npz_error(
                    path,
                    format!(
                        "array `{name}` holds {} bytes more than its {n_rows} rows; the file is corrupt: \
                         regenerate it",
                        rest.len()
                    ),
                )
                .into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write_npz;
    use ndarray::{Array2, ShapeBuilder};

    #[test]
    fn rows_stream_in_order_and_match_the_whole_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tracks.npz");
        let vx = Array2::from_shape_fn((7, 5), |(k, i)| (10 * k + i) as f64 + 0.25);
        let vy = vx.mapv(|v| -v);
        let t = ndarray::Array1::from_iter((0..7).map(|k| k as f64 * 0.5));
        write_npz(
            &p,
            &[("vx", vx.view().into_dyn()), ("t", t.view().into_dyn()), ("vy", vy.view().into_dyn())],
        )
        .unwrap();
        let members = npz_members(&p).unwrap();
        assert_eq!(members.len(), 3);
        assert_eq!(members[0].name, "vx");
        assert_eq!(members[0].shape, vec![7, 5]);
        assert_eq!(members[0].descr, "<f8");
        assert!(!members[0].fortran_order);
        assert_eq!(read_npz_array(&p, "t").unwrap(), t.clone().into_dyn());
        let mut seen = 0;
        for_each_npz_row::<IoError>(&p, &["vx", "vy", "t"], |k, rows| {
            assert_eq!(rows[0], vx.row(k).to_vec());
            assert_eq!(rows[1], vy.row(k).to_vec());
            assert_eq!(rows[2], vec![t[k]]);
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, 7);
    }

    #[test]
    fn fortran_order_and_integers_fall_back_to_whole_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.npz");
        let mut a = Array2::<f64>::zeros((3, 4).f());
        for ((i, j), v) in a.indexed_iter_mut() {
            *v = (10 * i + j) as f64;
        }
        write_npz(&p, &[("a", a.view().into_dyn())]).unwrap();
        let mut rows_seen = Vec::new();
        for_each_npz_row::<IoError>(&p, &["a"], |_, rows| {
            rows_seen.push(rows[0].clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(rows_seen[2], vec![20.0, 21.0, 22.0, 23.0]);
    }

    /// An archive like numpy's `np.savez` (members stored uncompressed), so
    /// that one value's bytes can be found in the file and changed.
    fn stored_archive(path: &Path, name: &str, a: &Array2<f64>) {
        let mut npz = ndarray_npy::NpzWriter::new(File::create(path).unwrap());
        npz.add_array(name, a).unwrap();
        npz.finish().unwrap();
    }

    /// Flips one bit of the stored bytes of `value` (a disk or copy error).
    fn flip_bit_of(path: &Path, value: f64) {
        let mut bytes = std::fs::read(path).unwrap();
        let at = bytes.windows(8).position(|w| w == value.to_le_bytes()).expect("the value is stored as is");
        bytes[at + 6] ^= 0x01;
        std::fs::write(path, &bytes).unwrap();
    }

    #[test]
    fn a_flipped_bit_is_an_error_naming_the_file_and_the_array_in_every_reader() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tracks.npz");
        let vx = Array2::from_shape_fn((7, 5), |(k, i)| (10 * k + i) as f64 + 0.25);
        stored_archive(&p, "vx", &vx);
        let mut sum = 0.0;
        for_each_npz_row::<IoError>(&p, &["vx"], |_, rows| {
            sum += rows[0].iter().sum::<f64>();
            Ok(())
        })
        .unwrap();
        assert_eq!(sum, vx.sum(), "the intact archive streams");
        flip_bit_of(&p, 42.25);
        let check = |e: IoError| {
            let e = e.to_string();
            assert!(e.contains("tracks.npz") && e.contains("array `vx` is damaged"), "{e}");
            assert!(
                e.contains("checksum") && e.contains("restore the file from a copy or regenerate it"),
                "{e}"
            );
        };
        check(for_each_npz_row::<IoError>(&p, &["vx"], |_, _| Ok(())).unwrap_err());
        check(read_npz_array(&p, "vx").unwrap_err());
        check(crate::read_npz(&p).unwrap_err());
        // The headers are intact: listing the members still works.
        assert_eq!(npz_members(&p).unwrap()[0].shape, vec![7, 5]);
    }

    #[test]
    fn extra_bytes_after_the_last_row_are_refused() {
        // A header claiming fewer rows than the member holds.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("long.npz");
        let mut npy = Vec::new();
        ndarray_npy::WriteNpyExt::write_npy(&Array2::<f64>::zeros((3, 2)), &mut npy).unwrap();
        let at = npy.windows(6).position(|w| w == b"(3, 2)").unwrap();
        npy[at + 1] = b'2';
        let mut zip = zip::ZipWriter::new(File::create(&p).unwrap());
        zip.start_file("a.npy", zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, &npy).unwrap();
        zip.finish().unwrap();
        let e = for_each_npz_row::<IoError>(&p, &["a"], |_, _| Ok(())).unwrap_err().to_string();
        assert!(e.contains("array `a` holds 16 bytes more than its 2 rows"), "{e}");
    }

    #[test]
    fn missing_arrays_and_mismatched_rows_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.npz");
        let a = Array2::<f64>::zeros((3, 2));
        let b = Array2::<f64>::zeros((4, 2));
        write_npz(&p, &[("a", a.view().into_dyn()), ("b", b.view().into_dyn())]).unwrap();
        let e = for_each_npz_row::<IoError>(&p, &["a", "c"], |_, _| Ok(())).unwrap_err().to_string();
        assert!(e.contains("no array `c`") && e.contains("bad.npz"), "{e}");
        let e = for_each_npz_row::<IoError>(&p, &["a", "b"], |_, _| Ok(())).unwrap_err().to_string();
        assert!(e.contains("differ along the first axis"), "{e}");
        std::fs::write(&p, b"PK junk").unwrap();
        let e = npz_members(&p).unwrap_err().to_string();
        assert!(e.contains("corrupt"), "{e}");
    }
}
