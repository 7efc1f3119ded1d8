//! Long calls without the GIL, stopped by Ctrl-C.
//!
//! The work runs on a scoped worker thread with the GIL released; the
//! calling thread (Python's main thread, where signal handlers run) waits
//! for it and, every [`POLL`], takes the GIL for a moment to run the
//! pending signal handlers. When one raises (`KeyboardInterrupt` for
//! Ctrl-C) the stop flag is set: the library stops at its next safe point
//! (between epochs, PIC steps or rollout steps; every file it writes goes
//! through an atomic write, so nothing is left half-written) and the
//! exception is raised once the worker has returned.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use pyo3::prelude::*;

/// How often the calling thread runs the signal handlers.
pub const POLL: Duration = Duration::from_millis(100);

/// Run `work(stop)` on a worker thread without the GIL; the first
/// exception of a signal handler sets `stop` and is returned (after the
/// worker has finished) instead of the work's result.
pub fn interruptible<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&AtomicBool) -> T + Send,
{
    let stop = AtomicBool::new(false);
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (result, interrupted) = py.detach(move || {
        let stop = &stop;
        std::thread::scope(|s| {
            let worker = s.spawn(move || {
                let r = work(stop);
                // The receiver lives until the join below.
                let _ = done_tx.send(());
                r
            });
            let mut interrupted: Option<PyErr> = None;
            loop {
                match done_rx.recv_timeout(POLL) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if interrupted.is_none()
                            && let Err(e) = Python::attach(|py| py.check_signals())
                        {
                            stop.store(true, Ordering::SeqCst);
                            interrupted = Some(e);
                        }
                    }
                }
            }
            let result = match worker.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (result, interrupted)
        })
    });
    match interrupted {
        Some(e) => Err(e),
        None => Ok(result),
    }
}
