//! Uncompressed `.npz` archives of typed arrays, for state that must come
//! back bit for bit (checkpoints).
//!
//! The layout is numpy's `np.savez`: a zip archive of `.npy` members, one
//! per array, here each of its own element type (float64, float32, uint64,
//! uint32 or uint8) and stored without compression (deflate would cost
//! more time than it saves on particle data). `np.load` reads them.
//!
//! Integrity: the archive carries the CRC-32 of every member, and
//! [`NpzArchive::read`] reads each member to its end, so the zip reader
//! checks it; a damaged file is an `IoError::Npz` naming the file and the
//! array, never different numbers. A header promising more values than
//! the member holds is refused before anything is allocated for them.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, ArrayViewD};
use ndarray_npy::{NpzWriter, ReadNpyError, ReadNpyExt, ReadableElement};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive};

use crate::IoError;
use crate::atomic::write_atomically;
use crate::npy::{check_distinct_names, check_promised_size};
use crate::npz_stream::{entry_name, npz_error, open_archive, read_member};

/// One array of [`write_npz_stored`], in its own element type.
#[derive(Debug, Clone)]
pub enum TypedArray<'a> {
    /// float64 (`<f8`).
    F64(ArrayViewD<'a, f64>),
    /// float32 (`<f4`).
    F32(ArrayViewD<'a, f32>),
    /// uint64 (`<u8`).
    U64(ArrayViewD<'a, u64>),
    /// uint32 (`<u4`).
    U32(ArrayViewD<'a, u32>),
    /// uint8 (`|u1`), e.g. UTF-8 text.
    U8(ArrayViewD<'a, u8>),
}

impl TypedArray<'_> {
    /// Bytes of the values.
    fn nbytes(&self) -> u64 {
        let (n, size) = match self {
            TypedArray::F64(a) => (a.len(), 8),
            TypedArray::F32(a) => (a.len(), 4),
            TypedArray::U64(a) => (a.len(), 8),
            TypedArray::U32(a) => (a.len(), 4),
            TypedArray::U8(a) => (a.len(), 1),
        };
        n as u64 * size
    }
}

/// The element types of [`TypedArray`], which [`NpzArchive::read`] reads
/// back without conversion. Implemented for `f64`, `f32`, `u64`, `u32` and
/// `u8` only.
pub trait NpzElement: ReadableElement + Clone + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
}

macro_rules! npz_elements {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl NpzElement for $t {}
    )*};
}

npz_elements!(f64, f32, u64, u32, u8);

/// Members at least this large need the zip64 extension (sizes above
/// `u32::MAX`, with room for the `.npy` header).
const ZIP64_FROM: u64 = u32::MAX as u64 - (1 << 20);

