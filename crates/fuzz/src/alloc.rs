//! A global allocator that counts the bytes each thread holds, to measure
//! the peak memory of one parse.
//!
//! Install it in a test binary:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: collop_fuzz::alloc::CountingAlloc = collop_fuzz::alloc::CountingAlloc;
//! ```
//!
//! then [`peak_during`] gives the largest number of bytes the calling thread
//! held at once while a closure ran, above what it held before. Counts are
//! per thread, so tests running in parallel do not disturb each other;
//! memory allocated by other threads (a thread pool) is not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(delta: isize) {
    // `try_with`: no panic while the thread's locals are being destroyed.
    let _ = CURRENT.try_with(|c| {
        let now = c.get().saturating_add(delta);
        c.set(now);
        let _ = PEAK.try_with(|p| {
            if now > p.get() {
                p.set(now);
            }
        });
    });
}

/// The system allocator, counting the bytes held by each thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counting only touches thread-local integers, which neither allocate nor
// unwind.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Runs `f` and returns its result with the largest number of bytes the
/// calling thread held at once during the call, above what it held when
/// the call began. Zero unless [`CountingAlloc`] is the global allocator.
pub fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let start = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, usize::try_from(peak - start).unwrap_or(0))
}
