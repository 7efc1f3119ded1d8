//! Track files (`tracks.npz`): the writer and the reader agree, files
//! written before `format_version` existed still read, and every bad file
//! gives its own error naming the member.

use std::path::Path;

use collop_io::{
    IoError, TRACK_FORMAT_VERSION, TrackData, TrackFile, TrackMember, npz_members, read_npz, write_npz,
    write_tracks,
};
use ndarray::{Array1, Array2, ArrayD};

/// Three dumps of four particles with distinct values everywhere.
fn data(positions: bool) -> TrackData {
    let (d, n) = (3, 4);
    let field = |c: f64| Array2::from_shape_fn((d, n), |(k, i)| c + 10.0 * k as f64 + 0.25 * i as f64);
    TrackData {
        ids: vec![3, 8, 21, 1 << 40],
        times: vec![0.0, 2.5, 5.0],
        vx: field(-1.0),
        vy: field(0.5),
        vz: field(7.0),
        x: positions.then(|| field(100.0)),
        y: positions.then(|| field(200.0)),
        v_th_c: Some(0.01),
    }
}

/// The arrays exactly as collop pic wrote them before `format_version`
/// existed (same names, order, element type).
fn old_members(d: &TrackData) -> Vec<(String, ArrayD<f64>)> {
    let mut out = vec![
        ("ids".to_string(), Array1::from_iter(d.ids.iter().map(|&i| i as f64)).into_dyn()),
        ("t".to_string(), Array1::from_vec(d.times.clone()).into_dyn()),
        ("v_th_c".to_string(), Array1::from_vec(vec![d.v_th_c.unwrap()]).into_dyn()),
        ("vx".to_string(), d.vx.clone().into_dyn()),
        ("vy".to_string(), d.vy.clone().into_dyn()),
        ("vz".to_string(), d.vz.clone().into_dyn()),
    ];
    if let (Some(x), Some(y)) = (&d.x, &d.y) {
        out.push(("x".to_string(), x.clone().into_dyn()));
        out.push(("y".to_string(), y.clone().into_dyn()));
    }
    out
}

fn write_members(path: &Path, members: &[(String, ArrayD<f64>)]) {
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        members.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    write_npz(path, &views).unwrap();
}

