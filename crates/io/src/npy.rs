//! Single arrays (`.npy`) and named bundles of arrays (`.npz`), as numpy
//! writes and reads them.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::Path;

use ndarray::{ArrayBase, ArrayD, ArrayViewD, Data, Dimension};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{
    NpzWriter, ReadNpyError, ReadNpyExt, ReadableElement, WritableElement, WriteNpyError, WriteNpyExt,
};

use crate::IoError;
use crate::atomic::write_atomically;
use crate::npz_stream::{decode_member_f64, npz_error, open_archive, read_member};

/// Outcome of decoding with one candidate element type.
enum Attempt {
    Decoded(ArrayD<f64>),
    /// The file holds another element type; its numpy descriptor.
    OtherType(String),
    Failed(String),
}

fn attempt<T: ReadableElement + Copy>(bytes: &[u8], widen: fn(T) -> f64) -> Attempt {
    match ArrayD::<T>::read_npy(bytes) {
        Ok(a) => Attempt::Decoded(a.mapv(widen)),
        Err(ReadNpyError::WrongDescriptor(descr)) => Attempt::OtherType(descr.to_string()),
        Err(e) => Attempt::Failed(e.to_string()),
    }
}

/// Tries every supported element type in turn (float64 first, the common
/// case) and widens the values to `f64`. 64-bit integers above 2^53 lose
/// their last digits, as they would in numpy's `astype(float64)`.
fn decode_any(mut try_type: impl FnMut(usize) -> Option<Attempt>) -> Attempt {
    let mut last = Attempt::Failed("no element type tried".into());
    for k in 0.. {
        match try_type(k) {
            None => break,
            Some(Attempt::OtherType(d)) => last = Attempt::OtherType(d),
            Some(done) => return done,
        }
    }
    last
}

macro_rules! candidate_types {
    ($k:expr, $call:ident ( $($arg:expr),* )) => {
        match $k {
            0 => Some($call::<f64>($($arg,)* |v| v)),
            1 => Some($call::<f32>($($arg,)* f64::from)),
            2 => Some($call::<i64>($($arg,)* |v| v as f64)),
            3 => Some($call::<i32>($($arg,)* f64::from)),
            4 => Some($call::<i16>($($arg,)* f64::from)),
            5 => Some($call::<i8>($($arg,)* f64::from)),
            6 => Some($call::<u64>($($arg,)* |v| v as f64)),
            7 => Some($call::<u32>($($arg,)* f64::from)),
            8 => Some($call::<u16>($($arg,)* f64::from)),
            9 => Some($call::<u8>($($arg,)* f64::from)),
            _ => None,
        }
    };
}

fn finish_decode(path: &Path, outcome: Attempt) -> Result<ArrayD<f64>, IoError> {
    match outcome {
        Attempt::Decoded(a) => Ok(a),
        Attempt::OtherType(descr) => Err(IoError::UnsupportedDtype { path: path.to_path_buf(), descr }),
        Attempt::Failed(reason) => Err(IoError::Npy { path: path.to_path_buf(), reason }),
    }
}

/// Decodes `.npy` bytes of any real or integer element type (either byte
/// order, C or Fortran order) into `f64`.
pub(crate) fn decode_npy_f64(path: &Path, bytes: &[u8]) -> Result<ArrayD<f64>, IoError> {
    check_promised_size(path, bytes)?;
    finish_decode(path, decode_any(|k| candidate_types!(k, attempt(bytes))))
}

/// The longest `.npy` header read, in bytes: numpy's own limit
/// (`np.load(max_header_size=10000)`); the headers numpy and collop write
/// take 128 bytes or a few more.
pub(crate) const MAX_HEADER_LEN: usize = 10_000;

/// Reads a `.npy` header from `reader`, refusing a header length field
/// above [`MAX_HEADER_LEN`] before anything is allocated for it (a
/// corrupt length must not exhaust memory). The reason of a failure is
/// worded for the user.
pub(crate) fn read_npy_header(reader: &mut impl Read) -> Result<Header, String> {
    let mut prefix = [0u8; 12];
    let mut got = 0;
    // Magic (6 bytes), version (2), header length (2 in version 1, 4 after).
    while got < 10 {
        match reader.read(&mut prefix[got..10]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("error reading the header: {e}")),
        }
    }
    let declared = match (got, prefix[6]) {
        (10, 1) => usize::from(u16::from_le_bytes([prefix[8], prefix[9]])),
        (10, 2 | 3) => {
            reader
                .read_exact(&mut prefix[10..12])
                .map_err(|e| format!("error reading the header length: {e}"))?;
            got = 12;
            u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as usize
        }
        // Too short or an unknown version: numpy's parser words the error.
        _ => 0,
    };
    if declared > MAX_HEADER_LEN {
        return Err(format!(
            "error parsing header: the header declares {declared} bytes, more than the {MAX_HEADER_LEN} \
             numpy reads; the file is corrupt"
        ));
    }
    let mut header = prefix[..got].to_vec();
    reader
        .take(declared as u64)
        .read_to_end(&mut header)
        .map_err(|e| format!("error reading the header: {e}"))?;
    Header::from_reader(&mut header.as_slice()).map_err(|e| format!("error parsing header: {e}"))
}

