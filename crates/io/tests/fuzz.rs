//! Property-based fuzzing of every reader of user files in collop-io:
//! `.npy` files, `.npz` archives (whole, typed, member by member and row
//! by row), dataset folders (`NNNNNN.npy` frames and `args.yaml`), PIC
//! parameters and particle-track files.
//!
//! Inputs are valid files written by collop's own writers, then mutated
//! (bits flipped, bytes overwritten with interesting values, cut short,
//! spliced; `.npy` headers declaring huge, negative or zero shapes and
//! wrong element types; archive members with a wrong CRC-32 or size,
//! dropped, repeated or renamed; `args.yaml` keys dropped or set to values
//! of the wrong type or out of range), and arbitrary bytes. Each reader
//! must
//!
//! - return `Ok` or `Err`, never panic (a panic fails the test);
//! - when it returns `Ok`, return something consistent (shapes that match
//!   the data, values finite where the format promises it, the original
//!   data when nothing was changed);
//! - allocate no more than the input justifies: [`bound`];
//! - finish (inputs are small; a hang shows as a test that does not end).
//!
//! Cases: a fixed number in CI; `PROPTEST_CASES=100000 cargo test
//! --release -p collop-io --test fuzz` for a long run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use collop_core::VelocityGrid;
use collop_fuzz::alloc::{CountingAlloc, peak_during};
use collop_fuzz::{bytes, npy, yaml_text, zip};
use collop_io::{
    DatasetMeta, IoError, NpzArchive, PicParameters, TrackData, TrackFile, TrackMember, TypedArray,
    read_dataset, read_dataset_raw, read_npy_f64, read_npz, read_npz_array, read_pic_parameters, write_npy,
    write_npz, write_npz_stored, write_tracks,
};
use ndarray::{Array1, Array2, Array3, ArrayD, ShapeBuilder};
use proptest::prelude::*;
use proptest::sample::Index;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Cases per property in CI (all of this file's properties together take a
/// few seconds in the test profile).
const CI_CASES: u32 = 192;

/// Fixed allowance of a parse: buffered readers (8 KiB each), the zip
/// reader's directory and decompressor state (about 100 KiB for deflate),
/// error messages.
const BASE: usize = 1 << 20;

/// The most memory a parse may take for an input of `stored` bytes held
/// as they are (`.npy`, stored archive members, text) and `compressed`
/// bytes of deflated archive members, which may hold up to 1032 times
/// their size (deflate's largest ratio).
///
/// For held bytes: the file read once (1x), the values decoded in their
/// own element type (at most 1x: no element is smaller than a byte), and
/// widened to float64 (at most 8x, for uint8), with room for one copy of
/// a buffer while it grows (hence 16x). A header that declares more
/// values than the file holds must be refused before allocating for
/// them, which this bound checks: 10^12 declared float64 values in a file
/// of a few hundred bytes would need 8 TB.
fn bound(stored: usize, compressed: usize) -> usize {
    BASE + 16 * (stored + 1032 * compressed)
}

/// Asserts the bound on one parse, naming the entry point.
fn check_peak(what: &str, peak: usize, limit: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        peak <= limit,
        "{what}: allocated {peak} bytes at once, more than the {limit} the input justifies"
    );
    Ok(())
}

/// Valid files written by collop's writers, as bytes.
struct Fixtures {
    /// `.npy` files: float64 C order, float32 Fortran order, int32, uint8,
    /// and the arrays they hold (widened to float64).
    npy: Vec<(Vec<u8>, ArrayD<f64>)>,
    /// An uncompressed typed archive (`write_npz_stored`), and its arrays.
    stored: Vec<u8>,
    /// A compressed archive (`write_npz`), and its arrays.
    compressed: Vec<u8>,
    /// Arrays of both archives: name and values as float64.
    arrays: Vec<(String, ArrayD<f64>)>,
    /// A track file (`write_tracks`) and what it holds.
    tracks: Vec<u8>,
    track_data: TrackData,
    /// The frames of a dataset (`write_dataset`), by dump, and the
    /// `args.yaml` key-value pairs.
    frames: Vec<(usize, Vec<u8>)>,
    args: Vec<(String, String)>,
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let mut npy_files = Vec::new();
        let a = Array2::from_shape_fn((3, 4), |(i, j)| i as f64 * 0.5 - j as f64);
        write_npy(&p, &a).unwrap();
        npy_files.push((file_bytes(&p), a.into_dyn()));
        let mut f = Array2::<f32>::zeros((2, 5).f());
        f.indexed_iter_mut().for_each(|((i, j), v)| *v = (i * 10 + j) as f32);
        write_npy(&p, &f).unwrap();
        npy_files.push((file_bytes(&p), f.mapv(f64::from).into_dyn()));
        let ints = Array1::from_vec(vec![-3i32, 0, 7, i32::MAX]);
        write_npy(&p, &ints).unwrap();
        npy_files.push((file_bytes(&p), ints.mapv(f64::from).into_dyn()));
        let small = Array2::from_shape_fn((4, 4), |(i, j)| (i * 4 + j) as u8);
        write_npy(&p, &small).unwrap();
        npy_files.push((file_bytes(&p), small.mapv(f64::from).into_dyn()));