/// Writes named arrays, each in its own element type, as an uncompressed
/// `.npz` archive (numpy's `np.savez`; read with `np.load(path)[name]` or
/// [`NpzArchive`]), atomically: a reader never sees a partial file, and
/// on any error (disk full included) no temporary file is left. Names must
/// be distinct.
pub fn write_npz_stored(path: impl AsRef<Path>, arrays: &[(&str, TypedArray<'_>)]) -> Result<(), IoError> {
    let path = path.as_ref();
    check_distinct_names(path, arrays.iter().map(|(name, _)| *name))?;
    write_atomically(path, |w| {
        let fail = |reason: String| npz_error(path, reason);
        let mut npz = NpzWriter::new(w);
        for (name, array) in arrays {
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Stored)
                .large_file(array.nbytes() >= ZIP64_FROM);
            match array {
                TypedArray::F64(a) => npz.add_array_with_options(*name, a, options),
                TypedArray::F32(a) => npz.add_array_with_options(*name, a, options),
                TypedArray::U64(a) => npz.add_array_with_options(*name, a, options),
                TypedArray::U32(a) => npz.add_array_with_options(*name, a, options),
                TypedArray::U8(a) => npz.add_array_with_options(*name, a, options),
            }
            .map_err(|e| fail(format!("writing array `{name}` failed: {e}")))?;
        }
        npz.finish().map_err(|e| fail(format!("finishing the archive failed: {e}")))?;
        Ok(())
    })
}

/// An `.npz` archive opened to read arrays of known element types (any
/// `.npz`; the ones [`write_npz_stored`] writes in particular).
#[derive(Debug)]
pub struct NpzArchive {
    path: PathBuf,
    zip: ZipArchive<BufReader<File>>,
    names: Vec<String>,
}

impl NpzArchive {
    /// Opens the archive at `path`, reading its directory only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IoError> {
        let path = path.as_ref();
        let zip = open_archive(path)?;
        let names = zip.file_names().map(|n| n.strip_suffix(".npy").unwrap_or(n).to_string()).collect();
        Ok(Self { path: path.to_path_buf(), zip, names })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The array names (member names without `.npy`), in no particular order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether the archive holds array `name`.
    pub fn contains(&self, name: &str) -> bool {
        entry_name(&self.zip, name).is_some()
    }

    /// Array `name`, whose element type must be `T` (no conversion), read
    /// to its end and checked against its CRC-32.
    ///
    /// Errors (`IoError::Npz`, naming the file and the array): no such
    /// array, another element type, a damaged member (CRC-32 mismatch, cut
    /// short), an unreadable `.npy` header or one promising more values
    /// than the member holds.
    pub fn read<T: NpzElement>(&mut self, name: &str) -> Result<ArrayD<T>, IoError> {
        let path = self.path.as_path();
        let entry = entry_name(&self.zip, name)
            .ok_or_else(|| npz_error(path, format!("no array `{name}` in the archive")))?;
        let bytes = read_member(&mut self.zip, path, &entry, name)?;
        let unreadable = |reason: String| {
            npz_error(
                path,
                format!("array `{name}` is unreadable ({reason}); the file is corrupt: regenerate it"),
            )
        };
        check_promised_size(path, &bytes).map_err(|e| match e {
            IoError::Npy { reason, .. } => unreadable(reason),
            other => other,
        })?;
        ArrayD::<T>::read_npy(bytes.as_slice()).map_err(|e| match e {
            ReadNpyError::WrongDescriptor(found) => npz_error(
                path,
                format!(
                    "array `{name}` holds elements of type {found}, expected {}; the file was written by \
                     another program or version",
                    std::any::type_name::<T>()
                ),
            ),
            other => unreadable(other.to_string()),
        })
    }

    /// Array `name` as its values in C (row-major) order with its shape;
    /// see [`NpzArchive::read`].
    pub fn read_vec<T: NpzElement>(&mut self, name: &str) -> Result<(Vec<T>, Vec<usize>), IoError> {
        let a = self.read::<T>(name)?;
        let shape = a.shape().to_vec();
        let values =
            if a.is_standard_layout() { a.into_raw_vec_and_offset().0 } else { a.iter().cloned().collect() };
        Ok((values, shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    fn sample(dir: &Path) -> PathBuf {
        let p = dir.join("state.npz");
        let x = Array1::from_vec(vec![0.5, -1.0e-300, f64::MAX]).into_dyn();
        let ids = Array1::from_vec(vec![u64::MAX, 0, 1 << 60]).into_dyn();
        let tags = Array1::from_vec(vec![7u32, 0, u32::MAX]).into_dyn();
        let u0 =
            Array2::from_shape_vec((3, 2), vec![0.25f32, -1.5, 3.0, 0.0, 1e-30, 2.0]).unwrap().into_dyn();
        let text = Array1::from_vec(b"seed = 1\n".to_vec()).into_dyn();
        write_npz_stored(
            &p,
            &[
                ("x", TypedArray::F64(x.view())),
                ("id", TypedArray::U64(ids.view())),
                ("tag", TypedArray::U32(tags.view())),
                ("u0", TypedArray::F32(u0.view())),
                ("deck", TypedArray::U8(text.view())),
            ],
        )
        .unwrap();
        p
    }

    #[test]
    fn typed_arrays_come_back_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample(dir.path());
        let mut a = NpzArchive::open(&p).unwrap();
        assert!(a.contains("x") && a.contains("deck") && !a.contains("y"));
        assert_eq!(a.names().len(), 5);
        assert_eq!(a.read_vec::<f64>("x").unwrap(), (vec![0.5, -1.0e-300, f64::MAX], vec![3]));
        assert_eq!(a.read_vec::<u64>("id").unwrap().0, vec![u64::MAX, 0, 1 << 60]);
        assert_eq!(a.read_vec::<u32>("tag").unwrap().0, vec![7, 0, u32::MAX]);
        assert_eq!(a.read_vec::<f32>("u0").unwrap(), (vec![0.25, -1.5, 3.0, 0.0, 1e-30, 2.0], vec![3, 2]));
        assert_eq!(a.read_vec::<u8>("deck").unwrap().0, b"seed = 1\n".to_vec());
        // The generic reader widens them (ids above 2^53 lose digits there).
        assert_eq!(crate::read_npz(&p).unwrap().len(), 5);
    }

    #[test]
    fn wrong_types_missing_arrays_and_damaged_members_name_the_array() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample(dir.path());
        let mut a = NpzArchive::open(&p).unwrap();
        let e = a.read::<f64>("id").unwrap_err().to_string();
        assert!(
            e.contains("state.npz") && e.contains("`id`") && e.contains("<u8") && e.contains("f64"),
            "{e}"
        );
        let e = a.read::<f64>("y").unwrap_err().to_string();
        assert!(e.contains("no array `y`"), "{e}");

        // One bit of one value flipped: the member's CRC-32 no longer matches.
        let mut bytes = std::fs::read(&p).unwrap();
        let at = bytes.windows(8).position(|w| w == 0.5f64.to_le_bytes()).unwrap();
        bytes[at + 7] ^= 0x01;
        std::fs::write(&p, &bytes).unwrap();
        let mut a = NpzArchive::open(&p).unwrap();
        let e = a.read::<f64>("x").unwrap_err().to_string();
        assert!(
            e.contains("state.npz") && e.contains("array `x` is damaged") && e.contains("checksum"),
            "{e}"
        );
        assert!(e.contains("restore the file from a copy or regenerate it"), "{e}");
        assert_eq!(a.read_vec::<u32>("tag").unwrap().0, vec![7, 0, u32::MAX], "other members still read");
    }

    #[test]
    fn duplicate_names_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dup.npz");
        let a = Array1::from_vec(vec![1u8]).into_dyn();
        let e = write_npz_stored(&p, &[("a", TypedArray::U8(a.view())), ("a", TypedArray::U8(a.view()))])
            .unwrap_err();
        assert!(e.to_string().contains("`a` is used twice"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
