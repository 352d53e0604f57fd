//! A global allocator for the one-shot tools (wd-inventory and wd-render): blocks are cut in
//! order from one region backed by transparent huge pages, and the rest goes to the system
//! allocator.
//!
//! Why: these tools run for a few milliseconds and allocate a few megabytes; on the virtual
//! machines they run on, the first touch of each fresh 4 KiB page costs about 2 µs in the kernel
//! (measured: 512 pages in ~1 ms, with or without MADV_POPULATE_WRITE), and glibc gives every
//! thread an arena of fresh pages of its own. wd-render touched ~560 pages for a users-33 render
//! (1.1 ms of its ~5 ms), wd-inventory ~290. One 2 MiB huge page costs 70–400 µs to fault and
//! covers 512 of them: 559 → 133 and 294 → 96 page faults, and the users-33 pipe 6.6 → 5.0 ms
//! in interleaved runs (docs/benchmarks-notes/pipe.md).
//!
//! How: the region ([`RESERVE`] of address space, aligned to 2 MiB, `MADV_HUGEPAGE`) is set up
//! at the first allocation. A block is cut at the region's end with one compare-and-swap, so
//! every thread shares the same pages. Freeing the last block gives its space back, and
//! reallocating the last block grows or shrinks it in place (a growing `Vec` or `String`, the
//! common case); any other freed block stays unused until the process exits. Once the region is
//! full, and for every block of a process where it is off, the system allocator serves as
//! usual, and blocks are given back to whichever allocator served them (told apart by address).
//!
//! When it is off (everything goes to the system allocator): transparent huge pages are
//! disabled (`[never]` in /sys/kernel/mm/transparent_hugepage/enabled) or unknown, or the
//! region cannot be mapped or advised. Where huge pages are enabled but none can be had at a
//! fault, the kernel maps 4 KiB pages and the region still works, touching more pages than
//! glibc would (nothing freed is reused); it is bounded by [`RESERVE`].
//!
//! Only for short processes with bounded input (wd-inventory's and wd-render's inputs are
//! capped, and both exit when done): a long-running tool (wd-wait, wd-loadtest, wd-waltfake)
//! must keep the system allocator, which reuses what is freed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A transparent huge page on x86-64 and arm64 (4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;

/// Address space the region takes (only touched pages cost memory): a users-33 render cuts
/// ~4 MiB from it, a 640-service Inventory fits; larger runs go on with the system allocator.
pub const RESERVE: usize = 32 << 20;

/// The global allocator (`#[global_allocator] static A: wd_core::bump::Bump = wd_core::bump::Bump;`).
pub struct Bump;

const UNSET: usize = 0;
const SETTING_UP: usize = 1;
const ON: usize = 2;
const OFF: usize = 3;

static STATE: AtomicUsize = AtomicUsize::new(UNSET);
static START: AtomicUsize = AtomicUsize::new(0);
static END: AtomicUsize = AtomicUsize::new(0);
/// Where the next block is cut.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Whether the region serves allocations, and how much of it has been cut (bytes).
pub fn status() -> (bool, usize) {
    if STATE.load(Ordering::Acquire) == ON {
        (
            true,
            NEXT.load(Ordering::Acquire) - START.load(Ordering::Acquire),
        )
    } else {
        (false, 0)
    }
}

