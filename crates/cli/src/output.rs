//! Writing to standard output without panicking when the reader goes away
//! (`collop info DATA | head`), and the flag of an output directory.

use std::io::Write;

use anyhow::Result;

/// What a command with `--overwrite` (and no `--resume`) does with an
/// output directory that holds its results.
pub fn existing(overwrite: bool) -> collop_io::Existing {
    if overwrite { collop_io::Existing::Overwrite } else { collop_io::Existing::Refuse }
}

/// Write `text` to standard output; a closed pipe ends the output quietly.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}
