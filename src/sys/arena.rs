//! Small blocks from a static arena before the C library's heap.
//!
//! One supervise runs per service, and what it allocates while idle is a
//! few hundred bytes of paths and buffers. Served by malloc, that costs a
//! heap: one more private dirty page per process. Served from this arena,
//! which lives in .bss right after the few bytes of .data every process
//! dirties anyway, it costs nothing more (measured: Private_Dirty of an
//! idle supervise 96 KB -> 92 KB). Freed blocks go to a free list per size
//! class and are reused, so a long-running loop stays inside the arena;
//! larger or over-aligned blocks, and anything once the arena is full, go
//! to malloc.

use core::cell::{Cell, UnsafeCell};
use core::ptr;

/// Block sizes, smallest first; a request gets the smallest that fits.
const CLASSES: [usize; 7] = [16, 32, 64, 128, 256, 512, 1024];
/// Arena size: small enough that the arena, the other statics and the
/// copy of libc's `environ` the linker puts after them share the one .bss
/// page; an idle supervise uses well under half of it. The page holds
/// .data too, where dlmalloc's state alone takes ~900 bytes, and the
/// programs with the most statics (scan, logsink) have ~100 bytes more
/// than supervise: 128 bytes less than 3 KiB keeps all of them on it.
const SIZE: usize = 3 * 1024 - 128;

/// The arena: bump allocation for new blocks, a free list per class.
pub struct Arena {
    mem: UnsafeCell<[u128; SIZE / 16]>,
    used: Cell<usize>,
    free: [Cell<*mut u8>; CLASSES.len()],
}

// SAFETY: svkit's programs are single-threaded; the arena is never touched
// from two threads (nor from a signal handler: the handlers only write a
// byte to a pipe).
unsafe impl Sync for Arena {}

impl Arena {
    pub const fn new() -> Arena {
        Arena {
            mem: UnsafeCell::new([0; SIZE / 16]),
            used: Cell::new(0),
            free: [const { Cell::new(ptr::null_mut()) }; CLASSES.len()],
        }
    }

    fn class(size: usize) -> Option<usize> {
        CLASSES.iter().position(|&c| size <= c)
    }

    fn base(&self) -> *mut u8 {
        self.mem.get().cast()
    }

    /// Whether `p` came from this arena.
    pub fn owns(&self, p: *mut u8) -> bool {
        let base = self.base() as usize;
        (base..base + SIZE).contains(&(p as usize))
    }

    /// A block of at least `size` bytes aligned to `align`, or null when
    /// the arena cannot serve it (too big, over-aligned, full).
    pub fn alloc(&self, size: usize, align: usize) -> *mut u8 {
        let Some(c) = Self::class(size).filter(|_| align <= 16) else {
            return ptr::null_mut();
        };
        let head = self.free[c].get();
        if !head.is_null() {
            // SAFETY: a free block holds the next free block's address in
            // its first bytes (every class is at least 16 bytes, aligned).
            self.free[c].set(unsafe { head.cast::<*mut u8>().read() });
            return head;
        }
        let (used, len) = (self.used.get(), CLASSES[c]);
        // Every class is a multiple of 16 and the arena starts 16-aligned,
        // so every block is 16-aligned.
        if used + len > SIZE {
            return ptr::null_mut();
        }
        self.used.set(used + len);
        // SAFETY: used + len <= SIZE: the block lies inside the arena.
        unsafe { self.base().add(used) }
    }

    /// Returns a block of `size` bytes that `owns` says is ours.
    ///
    /// # Safety
    /// `p` must come from `alloc(size, _)` of this arena and not be freed.
    pub unsafe fn dealloc(&self, p: *mut u8, size: usize) {
        if let Some(c) = Self::class(size) {
            // SAFETY: the block is ours and at least 16 bytes, 16-aligned.
            unsafe { p.cast::<*mut u8>().write(self.free[c].get()) };
            self.free[c].set(p);
        }
    }
}

impl Default for Arena {
    fn default() -> Arena {
        Arena::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_blocks_are_reused_by_class() {
        let a = Arena::new();
        let p = a.alloc(20, 8);
        let q = a.alloc(30, 8);
        assert!(a.owns(p) && a.owns(q) && p != q);
        assert_eq!(p as usize % 16, 0);
        unsafe { a.dealloc(p, 20) };
        assert_eq!(a.alloc(32, 8), p, "same class, reused");
        assert_ne!(a.alloc(16, 8), p);
    }

    #[test]
    fn big_over_aligned_and_overflow_go_elsewhere() {
        let a = Arena::new();
        assert!(a.alloc(2000, 8).is_null());
        assert!(a.alloc(16, 64).is_null());
        let mut n = 0;
        while !a.alloc(1024, 8).is_null() {
            n += 1;
        }
        assert_eq!(n, SIZE / 1024);
        assert!(!a.owns(ptr::null_mut()));
    }

    #[test]
    fn a_loop_that_frees_what_it_allocates_stays_small() {
        let a = Arena::new();
        for _ in 0..10_000 {
            let p = a.alloc(100, 8);
            assert!(!p.is_null());
            unsafe { a.dealloc(p, 100) };
        }
        assert_eq!(a.used.get(), 128);
    }
}