#[test]
fn written_tracks_read_back_with_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tracks.npz");
    let d = data(true);
    write_tracks(&p, &d).unwrap();

    let f = TrackFile::open(&p).unwrap();
    assert_eq!(f.path(), p);
    assert_eq!(f.format_version(), TRACK_FORMAT_VERSION);
    assert_eq!((f.dumps(), f.particles()), (3, 4));
    assert_eq!(f.times(), &[0.0, 2.5, 5.0]);
    assert_eq!(f.ids(), &[3, 8, 21, 1 << 40]);
    assert_eq!(f.v_th_c(), Some(0.01));
    assert!(f.has_positions() && f.has(TrackMember::Vz) && f.has(TrackMember::FormatVersion));
    assert_eq!(f.read_data().unwrap(), d);

    // Streaming hands over every dump in order with its time and rows.
    let mut seen = Vec::new();
    f.for_each_dump::<IoError>(|rows| {
        assert_eq!(rows.vx, d.vx.row(rows.dump).to_vec().as_slice());
        assert_eq!(rows.vy, d.vy.row(rows.dump).to_vec().as_slice());
        seen.push((rows.dump, rows.time));
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, vec![(0, 0.0), (1, 2.5), (2, 5.0)]);
    let mut n = 0;
    f.for_each_dump_of::<IoError>(&[TrackMember::Vz, TrackMember::X, TrackMember::Y], |k, t, rows| {
        assert_eq!(t, d.times[k]);
        assert_eq!(rows[0], d.vz.row(k).to_vec());
        assert_eq!(rows[1], d.x.as_ref().unwrap().row(k).to_vec());
        assert_eq!(rows[2], d.y.as_ref().unwrap().row(k).to_vec());
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 3);
}

#[test]
fn the_layout_is_the_old_one_plus_format_version() {
    let dir = tempfile::tempdir().unwrap();
    for positions in [true, false] {
        let (new, old) = (dir.path().join("new.npz"), dir.path().join("old.npz"));
        let d = data(positions);
        write_tracks(&new, &d).unwrap();
        write_members(&old, &old_members(&d));
        let (a, b) = (npz_members(&new).unwrap(), npz_members(&old).unwrap());
        assert_eq!(a.len(), b.len() + 1);
        assert_eq!(&a[..b.len()], &b[..], "same names, order, shapes and element types");
        assert_eq!(a[b.len()].name, "format_version");
        assert_eq!(a[b.len()].shape, vec![1]);
        let (va, vb) = (read_npz(&new).unwrap(), read_npz(&old).unwrap());
        assert_eq!(&va[..vb.len()], &vb[..], "same values");
        assert_eq!(va[vb.len()].1.iter().copied().collect::<Vec<_>>(), vec![f64::from(TRACK_FORMAT_VERSION)]);
    }
}

#[test]
fn files_without_format_version_read_as_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("old.npz");
    let d = data(false);
    write_members(&p, &old_members(&d));
    let f = TrackFile::open(&p).unwrap();
    assert_eq!(f.format_version(), 1);
    assert!(!f.has(TrackMember::FormatVersion) && !f.has_positions());
    assert_eq!(f.read_data().unwrap(), d);
    let mut rows = 0;
    f.for_each_dump::<IoError>(|r| {
        assert_eq!(r.vx, d.vx.row(r.dump).to_vec().as_slice());
        rows += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(rows, 3);
    // Asking for positions the file does not hold names the member.
    let e = f.for_each_dump_of::<IoError>(&[TrackMember::X], |_, _, _| Ok(())).unwrap_err();
    assert!(matches!(&e, IoError::MissingMember { member, .. } if member == "x"), "{e:?}");
    let e = f.for_each_dump_of::<IoError>(&[TrackMember::T], |_, _, _| Ok(())).unwrap_err();
    assert!(matches!(&e, IoError::BadMember { member, .. } if member == "t"), "{e:?}");
}

#[test]
fn optional_members_may_be_absent_and_callers_may_edit_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tracks.npz");
    let d = TrackData { v_th_c: None, ..data(false) };
    write_tracks(&p, &d).unwrap();
    let f = TrackFile::open(&p).unwrap();
    assert_eq!(f.v_th_c(), None);
    assert!(!f.has(TrackMember::VThC));
    assert_eq!(f.read_data().unwrap(), d);
    // Rows can be converted in place, and an error of the callback stops the stream.
    #[derive(Debug)]
    enum Stop {
        Here,
        Io,
    }
    impl From<IoError> for Stop {
        fn from(_: IoError) -> Self {
            Stop::Io
        }
    }
    let mut last = 0;
    let e = f
        .for_each_dump::<Stop>(|r| {
            r.vx.iter_mut().for_each(|v| *v *= 2.0);
            assert_eq!(r.vx[0], 2.0 * d.vx[[r.dump, 0]]);
            last = r.dump;
            if r.dump == 1 { Err(Stop::Here) } else { Ok(()) }
        })
        .unwrap_err();
    assert!(matches!(e, Stop::Here) && last == 1, "{e:?} {last}");
}

/// Writes `d`'s old-style members with `change` applied, then opens the file.
fn open_changed(change: impl FnOnce(&mut Vec<(String, ArrayD<f64>)>)) -> IoError {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.npz");
    let mut members = old_members(&data(true));
    change(&mut members);
    write_members(&p, &members);
    let e = TrackFile::open(&p).unwrap_err();
    assert!(e.to_string().contains("bad.npz"), "{e}");
    e
}

fn set(members: &mut [(String, ArrayD<f64>)], name: &str, value: ArrayD<f64>) {
    members.iter_mut().find(|(n, _)| n == name).unwrap().1 = value;
}

#[test]
fn a_missing_member_is_named() {
    for name in ["ids", "t", "vx", "vy", "vz"] {
        let e = open_changed(|m| m.retain(|(n, _)| n != name));
        assert!(matches!(&e, IoError::MissingMember { member, .. } if member == name), "{name}: {e:?}");
        let msg = e.to_string();
        assert!(msg.contains(&format!("no array `{name}`")) && msg.contains("write_tracks"), "{msg}");
    }
}

#[test]
fn inconsistent_shapes_are_named() {
    let cases: Vec<(&str, ArrayD<f64>)> = vec![
        ("vy", Array2::<f64>::zeros((3, 5)).into_dyn()),
        ("vz", Array2::<f64>::zeros((2, 4)).into_dyn()),
        ("x", Array1::<f64>::zeros(12).into_dyn()),
        ("t", Array2::<f64>::zeros((3, 1)).into_dyn()),
        ("ids", Array2::<f64>::zeros((4, 1)).into_dyn()),
        ("v_th_c", Array1::from_vec(vec![0.01, 0.02]).into_dyn()),
    ];
    for (name, value) in cases {
        let shape = value.shape().to_vec();
        let e = open_changed(|m| set(m, name, value));
        assert!(
            matches!(&e, IoError::MemberShape { member, shape: s, .. } if member == name && *s == shape),
            "{name}: {e:?}"
        );
        assert!(e.to_string().contains(&format!("`{name}` has shape")), "{e}");
    }
    // `t` longer than the rows of vx: named against the lengths of t and ids.
    let e = open_changed(|m| set(m, "t", Array1::from_vec(vec![0.0, 1.0, 2.0, 3.0]).into_dyn()));
    assert!(matches!(&e, IoError::MemberShape { member, .. } if member == "vx"), "{e:?}");
    assert!(e.to_string().contains("(4, 4)"), "{e}");
}

#[test]
fn bad_values_are_named() {
    for t in [f64::NAN, f64::INFINITY] {
        let e = open_changed(|m| set(m, "t", Array1::from_vec(vec![0.0, t, 5.0]).into_dyn()));
        assert!(matches!(&e, IoError::BadMember { member, .. } if member == "t"), "{e:?}");
        assert!(e.to_string().contains("at dump 1") && e.to_string().contains("finite"), "{e}");
    }
    for v in [0.0, -0.01, f64::NAN] {
        let e = open_changed(|m| set(m, "v_th_c", Array1::from_vec(vec![v]).into_dyn()));
        assert!(matches!(&e, IoError::BadMember { member, .. } if member == "v_th_c"), "{v}: {e:?}");
        assert!(e.to_string().contains("> 0"), "{e}");
    }
    for id in [-1.0, 2.5] {
        let e = open_changed(|m| set(m, "ids", Array1::from_vec(vec![0.0, id, 2.0, 3.0]).into_dyn()));
        assert!(matches!(&e, IoError::BadMember { member, .. } if member == "ids"), "{id}: {e:?}");
        assert!(e.to_string().contains("at particle 1"), "{e}");
    }
    let e = open_changed(|m| m.push(("format_version".into(), Array1::from_vec(vec![2.0]).into_dyn())));
    assert!(matches!(&e, IoError::BadMember { member, .. } if member == "format_version"), "{e:?}");
    assert!(e.to_string().contains("newer collop"), "{e}");
    let e = open_changed(|m| m.push(("format_version".into(), Array1::from_vec(vec![0.5]).into_dyn())));
    assert!(matches!(&e, IoError::BadMember { member, .. } if member == "format_version"), "{e:?}");
}

#[test]
fn the_writer_refuses_what_the_reader_would_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tracks.npz");
    let mut shape = data(true);
    shape.vy = Array2::zeros((3, 3));
    let mut time = data(false);
    time.times[2] = f64::NAN;
    let mut vth = data(false);
    vth.v_th_c = Some(-1.0);
    let mut id = data(false);
    id.ids[0] = (1 << 53) + 1;
    let mut positions = data(true);
    positions.y = Some(Array2::zeros((4, 3)));
    for (d, member) in [(shape, "vy"), (time, "t"), (vth, "v_th_c"), (id, "ids"), (positions, "y")] {
        let e = write_tracks(&p, &d).unwrap_err();
        let named = match &e {
            IoError::MemberShape { member: m, .. } | IoError::BadMember { member: m, .. } => m == member,
            _ => false,
        };
        assert!(named, "{member}: {e:?}");
        assert!(!p.exists(), "{member}: nothing written");
    }
}

