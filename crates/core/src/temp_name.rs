//! The names of the temporary files collop's atomic writers create beside
//! their targets (`.NAME.collop-tmp-PID-N`, renamed onto `NAME` once
//! complete): one convention for every writer (the io crate's files, the
//! plot crate's pictures), so that a file a killed process left behind is
//! recognised and removed by whoever next owns the directory.

/// Marker inside every temporary name.
pub const TEMP_MARKER: &str = ".collop-tmp-";

/// The temporary name for the file `name`, for process `pid`, the `n`-th
/// of the process's writes.
pub fn temp_name(name: &str, pid: u32, n: u64) -> String {
    format!(".{name}{TEMP_MARKER}{pid}-{n}")
}

/// Whether `name` is a temporary name of [`temp_name`]'s form.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMP_MARKER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_recognised() {
        let t = temp_name("radial.png", 17, 2);
        assert_eq!(t, ".radial.png.collop-tmp-17-2");
        assert!(is_temp_name(&t));
        for other in ["radial.png", ".hidden", "collop-tmp-notes.txt", ".radial.png.17-2.tmp"] {
            assert!(!is_temp_name(other), "{other}");
        }
    }
}
