//! Writing to standard output without panicking when the reader goes away
//! (`collop info DATA | head`).

use std::io::Write;

use anyhow::Result;

/// Write `text` to standard output; a closed pipe ends the output quietly.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}