/// Whether transparent huge pages can back a region advised with `MADV_HUGEPAGE`: the current
/// mode (in brackets) is `always` or `madvise`. Read without allocating (this runs inside the
/// allocator).
pub fn huge_pages_enabled() -> bool {
    use rustix::fs::{Mode, OFlags};
    let Ok(fd) = rustix::fs::open(
        "/sys/kernel/mm/transparent_hugepage/enabled",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let mut buf = [0u8; 128];
    let Ok(n) = rustix::io::read(&fd, &mut buf) else {
        return false;
    };
    let text = &buf[..n];
    let has = |w: &[u8]| text.windows(w.len()).any(|x| x == w);
    has(b"[always]") || has(b"[madvise]")
}

/// Sets the region up (the first allocation does); allocations made meanwhile, and all of them
/// if it fails, go to the system allocator.
#[cold]
fn set_up() -> bool {
    if STATE
        .compare_exchange(UNSET, SETTING_UP, Ordering::Acquire, Ordering::Acquire)
        .is_err()
    {
        return STATE.load(Ordering::Acquire) == ON;
    }
    let on = huge_pages_enabled() && map_region();
    STATE.store(if on { ON } else { OFF }, Ordering::Release);
    on
}

fn map_region() -> bool {
    use rustix::mm::{Advice, MapFlags, ProtFlags};
    let len = RESERVE + HUGE_PAGE;
    // SAFETY: a fresh private anonymous mapping at an address the kernel chooses; nothing else
    // refers to it.
    let Ok(p) = (unsafe {
        rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::NORESERVE,
        )
    }) else {
        return false;
    };
    let start = (p as usize).next_multiple_of(HUGE_PAGE);
    // SAFETY: advice on (part of) the mapping made above.
    if unsafe { rustix::mm::madvise(start as *mut _, RESERVE, Advice::LinuxHugepage) }.is_err() {
        // SAFETY: the mapping made above, not handed out.
        let _ = unsafe { rustix::mm::munmap(p, len) };
        return false;
    }
    START.store(start, Ordering::Relaxed);
    NEXT.store(start, Ordering::Relaxed);
    END.store(start + RESERVE, Ordering::Relaxed);
    true
}

#[inline]
fn on() -> bool {
    match STATE.load(Ordering::Acquire) {
        ON => true,
        UNSET => set_up(),
        _ => false,
    }
}

/// Whether `p` was cut from the region.
#[inline]
fn in_region(p: *mut u8) -> bool {
    let a = p as usize;
    a >= START.load(Ordering::Acquire) && a < END.load(Ordering::Acquire)
}

/// Cuts a block for `layout` from the region, or `None` if it is off or full.
#[inline]
fn cut(layout: Layout) -> Option<*mut u8> {
    if !on() {
        return None;
    }
    let end = END.load(Ordering::Relaxed);
    let mut next = NEXT.load(Ordering::Relaxed);
    loop {
        // `align` is a power of two and far below the address space: no overflow.
        let start = next.next_multiple_of(layout.align());
        let stop = start.checked_add(layout.size())?;
        if stop > end {
            return None;
        }
        match NEXT.compare_exchange_weak(next, stop, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return Some(start as *mut u8),
            Err(now) => next = now,
        }
    }
}

// SAFETY: blocks cut from the region never overlap (each is claimed by a compare-and-swap of
// `NEXT`, which only moves back over the block that is freed or shrunk, and only while that
// block is the last one), are aligned as asked and lie inside the mapping; everything else is
// the system allocator's, and each block goes back to the allocator that served it.
unsafe impl GlobalAlloc for Bump {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match cut(layout) {
            Some(p) => p,
            // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
            None => unsafe { System.alloc(layout) },
        }
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if in_region(p) {
            // The last block: its space is cut again next. Any other stays unused.
            let a = p as usize;
            let _ =
                NEXT.compare_exchange(a + layout.size(), a, Ordering::AcqRel, Ordering::Relaxed);
        } else {
            // SAFETY: served by the system allocator with this layout.
            unsafe { System.dealloc(p, layout) }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_region(p) {
            // SAFETY: served by the system allocator with this layout.
            return unsafe { System.realloc(p, layout, new_size) };
        }
        let (a, old) = (p as usize, layout.size());
        // The last block grows or shrinks in place; any block shrinks in place.
        let fits = a
            .checked_add(new_size)
            .is_some_and(|e| e <= END.load(Ordering::Relaxed));
        if fits
            && NEXT
                .compare_exchange(a + old, a + new_size, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            return p;
        }
        if new_size <= old {
            return p;
        }
        // SAFETY: GlobalAlloc::realloc's contract: `new_size` with this alignment is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a non-zero size (larger than the old one).
        let q = unsafe { self.alloc(new_layout) };
        if !q.is_null() {
            // SAFETY: both blocks are at least `old` bytes and distinct.
            unsafe {
                std::ptr::copy_nonoverlapping(p, q, old);
                self.dealloc(p, layout);
            }
        }
        q
    }
}