        let x = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f64 + 0.25).into_dyn();
        let y = Array2::from_shape_fn((4, 2), |(i, j)| (i * 2 + j) as f32 - 1.5).into_dyn();
        let ids = Array1::from_vec(vec![0u64, 5, 1 << 40, 9]).into_dyn();
        let tags = Array1::from_vec(vec![1u32, 0, 3, 2]).into_dyn();
        let text = Array1::from_vec(b"seed = 1\n".to_vec()).into_dyn();
        let sp = dir.path().join("stored.npz");
        write_npz_stored(
            &sp,
            &[
                ("x", TypedArray::F64(x.view())),
                ("y", TypedArray::F32(y.view())),
                ("ids", TypedArray::U64(ids.view())),
                ("tags", TypedArray::U32(tags.view())),
                ("text", TypedArray::U8(text.view())),
            ],
        )
        .unwrap();
        let arrays = vec![
            ("x".to_string(), x.clone()),
            ("y".to_string(), y.mapv(f64::from)),
            ("ids".to_string(), ids.mapv(|v| v as f64)),
            ("tags".to_string(), tags.mapv(f64::from)),
            ("text".to_string(), text.mapv(f64::from)),
        ];
        let cp = dir.path().join("compressed.npz");
        let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
            arrays.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
        write_npz(&cp, &views).unwrap();

        let (dumps, particles) = (5, 4);
        let grid = |k: usize, i: usize| (k * particles + i) as f64 * 0.1;
        let track_data = TrackData {
            ids: vec![3, 1, 4, 1 << 50],
            times: (0..dumps).map(|k| k as f64 * 0.5).collect(),
            vx: Array2::from_shape_fn((dumps, particles), |(k, i)| grid(k, i)),
            vy: Array2::from_shape_fn((dumps, particles), |(k, i)| -grid(k, i)),
            vz: Array2::from_shape_fn(
                (dumps, particles),
                |(k, i)| if (k, i) == (2, 1) { f64::NAN } else { 0.0 },
            ),
            x: Some(Array2::from_shape_fn((dumps, particles), |(k, i)| grid(k, i) + 1.0)),
            y: Some(Array2::from_shape_fn((dumps, particles), |(k, i)| grid(k, i) + 2.0)),
            v_th_c: Some(0.05),
        };
        let tp = dir.path().join("tracks.npz");
        write_tracks(&tp, &track_data).unwrap();

        let ds = dir.path().join("ds");
        let vgrid = VelocityGrid::new(6, 5, [-3.0, 3.0], [-2.0, 2.0]).unwrap();
        let frames = Array3::from_shape_fn((3, 6, 5), |(k, i, j)| (1 + k + i * j) as f64);
        let meta = DatasetMeta::new(vgrid, 0.5, 2, 1.0)
            .with_v_range_c([-0.03, 0.03, -0.02, 0.02])
            .with_extra("ppc", 16)
            .with_extra("vth_c", 0.01)
            .with_extra("solver", "em")
            .with_extra("seed", 7);
        collop_io::write_dataset(&ds, &meta, frames.view()).unwrap();
        let frame_files = (2..5).map(|d| (d, file_bytes(&ds.join(collop_io::frame_file_name(d))))).collect();
        // The same args.yaml in flow style, one key per line (the form the
        // mutator writes); it must read as the metadata written.
        let args: Vec<(String, String)> = [
            ("dt", "0.5"),
            ("i_end", "-1"),
            ("i_start", "2"),
            ("n_bins", "[6, 5]"),
            ("ppc", "16"),
            ("seed", "7"),
            ("solver", "em"),
            ("t_start", "1.0"),
            ("v_range", "[-3.0, 3.0, -2.0, 2.0]"),
            ("v_range_c", "[-0.03, 0.03, -0.02, 0.02]"),
            ("v_range_c_units", "'[c]'"),
            ("v_range_units", "'[v_th]'"),
            ("vth_c", "0.01"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let flat: String = args.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        let read = DatasetMeta::from_yaml_str(&flat, Path::new("args.yaml")).unwrap();
        assert_eq!(read, collop_io::read_meta(&ds).unwrap(), "{flat}");
        Fixtures {
            npy: npy_files,
            stored: file_bytes(&sp),
            compressed: file_bytes(&cp),
            arrays,
            tracks: file_bytes(&tp),
            track_data,
            frames: frame_files,
            args,
        }
    })
}

/// A scratch folder per test thread, reused across cases.
fn scratch() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir().unwrap();
    }
    DIR.with(|d| d.path().to_path_buf())
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

