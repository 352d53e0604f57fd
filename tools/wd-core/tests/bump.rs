//! wd_core::bump as this test binary's global allocator: blocks never overlap across threads,
//! keep their bytes through reallocation, are aligned as asked, and the system allocator takes
//! over when the region is full or off.

use std::alloc::{GlobalAlloc, Layout};
use wd_core::bump::{self, Bump};
use wd_testsupport::Rng;

#[global_allocator]
static ALLOC: Bump = Bump;

/// One test, its parts in order: "the last block" means nothing while another test allocates,
/// and filling the region (last) leaves it full for good.
#[test]
fn region_serves_threads_and_hands_over_when_full() {
    on_where_huge_pages_are_enabled_and_used_by_ordinary_allocations();
    blocks_of_many_threads_never_overlap_and_keep_their_bytes();
    the_system_allocator_takes_over_when_the_region_is_full();
}

/// The region is on exactly where transparent huge pages are enabled (the allocator's rule).
fn expect_on() -> bool {
    let _warm = std::hint::black_box(Box::new(1u8));
    bump::status().0
}

fn on_where_huge_pages_are_enabled_and_used_by_ordinary_allocations() {
    let on = expect_on();
    assert_eq!(on, bump::huge_pages_enabled());
    if !on {
        eprintln!(
            "transparent huge pages are off here: every block comes from the system allocator"
        );
        return;
    }
    let before = bump::status().1;
    let v: Vec<u64> = (0..10_000).collect();
    assert!(
        bump::status().1 >= before + 80_000,
        "a Vec is cut from the region"
    );
    // A growing Vec that is the last block keeps its address (grown in place).
    let mut s = String::with_capacity(64);
    let p = s.as_ptr();
    for _ in 0..10_000 {
        s.push('x');
    }
    assert_eq!(s.as_ptr(), p, "the last block grows in place");
    drop(s);
    // The last block freed gives its space back: the next block starts where it did.
    let used = bump::status().1;
    let last = Box::new([7u8; 1000]);
    let at = &*last as *const [u8; 1000];
    drop(last);
    assert_eq!(
        bump::status().1,
        used,
        "the space of the last block is given back"
    );
    let next = Box::new([8u8; 1000]);
    assert_eq!(&*next as *const [u8; 1000], at);
    assert_eq!(v.iter().sum::<u64>(), 49_995_000);
}

/// Each block is filled with its own tag and checked before it is reallocated or freed: an
/// overlap between two live blocks (any thread) shows as a wrong byte.
fn blocks_of_many_threads_never_overlap_and_keep_their_bytes() {
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = Rng(0xB0B + t);
                let mut live: Vec<(*mut u8, Layout, u8)> = vec![];
                for i in 0..20_000u32 {
                    let tag = (t as u8).wrapping_mul(64).wrapping_add(i as u8) | 1;
                    match rng.below(4) {
                        0 | 1 => {
                            let cap = if rng.chance(20) { 70_000 } else { 300 };
                            let size = 1 + rng.below(cap);
                            let align = 1usize << rng.below(13);
                            let l = Layout::from_size_align(size, align).unwrap();
                            // SAFETY: a non-zero size.
                            let p = unsafe { ALLOC.alloc(l) };
                            assert!(!p.is_null());
                            assert_eq!(p as usize % align, 0, "aligned to {align}");
                            // SAFETY: `size` bytes were just allocated at p.
                            unsafe { p.write_bytes(tag, size) };
                            live.push((p, l, tag));
                        }
                        2 if !live.is_empty() => {
                            let k = rng.below(live.len());
                            let (p, l, tag) = live.swap_remove(k);
                            check(p, l.size(), tag);
                            let new = 1 + rng.below(2 * l.size() + 64);
                            // SAFETY: p was allocated with l; new is non-zero.
                            let q = unsafe { ALLOC.realloc(p, l, new) };
                            assert!(!q.is_null());
                            check(q, new.min(l.size()), tag);
                            let l2 = Layout::from_size_align(new, l.align()).unwrap();
                            // SAFETY: `new` bytes at q.
                            unsafe { q.write_bytes(tag, new) };
                            live.push((q, l2, tag));
                        }
                        _ if !live.is_empty() => {
                            let k = rng.below(live.len());
                            let (p, l, tag) = live.swap_remove(k);
                            check(p, l.size(), tag);
                            // SAFETY: allocated with l.
                            unsafe { ALLOC.dealloc(p, l) };
                        }
                        _ => {}
                    }
                }
                for (p, l, tag) in live {
                    check(p, l.size(), tag);
                    // SAFETY: allocated with l.
                    unsafe { ALLOC.dealloc(p, l) };
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn check(p: *mut u8, len: usize, tag: u8) {
    // SAFETY: the block holds at least `len` initialised bytes.
    let bytes = unsafe { std::slice::from_raw_parts(p, len) };
    assert!(
        bytes.iter().all(|b| *b == tag),
        "a block's bytes changed under it"
    );
}

fn the_system_allocator_takes_over_when_the_region_is_full() {
    let on = expect_on();
    // More than the whole region, in blocks kept alive; then every block is still usable and
    // freed to the allocator that served it.
    let mut blocks: Vec<Vec<u8>> = vec![];
    let mut total = 0;
    while total < bump::RESERVE + (8 << 20) {
        blocks.push(vec![7u8; 1 << 20]);
        total += 1 << 20;
    }
    if on {
        let (_, used) = bump::status();
        assert!(
            used > bump::RESERVE - (2 << 20),
            "the region filled up: {used}"
        );
    }
    assert!(blocks
        .iter()
        .all(|b| b.len() == 1 << 20 && b[0] == 7 && b[(1 << 20) - 1] == 7));
    let big = vec![9u8; 3 * bump::RESERVE];
    assert_eq!(
        big[3 * bump::RESERVE - 1],
        9,
        "a block larger than the region"
    );
    drop(blocks);
    drop(big);
    let after = vec![5u8; 1000];
    assert_eq!(after[999], 5);
}