/// Refuses a header that promises more values than the file has bytes, before
/// anything is allocated for them (a corrupt shape must not exhaust memory).
pub(crate) fn check_promised_size(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut rest = bytes;
    let header =
        read_npy_header(&mut rest).map_err(|reason| IoError::Npy { path: path.to_path_buf(), reason })?;
    let values = header.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    match values {
        Some(n) if n <= rest.len() => Ok(()),
        _ => Err(IoError::Npy {
            path: path.to_path_buf(),
            reason: format!(
                "the header promises shape {:?} but only {} bytes of data follow",
                header.shape,
                rest.len()
            ),
        }),
    }
}

/// Reads a `.npy` file of any real or integer element type (float64/32,
/// int8..int64, uint8..uint64, either byte order, C or Fortran order) as
/// `f64`.
pub fn read_npy_f64(path: impl AsRef<Path>) -> Result<ArrayD<f64>, IoError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| IoError::io(path, "reading", e))?;
    decode_npy_f64(path, &bytes)
}

fn encode_error(path: &Path, e: WriteNpyError) -> IoError {
    match e {
        WriteNpyError::Io(e) => IoError::io(path, "writing", e),
        other => IoError::io(path, "encoding .npy", std::io::Error::other(other.to_string())),
    }
}

/// Writes one array as `.npy` (numpy's `np.save` format), atomically: a
/// reader never sees a partial file. The folder must exist.
pub fn write_npy<A, S, D>(path: impl AsRef<Path>, array: &ArrayBase<S, D>) -> Result<(), IoError>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    let path = path.as_ref();
    write_atomically(path, |w| array.write_npy(w).map_err(|e| encode_error(path, e)))
}

/// Refuses an archive with two arrays of one name (numpy would keep one).
pub(crate) fn check_distinct_names<'a>(
    path: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), IoError> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(npz_error(
                path,
                format!("the array name `{name}` is used twice; give every array its own name"),
            ));
        }
    }
    Ok(())
}