#[test]
fn corrupt_archives_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tracks.npz");
    std::fs::write(&p, b"PK not a zip").unwrap();
    let e = TrackFile::open(&p).unwrap_err();
    assert!(matches!(e, IoError::Npz { .. }), "{e:?}");
    let e = TrackFile::open(dir.path().join("absent.npz")).unwrap_err();
    assert!(matches!(e, IoError::Io { .. }), "{e:?}");
}

/// A track file saved by numpy's `np.savez` (members uncompressed) with one
/// bit of one velocity flipped on disk: streaming it is an error naming the
/// file and the member, not a changed estimate.
#[test]
fn a_flipped_bit_in_a_track_file_is_an_error_naming_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tracks.npz");
    let d = data(false);
    let members = old_members(&d);
    let typed: Vec<(&str, collop_io::TypedArray<'_>)> =
        members.iter().map(|(n, a)| (n.as_str(), collop_io::TypedArray::F64(a.view()))).collect();
    collop_io::write_npz_stored(&p, &typed).unwrap();
    let f = TrackFile::open(&p).unwrap();
    let sum = |f: &TrackFile| {
        let mut s = 0.0;
        f.for_each_dump::<IoError>(|rows| {
            s += rows.vx.iter().sum::<f64>();
            Ok(())
        })
        .map(|()| s)
    };
    assert_eq!(sum(&f).unwrap(), d.vx.sum());

    // vx[1, 2] = -1 + 10 + 0.5 = 9.5, found by its bytes.
    let mut bytes = std::fs::read(&p).unwrap();
    let at = bytes.windows(8).position(|w| w == 9.5f64.to_le_bytes()).unwrap();
    bytes[at + 5] ^= 0x04;
    std::fs::write(&p, &bytes).unwrap();
    let f = TrackFile::open(&p).unwrap();
    let e = sum(&f).unwrap_err().to_string();
    assert!(e.contains("tracks.npz") && e.contains("array `vx` is damaged"), "{e}");
    assert!(e.contains("checksum") && e.contains("restore the file from a copy or regenerate it"), "{e}");
}
