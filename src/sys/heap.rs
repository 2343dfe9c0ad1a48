//! The global allocator of every svkit program: small blocks from a static
//! arena (see `arena`), the rest as whole pages from mmap(2), a few freed
//! ones kept for the next request.
//!
//! No C library allocator: supervise, svc, svstat and svok have none, and
//! for the others it would be a second heap besides the arena. What
//! reaches the pages is rare in a long-running process (a settings file's
//! buffer, a directory listing), so a system call per block costs little,
//! and a block freed is a page given back rather than a heap that stays
//! dirty.

use super::arena::Arena;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::ptr;
use rustix::mm::{MapFlags, ProtFlags};

/// The allocator; `main!` makes it the program's global allocator.
pub struct Malloc;

static ARENA: Arena = Arena::new();
static PAGES: Pages = Pages::new();

/// The granularity blocks are counted in. mmap rounds a length up to the
/// real page size and munmap frees every page a range touches, so 4 KiB
/// is right on systems with larger pages too.
const PAGE: usize = 4096;
/// Room before every block for the base and length of its mapping.
const HEADER: usize = 16;
/// How many freed mappings are kept for reuse.
const KEEP: usize = 4;

struct Pages {
    kept: [Cell<(usize, usize)>; KEEP],
}

// SAFETY: svkit's programs are single-threaded, and no signal handler
// allocates (see `arena`).
unsafe impl Sync for Pages {}

impl Pages {
    const fn new() -> Pages {
        Pages {
            kept: [const { Cell::new((0, 0)) }; KEEP],
        }
    }

    /// `len` bytes of fresh or kept pages, or null.
    fn map(&self, len: usize) -> *mut u8 {
        for slot in &self.kept {
            let (base, have) = slot.get();
            if have >= len && have <= 2 * len {
                slot.set((0, 0));
                return base as *mut u8;
            }
        }
        // SAFETY: a new private anonymous mapping aliases nothing.
        match unsafe {
            rustix::mm::mmap_anonymous(
                ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        } {
            Ok(p) => p.cast(),
            Err(_) => ptr::null_mut(),
        }
    }

    /// Takes back a mapping `map` returned.
    ///
    /// # Safety
    /// Nothing may use the mapping afterwards.
    unsafe fn unmap(&self, base: usize, len: usize) {
        for slot in &self.kept {
            if slot.get().0 == 0 {
                slot.set((base, len));
                return;
            }
        }
        // SAFETY: the caller's promise; the range is one whole mapping.
        let _ = unsafe { rustix::mm::munmap(base as *mut _, len) };
    }

    /// A block of `n` bytes at `align` (a power of two up to a page).
    fn alloc(&self, n: usize, align: usize) -> *mut u8 {
        let lead = align.max(HEADER);
        let Some(len) = n.checked_add(lead + PAGE - 1).map(|l| l & !(PAGE - 1)) else {
            return ptr::null_mut();
        };
        let base = self.map(len);
        if base.is_null() {
            return base;
        }
        // SAFETY: lead < len, and the header lies inside the mapping,
        // 8-aligned since lead is a multiple of 16.
        unsafe {
            let p = base.add(lead);
            p.cast::<usize>().sub(2).write(base as usize);
            p.cast::<usize>().sub(1).write(len);
            p
        }
    }

    /// The (base, length) of the mapping that holds block `p`.
    ///
    /// # Safety
    /// `p` must come from `alloc` and not be freed.
    unsafe fn mapping(p: *mut u8) -> (usize, usize) {
        // SAFETY: alloc wrote both words just before the block.
        unsafe {
            (
                p.cast::<usize>().sub(2).read(),
                p.cast::<usize>().sub(1).read(),
            )
        }
    }
}

// SAFETY: the arena hands out disjoint 16-aligned blocks and takes back
// only its own; every other block is a mapping of its own, aligned as
// asked (up to a page) and at least as long as asked, whose header says
// how to free it.
unsafe impl GlobalAlloc for Malloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = ARENA.alloc(layout.size(), layout.align());
        if !p.is_null() || layout.align() > PAGE {
            return p;
        }
        PAGES.alloc(layout.size(), layout.align())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARENA.owns(ptr) {
            // SAFETY: GlobalAlloc's contract: ptr came from alloc(layout).
            unsafe { ARENA.dealloc(ptr, layout.size()) }
        } else {
            // SAFETY: as above; the block is one mapping, now unused.
            unsafe {
                let (base, len) = Pages::mapping(ptr);
                PAGES.unmap(base, len)
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        if !ARENA.owns(ptr) {
            // SAFETY: ptr is a live block of ours from the pages.
            let (base, len) = unsafe { Pages::mapping(ptr) };
            // Growing within the pages it already has costs nothing.
            if size <= base + len - ptr as usize {
                return ptr;
            }
        }
        // SAFETY: the layout's alignment is valid, and size is non-zero
        // and fits, as GlobalAlloc::realloc promises.
        let new = unsafe { self.alloc(Layout::from_size_align_unchecked(size, layout.align())) };
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct and long enough.
            unsafe {
                ptr::copy_nonoverlapping(ptr, new, layout.size().min(size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_blocks_are_pages_and_grow_in_place() {
        let m = Malloc;
        let layout = Layout::from_size_align(3000, 8).unwrap();
        unsafe {
            let p = m.alloc(layout);
            assert!(!p.is_null() && !ARENA.owns(p));
            assert_eq!(p as usize % 16, 0);
            p.write_bytes(7, 3000);
            let q = m.realloc(p, layout, 4000);
            assert_eq!(q, p, "room left in the page");
            let r = m.realloc(q, Layout::from_size_align(4000, 8).unwrap(), 9000);
            assert!(!r.is_null());
            assert_eq!(*r.add(2999), 7, "contents move with the block");
            m.dealloc(r, Layout::from_size_align(9000, 8).unwrap());
            let aligned = Layout::from_size_align(2048, 1024).unwrap();
            let a = m.alloc(aligned);
            assert_eq!(a as usize % 1024, 0);
            m.dealloc(a, aligned);
        }
    }
}