/// Writes named `f64` arrays as a compressed `.npz` archive (numpy's
/// `np.savez_compressed`; read with `np.load(path)[name]`), atomically.
/// Names must be distinct.
pub fn write_npz(path: impl AsRef<Path>, arrays: &[(&str, ArrayViewD<'_, f64>)]) -> Result<(), IoError> {
    let path = path.as_ref();
    check_distinct_names(path, arrays.iter().map(|(name, _)| *name))?;
    write_atomically(path, |w| {
        let fail = |reason: String| IoError::Npz { path: path.to_path_buf(), reason };
        let mut npz = NpzWriter::new_compressed(w);
        for (name, array) in arrays {
            npz.add_array(*name, array).map_err(|e| fail(format!("writing array `{name}` failed: {e}")))?;
        }
        npz.finish().map_err(|e| fail(format!("finishing the archive failed: {e}")))?;
        Ok(())
    })
}

/// Reads every array of a `.npz` archive, in archive order, as `f64` (any real
/// or integer element type is accepted and widened). Every member is read
/// to its end and checked against its CRC-32 (see [`crate::read_npz_array`]).
pub fn read_npz(path: impl AsRef<Path>) -> Result<Vec<(String, ArrayD<f64>)>, IoError> {
    let path = path.as_ref();
    let mut archive = open_archive(path)?;
    let entries: Vec<String> = (0..archive.len())
        .map(|k| archive.name_for_index(k).map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            npz_error(path, "the archive's directory is corrupt; regenerate the file".to_string())
        })?;
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        // numpy's rule: the array name is the member name without `.npy`.
        let name = entry.strip_suffix(".npy").unwrap_or(&entry).to_string();
        let bytes = read_member(&mut archive, path, &entry, &name)?;
        let array = decode_member_f64(path, &name, &bytes)?;
        out.push((name, array));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder, arr2};

    #[test]
    fn npy_round_trip_in_every_element_type() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let ints = arr2(&[[1i64, -2, 3], [4, 5, 6]]);
        write_npy(&p, &ints).unwrap();
        assert_eq!(read_npy_f64(&p).unwrap(), ints.mapv(|v| v as f64).into_dyn());
        let bytes = arr2(&[[0u8, 255], [7, 9]]);
        write_npy(&p, &bytes).unwrap();
        assert_eq!(read_npy_f64(&p).unwrap(), bytes.mapv(f64::from).into_dyn());
        let halfs = arr2(&[[0.5f32, 1.25]]);
        write_npy(&p, &halfs).unwrap();
        assert_eq!(read_npy_f64(&p).unwrap(), arr2(&[[0.5, 1.25]]).into_dyn());
        let small = arr2(&[[-3i8, 4]]);
        write_npy(&p, &small).unwrap();
        assert_eq!(read_npy_f64(&p).unwrap(), arr2(&[[-3.0, 4.0]]).into_dyn());
    }

    #[test]
    fn fortran_order_is_read_in_logical_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.npy");
        let mut a = Array2::<f64>::zeros((2, 3).f());
        for ((i, j), v) in a.indexed_iter_mut() {
            *v = (10 * i + j) as f64;
        }
        write_npy(&p, &a).unwrap();
        let header = fs::read(&p).unwrap();
        assert!(String::from_utf8_lossy(&header[..80]).contains("'fortran_order': True"));
        let back = read_npy_f64(&p).unwrap();
        assert_eq!(back[[1, 2]], 12.0);
        assert_eq!(back[[0, 1]], 1.0);
    }

    #[test]
    fn big_endian_is_read() {
        // Hand-made header: numpy's layout for a big-endian float64 array of shape (2,).
        let dict = "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }";
        let mut header = format!("{dict:<117}\n").into_bytes();
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.append(&mut header);
        bytes.extend_from_slice(&1.5f64.to_be_bytes());
        bytes.extend_from_slice(&(-2.0f64).to_be_bytes());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("be.npy");
        fs::write(&p, &bytes).unwrap();
        assert_eq!(read_npy_f64(&p).unwrap().into_raw_vec_and_offset().0, vec![1.5, -2.0]);
    }

    #[test]
    fn unsupported_and_corrupt_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("flags.npy");
        write_npy(&p, &arr2(&[[true, false]])).unwrap();
        let err = read_npy_f64(&p).unwrap_err();
        assert!(matches!(err, IoError::UnsupportedDtype { .. }), "{err:?}");
        assert!(err.to_string().contains("flags.npy") && err.to_string().contains("b1"), "{err}");

        let q = dir.path().join("junk.npy");
        fs::write(&q, b"this is not numpy").unwrap();
        let err = read_npy_f64(&q).unwrap_err();
        assert!(matches!(err, IoError::Npy { .. }), "{err:?}");
        assert!(err.to_string().contains("junk.npy"), "{err}");
    }

    #[test]
    fn a_header_promising_more_than_the_file_holds_is_refused_without_allocating() {
        // Shape (10^12,) float64 with 16 bytes of data: must fail cleanly, not abort.
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }";
        let mut header = format!("{dict:<117}\n").into_bytes();
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.append(&mut header);
        bytes.extend_from_slice(&[0u8; 16]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.npy");
        fs::write(&p, &bytes).unwrap();
        let err = read_npy_f64(&p).unwrap_err();
        assert!(matches!(err, IoError::Npy { .. }), "{err:?}");
        assert!(err.to_string().contains("huge.npy") && err.to_string().contains("promises"), "{err}");
    }

    #[test]
    fn npz_round_trip_keeps_names_order_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("model.npz");
        let a = arr2(&[[1.0, 2.0], [3.0, 4.0]]).into_dyn();
        let b = ndarray::arr1(&[0.25, -1e-300, 7.0]).into_dyn();
        write_npz(&p, &[("theta", a.view()), ("bias", b.view())]).unwrap();
        let back = read_npz(&p).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].0, "theta");
        assert_eq!(back[0].1, a);
        assert_eq!(back[1].0, "bias");
        assert_eq!(back[1].1, b);
    }

    #[test]
    fn npz_rejects_duplicate_names_and_corrupt_archives() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dup.npz");
        let a = ndarray::arr1(&[1.0]).into_dyn();
        let err = write_npz(&p, &[("x", a.view()), ("x", a.view())]).unwrap_err();
        assert!(err.to_string().contains("`x` is used twice"), "{err}");
        assert!(!p.exists());

        fs::write(&p, b"PK garbage").unwrap();
        let err = read_npz(&p).unwrap_err();
        assert!(matches!(err, IoError::Npz { .. }));
        assert!(err.to_string().contains("dup.npz") && err.to_string().contains("corrupt"), "{err}");
    }
}