/// Checks what the `.npy` reader returned for `bytes`.
fn check_npy(
    bytes: &[u8],
    original: Option<&ArrayD<f64>>,
    out: Result<ArrayD<f64>, IoError>,
) -> Result<(), TestCaseError> {
    match out {
        Ok(a) => {
            // Every value came from at least one byte of the file.
            prop_assert!(a.len() <= bytes.len(), "{} values from {} bytes", a.len(), bytes.len());
            prop_assert_eq!(a.len(), a.shape().iter().product::<usize>());
            if let Some(o) = original {
                prop_assert_eq!(&a, o, "an unchanged file reads back as written");
            }
        }
        Err(e) => {
            prop_assert!(matches!(e, IoError::Npy { .. } | IoError::UnsupportedDtype { .. }), "{e:?}");
            prop_assert!(e.to_string().contains("case.npy"), "the error names the file: {e}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(collop_fuzz::config(CI_CASES))]

    /// `.npy` files with mutated headers and bytes.
    #[test]
    fn npy_files_mutated(
        which in any::<Index>(),
        headers in prop::collection::vec(npy::mutation(), 0..3),
        changes in prop::collection::vec(bytes::mutation(), 0..4),
    ) {
        let (valid, array) = which.get(&fixtures().npy);
        let mut input = valid.clone();
        for h in &headers {
            input = h.apply(&input);
        }
        let input = bytes::apply_all(&input, &changes);
        let p = scratch().join("case.npy");
        write(&p, &input);
        let (out, peak) = peak_during(|| read_npy_f64(&p));
        check_peak("read_npy_f64", peak, bound(input.len(), 0))?;
        let unchanged = (input == *valid).then_some(array);
        check_npy(&input, unchanged, out)?;
    }

    /// Arbitrary bytes as a `.npy` file, with or without numpy's magic.
    #[test]
    fn npy_arbitrary_bytes(magic in any::<bool>(), tail in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut input = if magic { b"\x93NUMPY\x01\x00".to_vec() } else { Vec::new() };
        input.extend_from_slice(&tail);
        let p = scratch().join("case.npy");
        write(&p, &input);
        let (out, peak) = peak_during(|| read_npy_f64(&p));
        check_peak("read_npy_f64", peak, bound(input.len(), 0))?;
        check_npy(&input, None, out)?;
    }
}

/// Whether two arrays have the same shape and the same values bit for bit
/// (so that NaN equals NaN).
fn same_bits(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Runs every archive reader on the archive at `p` and checks what each
/// returns; `original` are the arrays when the archive is unchanged.
fn check_archive(
    p: &Path,
    len: usize,
    limit: usize,
    original: Option<&[(String, ArrayD<f64>)]>,
) -> Result<(), TestCaseError> {
    let names: Vec<String> = fixtures().arrays.iter().map(|(n, _)| n.clone()).collect();

    let (whole, peak) = peak_during(|| read_npz(p));
    check_peak("read_npz", peak, limit)?;
    match &whole {
        Ok(arrays) => {
            let total: usize = arrays.iter().map(|(_, a)| a.len()).sum();
            prop_assert!(limit >= BASE + 8 * total, "{total} values from {len} bytes");
            if let Some(o) = original {
                prop_assert_eq!(arrays.as_slice(), o);
            }
        }
        Err(e) => prop_assert!(e.to_string().contains(".npz"), "the error names the file: {e}"),
    }

    let (listed, peak) = peak_during(|| collop_io::npz_members(p));
    check_peak("npz_members", peak, limit)?;
    if let (Ok(listed), Some(o)) = (&listed, original) {
        let shapes: Vec<(String, Vec<usize>)> =
            o.iter().map(|(n, a)| (n.clone(), a.shape().to_vec())).collect();
        let got: Vec<(String, Vec<usize>)> =
            listed.iter().map(|m| (m.name.clone(), m.shape.clone())).collect();
        prop_assert_eq!(got, shapes);
    }

    for name in &names {
        let (one, peak) = peak_during(|| read_npz_array(p, name));
        check_peak("read_npz_array", peak, limit)?;
        if let Ok(a) = &one {
            prop_assert!(limit >= BASE + 8 * a.len());
            // The same member read whole agrees (bit for bit: NaN included).
            if let Ok(arrays) = &whole
                && let Some((_, w)) = arrays.iter().find(|(n, _)| n == name)
                && arrays.iter().filter(|(n, _)| n == name).count() == 1
            {
                prop_assert!(same_bits(a, w), "{a:?} != {w:?}");
            }
            if let Some(o) = original {
                prop_assert_eq!(Some(a), o.iter().find(|(n, _)| n == name).map(|(_, a)| a));
            }
        }
    }

    // Rows of the two 2D arrays with the same number of rows.
    let mut rows_seen = 0usize;
    let mut row_lengths_ok = true;
    let (streamed, peak) = peak_during(|| {
        collop_io::for_each_npz_row::<IoError>(p, &["x", "y"], |k, rows| {
            row_lengths_ok &= k == rows_seen && rows.len() == 2;
            rows_seen += 1;
            Ok(())
        })
    });
    check_peak("for_each_npz_row", peak, limit)?;
    prop_assert!(row_lengths_ok, "rows handed out in order, one per array");
    if streamed.is_ok() {
        let x = read_npz_array(p, "x");
        if let Ok(x) = x {
            prop_assert_eq!(rows_seen, x.shape()[0], "one call per row");
        }
        if original.is_some() {
            prop_assert_eq!(rows_seen, 4);
        }
    }

    let (typed, peak) = peak_during(|| -> Result<usize, IoError> {
        let mut a = NpzArchive::open(p)?;
        let mut values = 0;
        values += a.read_vec::<f64>("x").map(|v| v.0.len() * 8).unwrap_or(0);
        values += a.read_vec::<f32>("y").map(|v| v.0.len() * 4).unwrap_or(0);
        values += a.read_vec::<u64>("ids").map(|v| v.0.len() * 8).unwrap_or(0);
        values += a.read_vec::<u32>("tags").map(|v| v.0.len() * 4).unwrap_or(0);
        values += a.read_vec::<u8>("text").map(|v| v.0.len()).unwrap_or(0);
        Ok(values)
    });
    check_peak("NpzArchive::read", peak, limit)?;
    if let Ok(bytes) = typed {
        prop_assert!(BASE + bytes <= limit, "{bytes} bytes of values from {len} bytes");
    }
    Ok(())
}

proptest! {
    #![proptest_config(collop_fuzz::config(CI_CASES))]

    /// Uncompressed typed archives (`write_npz_stored`, the layout of
    /// checkpoints) with member- and byte-level mutations, through every
    /// archive reader.
    #[test]
    fn stored_archives_mutated((members, changes) in zip::mutations(3, 3)) {
        let valid = &fixtures().stored;
        let input = zip::mutate(valid, &members, &changes);
        let p = scratch().join("case.npz");
        write(&p, &input);
        let unchanged = (input == *valid).then_some(fixtures().arrays.as_slice());
        check_archive(&p, input.len(), bound(input.len(), 0), unchanged)?;
    }

    /// Compressed archives (`write_npz`, models and training checkpoints).
    #[test]
    fn compressed_archives_mutated((members, changes) in zip::mutations(2, 3)) {
        let valid = &fixtures().compressed;
        let input = zip::mutate(valid, &members, &changes);
        let p = scratch().join("case.npz");
        write(&p, &input);
        let unchanged = (input == *valid).then_some(fixtures().arrays.as_slice());
        check_archive(&p, input.len(), bound(0, input.len()), unchanged)?;
    }

    /// Arbitrary bytes as an archive, with or without a zip signature.
    #[test]
    fn archives_of_arbitrary_bytes(magic in any::<bool>(), tail in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut input = if magic { b"PK\x03\x04".to_vec() } else { Vec::new() };
        input.extend_from_slice(&tail);
        let p = scratch().join("case.npz");
        write(&p, &input);
        check_archive(&p, input.len(), bound(0, input.len()), None)?;
    }

    /// One flipped bit in the values of a stored member is always caught
    /// by its CRC-32, by every reader of that member.
    #[test]
    fn a_flipped_bit_in_stored_values_is_always_detected(member in any::<Index>(), at in any::<Index>(), bit in 0u8..8) {
        let valid = &fixtures().stored;
        let mut ms = zip::members(valid).expect("the writer's archive");
        let m = member.index(ms.len());
        // The values follow the .npy header, whose length is at bytes 8..10.
        let data = &mut ms[m].data;
        let header = 10 + usize::from(u16::from_le_bytes([data[8], data[9]]));
        prop_assume!(data.len() > header);
        let k = header + at.index(data.len() - header);
        data[k] ^= 1 << bit;
        let p = scratch().join("case.npz");
        write(&p, &zip::write(&ms));
        let name = String::from_utf8(ms[m].name.clone()).unwrap();
        let name = name.strip_suffix(".npy").unwrap();
        let e = read_npz_array(&p, name).unwrap_err().to_string();
        prop_assert!(e.contains("case.npz") && e.contains(&format!("array `{name}` is damaged")), "{e}");
        prop_assert!(read_npz(&p).is_err());
        let mut a = NpzArchive::open(&p).unwrap();
        let typed = match name {
            "x" => a.read::<f64>(name).map(|_| ()),
            "y" => a.read::<f32>(name).map(|_| ()),
            "ids" => a.read::<u64>(name).map(|_| ()),
            "tags" => a.read::<u32>(name).map(|_| ()),
            _ => a.read::<u8>(name).map(|_| ()),
        };
        prop_assert!(typed.unwrap_err().to_string().contains("damaged"));
        if name == "x" || name == "y" {
            let e = collop_io::for_each_npz_row::<IoError>(&p, &[name], |_, _| Ok(())).unwrap_err();
            prop_assert!(e.to_string().contains("damaged"), "{e}");
        }
    }
}

/// Opens and streams a track file; checks what comes back.
fn check_tracks(p: &Path, limit: usize, original: Option<&TrackData>) -> Result<(), TestCaseError> {
    let (opened, peak) = peak_during(|| TrackFile::open(p));
    check_peak("TrackFile::open", peak, limit)?;
    let t = match opened {
        Ok(t) => t,
        Err(e) => {
            prop_assert!(e.to_string().contains("tracks.npz"), "the error names the file: {e}");
            prop_assert!(original.is_none(), "the valid file opens: {e}");
            return Ok(());
        }
    };
    prop_assert!(t.times().iter().all(|x| x.is_finite()), "times are finite");
    prop_assert!(t.ids().iter().all(|&id| id <= 1 << 53), "ids are exact in float64");
    prop_assert!(t.v_th_c().is_none_or(|v| v.is_finite() && v > 0.0));
    prop_assert!(t.format_version() >= 1 && t.format_version() <= collop_io::TRACK_FORMAT_VERSION);
    let present: Vec<TrackMember> =
        TrackMember::ALL.into_iter().filter(|&m| m.is_per_dump() && t.has(m)).collect();
    let mut dumps = 0;
    let mut consistent = true;
    let (streamed, peak) = peak_during(|| {
        t.for_each_dump_of::<IoError>(&present, |k, time, rows| {
            consistent &= k == dumps
                && time == t.times()[k]
                && rows.len() == present.len()
                && rows.iter().all(|r| r.len() == t.particles());
            dumps += 1;
            Ok(())
        })
    });
    check_peak("TrackFile::for_each_dump_of", peak, limit)?;
    prop_assert!(consistent, "one row per member and particle, dumps in order");
    if streamed.is_ok() {
        prop_assert_eq!(dumps, t.dumps());
    }
    let (data, peak) = peak_during(|| t.read_data());
    check_peak("TrackFile::read_data", peak, limit)?;
    if let Ok(d) = &data {
        prop_assert_eq!(d.vx.shape(), &[t.dumps(), t.particles()]);
        prop_assert_eq!(d.vy.shape(), &[t.dumps(), t.particles()]);
        prop_assert_eq!(d.vz.shape(), &[t.dumps(), t.particles()]);
    }
    if let Some(o) = original {
        prop_assert!(streamed.is_ok());
        let d = data.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&d.ids, &o.ids);
        prop_assert_eq!(&d.times, &o.times);
        prop_assert_eq!(&d.vx, &o.vx);
    }
    Ok(())
}

proptest! {
    #![proptest_config(collop_fuzz::config(CI_CASES))]

    /// Track files (`write_tracks`) with member- and byte-level mutations.
    #[test]
    fn track_files_mutated((members, changes) in zip::mutations(2, 3)) {
        let f = fixtures();
        let input = zip::mutate(&f.tracks, &members, &changes);
        let p = scratch().join("tracks.npz");
        write(&p, &input);
        let unchanged = (input == f.tracks).then_some(&f.track_data);
        check_tracks(&p, bound(0, input.len()), unchanged)?;
    }

    /// Track files of stored members, so that header mutations (shapes,
    /// element types) reach the readers past the CRC-32.
    #[test]
    fn track_files_with_stored_members_mutated((members, changes) in zip::mutations(3, 1)) {
        let f = fixtures();
        // The same members, decompressed: read each with the reader under
        // test on the valid file, then store it.
        let p = scratch().join("tracks.npz");
        let arrays = {
            write(&p, &f.tracks);
            read_npz(&p).unwrap()
        };
        let views: Vec<(&str, TypedArray<'_>)> =
            arrays.iter().map(|(n, a)| (n.as_str(), TypedArray::F64(a.view()))).collect();
        std::fs::remove_file(&p).unwrap();
        write_npz_stored(&p, &views).unwrap();
        let valid = std::fs::read(&p).unwrap();
        let input = zip::mutate(&valid, &members, &changes);
        write(&p, &input);
        let unchanged = (input == valid).then_some(&f.track_data);
        check_tracks(&p, bound(input.len(), 0), unchanged)?;
    }
}

/// What a folder's reader may return for a mutated dataset.
fn check_dataset(folder: &Path, limit: usize, unchanged: bool) -> Result<(), TestCaseError> {
    for normalise in [true, false] {
        let (out, peak) =
            peak_during(|| if normalise { read_dataset(folder) } else { read_dataset_raw(folder) });
        check_peak("read_dataset", peak, limit)?;
        match out {
            Ok(d) => {
                let (nx, ny) = d.meta.grid.shape();
                prop_assert_eq!(d.series.frames.shape()[1..].to_vec(), vec![nx, ny], "frames on the grid");
                prop_assert!(!d.series.frames.is_empty());
                prop_assert!(
                    d.series.frames.iter().all(|v| v.is_finite() && *v >= 0.0),
                    "finite, non-negative"
                );
                prop_assert!(d.norm.is_finite() && d.norm > 0.0);
                prop_assert!(d.meta.dt.is_finite() && d.meta.dt > 0.0);
                prop_assert!(d.meta.t_start.is_finite());
                prop_assert!(d.meta.i_end.is_none_or(|e| e > d.meta.i_start));
                if normalise {
                    prop_assert!((d.series.frame(0).sum() - 1.0).abs() < 1e-9, "the first frame sums to one");
                }
                if unchanged {
                    prop_assert_eq!(d.series.frames.shape(), &[3, 6, 5]);
                }
            }
            Err(e) => {
                prop_assert!(!unchanged, "the valid dataset reads: {e}");
                prop_assert!(e.path().starts_with(folder), "the error names the file: {e}");
            }
        }
    }
    let (pic, peak) = peak_during(|| read_pic_parameters(folder));
    check_peak("read_pic_parameters", peak, limit)?;
    if let Ok(p) = pic {
        prop_assert!(p.ppc.is_none_or(|n| n >= 1));
        prop_assert!(p.vth_c.is_none_or(|v| v.is_finite() && v > 0.0));
        if unchanged {
            prop_assert_eq!(p.ppc, Some(16));
            prop_assert_eq!(p.seed, Some(7));
        }
    }
    Ok(())
}

/// A change of the set of frame files of a dataset.
#[derive(Debug, Clone)]
enum FrameChange {
    /// The frame's bytes mutated.
    Bytes { frame: Index, header: Option<npy::NpyMutation>, changes: Vec<bytes::ByteMutation> },
    /// A frame removed (a gap, or no frame at all).
    Remove { frame: Index },
    /// A copy of a frame under another dump number.
    Copy { frame: Index, dump: usize },
}

fn frame_change() -> impl Strategy<Value = FrameChange> {
    prop_oneof![
        4 => (any::<Index>(), prop::option::of(npy::mutation()), prop::collection::vec(bytes::mutation(), 0..3))
            .prop_map(|(frame, header, changes)| FrameChange::Bytes { frame, header, changes }),
        1 => any::<Index>().prop_map(|frame| FrameChange::Remove { frame }),
        1 => (any::<Index>(), 0usize..8).prop_map(|(frame, dump)| FrameChange::Copy { frame, dump }),
    ]
}

proptest! {
    #![proptest_config(collop_fuzz::config(CI_CASES))]

    /// Dataset folders with a mutated `args.yaml` and mutated, missing or
    /// extra frames.
    #[test]
    fn dataset_folders_mutated(
        args in prop::option::of(yaml_text::mutations(3)),
        frames in prop::collection::vec(frame_change(), 0..3),
    ) {
        let f = fixtures();
        let folder = scratch().join("dataset");
        if folder.exists() {
            std::fs::remove_dir_all(&folder).unwrap();
        }
        std::fs::create_dir_all(&folder).unwrap();
        let text = yaml_text::mutate(&f.args, args.as_deref().unwrap_or_default());
        write(&folder.join(collop_io::ARGS_FILE), text.as_bytes());
        let mut files: Vec<(usize, Vec<u8>)> = f.frames.clone();
        for c in &frames {
            if files.is_empty() {
                break;
            }
            match c {
                FrameChange::Bytes { frame, header, changes } => {
                    let k = frame.index(files.len());
                    let mut b = files[k].1.clone();
                    if let Some(h) = header {
                        b = h.apply(&b);
                    }
                    files[k].1 = bytes::apply_all(&b, changes);
                }
                FrameChange::Remove { frame } => {
                    files.remove(frame.index(files.len()));
                }
                FrameChange::Copy { frame, dump } => {
                    let b = files[frame.index(files.len())].1.clone();
                    files.retain(|(d, _)| d != dump);
                    files.push((*dump, b));
                }
            }
        }
        let mut total = text.len();
        for (dump, b) in &files {
            write(&folder.join(collop_io::frame_file_name(*dump)), b);
            total += b.len();
        }
        let unchanged = args.is_none() && files == f.frames;
        check_dataset(&folder, bound(total, 0), unchanged)?;
    }

    /// `args.yaml` text, mutated or arbitrary, through the metadata and
    /// PIC-parameter readers.
    #[test]
    fn args_yaml_mutated(args in yaml_text::mutations(4), junk in prop::option::of("[ -~\n]{0,200}")) {
        let text = match &junk {
            Some(j) => j.clone(),
            None => yaml_text::mutate(&fixtures().args, &args),
        };
        let path = Path::new("data/args.yaml");
        let (meta, peak) = peak_during(|| DatasetMeta::from_yaml_str(&text, path));
        check_peak("DatasetMeta::from_yaml_str", peak, bound(text.len(), 0))?;
        match meta {
            Ok(m) => {
                // What is read can be written back, and reads back the same.
                prop_assert!(m.validate().is_ok(), "{:?}", m.validate());
                let again = m.to_yaml_string().map_err(TestCaseError::fail)?;
                let back = DatasetMeta::from_yaml_str(&again, path).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back.grid, m.grid);
                prop_assert_eq!(back.i_start, m.i_start);
                prop_assert_eq!(back.i_end, m.i_end);
                let (pic, peak) = peak_during(|| PicParameters::from_extras(&m.extra, path));
                check_peak("PicParameters::from_extras", peak, bound(text.len(), 0))?;
                if let Err(e) = pic {
                    prop_assert!(e.to_string().contains("data/args.yaml"), "{e}");
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("data/args.yaml"), "the error names the file: {e}"),
        }
    }
}
/// The mutators' archive writer is understood by the readers: an
/// archive taken apart and put back unchanged reads as written.
#[test]
fn archives_rebuilt_by_the_mutator_read_as_written() {
    let f = fixtures();
    let p = scratch().join("rebuilt.npz");
    for valid in [&f.stored, &f.compressed] {
        let members = zip::members(valid).expect("the writer's archive is understood");
        write(&p, &zip::write(&members));
        assert_eq!(read_npz(&p).unwrap(), f.arrays);
    }
}
// Regressions found by the properties above, kept as fixed cases.

/// A `.npy` file of format version 2 whose 4-byte header length is huge:
/// ndarray-npy allocated the declared length (up to 4 GiB) before reading;
/// now a length above numpy's own limit is refused first.
#[test]
fn a_huge_header_length_is_refused_before_allocating() {
    let p = scratch().join("long-header.npy");
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&0x7fff_fff0u32.to_le_bytes());
    bytes.extend_from_slice(b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n");
    bytes.extend_from_slice(&[0; 8]);
    write(&p, &bytes);
    let (out, peak) = peak_during(|| read_npy_f64(&p));
    let e = out.unwrap_err().to_string();
    assert!(e.contains("long-header.npy") && e.contains("declares 2147483632 bytes"), "{e}");
    assert!(peak < BASE, "{peak} bytes");

    // The same member in an archive, through the readers of members.
    let a = scratch().join("long-header.npz");
    let member = zip::Member {
        name: b"x.npy".to_vec(),
        method: 0,
        crc: zip::crc32(&bytes),
        size: bytes.len() as u32,
        data: bytes,
    };
    write(&a, &zip::write(&[member]));
    let (out, peak) = peak_during(|| collop_io::npz_members(&a));
    let e = out.unwrap_err().to_string();
    assert!(e.contains("array `x` has an unreadable .npy header") && e.contains("declares"), "{e}");
    assert!(peak < BASE, "{peak} bytes");
    let (out, peak) = peak_during(|| collop_io::for_each_npz_row::<IoError>(&a, &["x"], |_, _| Ok(())));
    assert!(out.unwrap_err().to_string().contains("declares"));
    assert!(peak < BASE, "{peak} bytes");
    let (out, peak) = peak_during(|| read_npz(&a));
    assert!(out.unwrap_err().to_string().contains("declares"));
    assert!(peak < BASE, "{peak} bytes");
}

/// An archive whose directory gives a member a size of 2 GiB: the reader
/// reserved that much (up to 1 GiB) before reading; now the size is
/// trusted only as far as the member's bytes in the file can hold it.
#[test]
fn a_corrupt_member_size_reserves_no_memory() {
    let f = fixtures();
    for (valid, deflated) in [(&f.stored, false), (&f.compressed, true)] {
        let mut members = zip::members(valid).unwrap();
        for m in &mut members {
            m.size = 0x7fff_ffff;
        }
        let input = zip::write(&members);
        let p = scratch().join("sizes.npz");
        write(&p, &input);
        let (out, peak) = peak_during(|| read_npz(&p));
        // The values and their CRC-32 are intact: read as written, or
        // refused naming the file.
        match out {
            Ok(arrays) => assert_eq!(arrays, f.arrays),
            Err(e) => assert!(e.to_string().contains("sizes.npz"), "{e}"),
        }
        let limit = if deflated { bound(0, input.len()) } else { bound(input.len(), 0) };
        assert!(peak <= limit, "{peak} bytes for a file of {}", input.len());
        let (out, peak) = peak_during(|| read_npz_array(&p, "x"));
        assert!(out.is_ok_and(|x| x == f.arrays[0].1) || !deflated, "deflated values read to their end");
        assert!(peak <= limit, "{peak} bytes for a file of {}", input.len());
    }
}

/// Shapes whose number of values overflows: the row reader and the track
/// reader multiplied the sizes unchecked (a panic with overflow checks, a
/// wrong size without); now refused naming the array.
#[test]
fn shapes_whose_size_overflows_are_refused() {
    let p = scratch().join("overflow.npz");
    let mut members = zip::members(&fixtures().stored).unwrap();
    for m in &mut members {
        m.data = npy::NpyMutation::Shape("(4, 20892011, 882956842868)".into()).apply(&m.data);
        m.crc = zip::crc32(&m.data);
        m.size = m.data.len() as u32;
    }
    write(&p, &zip::write(&members));
    let e = collop_io::for_each_npz_row::<IoError>(&p, &["x"], |_, _| Ok(())).unwrap_err().to_string();
    assert!(e.contains("array `x`") && e.contains("more values than memory can address"), "{e}");

    // A track file whose single-value member has such a shape.
    let t = scratch().join("tracks.npz");
    let arrays = {
        write(&t, &fixtures().tracks);
        read_npz(&t).unwrap()
    };
    let views: Vec<(&str, TypedArray<'_>)> =
        arrays.iter().map(|(n, a)| (n.as_str(), TypedArray::F64(a.view()))).collect();
    std::fs::remove_file(&t).unwrap();
    write_npz_stored(&t, &views).unwrap();
    let mut members = zip::members(&std::fs::read(&t).unwrap()).unwrap();
    let v = members.iter_mut().find(|m| m.name == b"v_th_c.npy").unwrap();
    v.data = npy::NpyMutation::Shape("(25611860, 720242265643)".into()).apply(&v.data);
    v.crc = zip::crc32(&v.data);
    v.size = v.data.len() as u32;
    write(&t, &zip::write(&members));
    let e = TrackFile::open(&t).unwrap_err().to_string();
    assert!(e.contains("v_th_c") && e.contains("a single value"), "{e}");
}

/// `v_range_c` with max < min was read, and the metadata then refused by
/// its own writer; now refused on reading, naming the key.
#[test]
fn an_inverted_v_range_c_is_refused_on_reading() {
    let f = fixtures();
    let mut args = f.args.clone();
    args.iter_mut().find(|(k, _)| k == "v_range_c").unwrap().1 = "[-5.0, 5.0, 5.0, -5.0]".into();
    let text: String = args.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    let e = DatasetMeta::from_yaml_str(&text, Path::new("data/args.yaml")).unwrap_err().to_string();
    assert!(e.contains("data/args.yaml") && e.contains("v_range_c") && e.contains("max > min"), "{e}");
}

/// An `args.yaml` declaring a huge grid next to small frames: the reader
/// reserved `frames x nx x ny` values from `n_bins` before reading a frame
/// (a panic when the product overflows, else gigabytes); now the frames
/// are read first, and refused as not on the declared grid.
#[test]
fn a_huge_declared_grid_reserves_no_memory() {
    let f = fixtures();
    for n_bins in ["4294967296", "[100000, 100000]", "[6, 1000000000000]"] {
        let folder = scratch().join("huge-grid");
        if folder.exists() {
            std::fs::remove_dir_all(&folder).unwrap();
        }
        std::fs::create_dir_all(&folder).unwrap();
        let mut args = f.args.clone();
        args.iter_mut().find(|(k, _)| k == "n_bins").unwrap().1 = n_bins.into();
        let text: String = args.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        write(&folder.join(collop_io::ARGS_FILE), text.as_bytes());
        let mut total = text.len();
        for (dump, b) in &f.frames {
            write(&folder.join(collop_io::frame_file_name(*dump)), b);
            total += b.len();
        }
        let (out, peak) = peak_during(|| read_dataset(&folder));
        let e = out.unwrap_err();
        assert!(matches!(e, IoError::GridMismatch { .. }), "{n_bins}: {e:?}");
        assert!(peak <= bound(total, 0), "{n_bins}: {peak} bytes");
    }
}

/// An `args.yaml` whose aliases nest (`b: [*a, *a, ...]`, `c: [*b, ...]`):
/// the YAML loader copies the anchored value at every alias, so a few
/// hundred bytes expanded to millions of values (ten levels: billions, all
/// memory); now the expansion is counted before loading and refused.
#[test]
fn nested_yaml_aliases_are_refused_before_expanding() {
    let f = fixtures();
    let mut text: String = f.args.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    text.push_str("l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
    for level in 1..6 {
        let prev = format!("*l{}", level - 1);
        text.push_str(&format!("l{level}: &l{level} [{}]\n", vec![prev; 10].join(", ")));
    }
    let (out, peak) = peak_during(|| DatasetMeta::from_yaml_str(&text, Path::new("data/args.yaml")));
    let e = out.map(|_| ()).expect_err("refused").to_string();
    assert!(e.contains("data/args.yaml") && e.contains("aliases"), "{e}");
    assert!(peak <= bound(text.len(), 0), "{peak} bytes from {} bytes of text", text.len());

    // A few aliases of small values, as PyYAML writes for a list used
    // twice, still read.
    let mut text: String = f.args.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    text.push_str("window: &id001 [-5.0, 5.0]\nsame_window: *id001\nalso: *id001\n");
    let m = DatasetMeta::from_yaml_str(&text, Path::new("data/args.yaml")).unwrap();
    assert_eq!(m.extra["also"], m.extra["window"]);
}

/// A first frame of tiny values (here, float64 read as big-endian) next to
/// ordinary frames: dividing by its sum overflowed to infinity and the
/// dataset was returned with infinite values; now refused naming the frame.
#[test]
fn a_normalisation_that_overflows_is_refused() {
    let folder = scratch().join("tiny-first");
    if folder.exists() {
        std::fs::remove_dir_all(&folder).unwrap();
    }
    let grid = VelocityGrid::new(6, 5, [-3.0, 3.0], [-2.0, 2.0]).unwrap();
    let frames = Array3::from_shape_fn((3, 6, 5), |(k, _, _)| if k == 0 { 1e-310 } else { 1e10 });
    collop_io::write_dataset(&folder, &DatasetMeta::new(grid, 0.5, 0, 0.0), frames.view()).unwrap();
    let e = read_dataset(&folder).unwrap_err().to_string();
    assert!(e.contains("000001.npy") && e.contains("divided by the first used frame's sum"), "{e}");
    // Without normalisation the stored values are read as they are.
    assert_eq!(read_dataset_raw(&folder).unwrap().series.frames, frames);
}

/// The same nested aliases followed by a syntax error: the loader expanded
/// the aliases before it reached the error (43 MB for 1 KB of text).
#[test]
fn nested_yaml_aliases_before_a_syntax_error_are_refused_before_expanding() {
    let f = fixtures();
    let mut text = String::from("dt: [&l0 [1, 1, 1, 1, 1, 1, 1, 1]");
    for level in 1..6 {
        text.push_str(&format!(", &l{level} [{}]", vec![format!("*l{}", level - 1); 8].join(", ")));
    }
    text.push_str("]\ni_end: *undefined\n");
    text.extend(f.args.iter().skip(2).map(|(k, v)| format!("{k}: {v}\n")));
    let (out, peak) = peak_during(|| DatasetMeta::from_yaml_str(&text, Path::new("data/args.yaml")));
    let e = out.map(|_| ()).expect_err("refused").to_string();
    assert!(e.contains("data/args.yaml") && e.contains("aliases"), "{e}");
    assert!(peak <= bound(text.len(), 0), "{peak} bytes from {} bytes of text", text.len());
}

/// A member whose header declares rows of a million values and whose
/// directory entry a size of 2 GiB: the row reader trusted the directory's
/// size and reserved the row (8 MB for a file of 1 KB); now the size is
/// trusted only as far as the member's bytes in the file can hold it.
#[test]
fn a_declared_row_beyond_the_members_bytes_reserves_no_memory() {
    let mut members = zip::members(&fixtures().stored).unwrap();
    let x = members.iter_mut().find(|m| m.name == b"x.npy").unwrap();
    x.data = npy::NpyMutation::Shape("(1000000, 1000000)".into()).apply(&x.data);
    x.crc = zip::crc32(&x.data);
    x.size = 0x7fff_ffff;
    let input = zip::write(&members);
    let p = scratch().join("rows.npz");
    write(&p, &input);
    let (out, peak) = peak_during(|| collop_io::for_each_npz_row::<IoError>(&p, &["x"], |_, _| Ok(())));
    let e = out.unwrap_err().to_string();
    assert!(e.contains("array `x`") && e.contains("does not fit the member's size"), "{e}");
    assert!(peak <= bound(input.len(), 0), "{peak} bytes for a file of {}", input.len());
}
