//! The global allocator of every svkit program: small blocks from a static
//! arena (see `arena`), the rest from dlmalloc, which gets its memory from
//! mmap(2) through rustix.
//!
//! No C library allocator: supervise, svc, svstat, svok, scan and logsink
//! have none, and for the others it would be a second heap besides the
//! arena. dlmalloc packs the larger blocks (a scanner's table of services,
//! a logger's buffers) into a few mappings and reuses what is freed, where
//! a mapping per block would cost a page each and a system call per use.

use super::arena::Arena;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;
use dlmalloc::Allocator as _;
use rustix::mm::{MapFlags, MremapFlags, ProtFlags};

/// The allocator; `main!` makes it the program's global allocator.
pub struct Malloc;

static ARENA: Arena = Arena::new();
static HEAP: Heap = Heap(UnsafeCell::new(dlmalloc::Dlmalloc::new_with_allocator(
    Pages,
)));

struct Heap(UnsafeCell<dlmalloc::Dlmalloc<Pages>>);

// SAFETY: svkit's programs are single-threaded, and no signal handler
// allocates (signals arrive on a signalfd): the heap is never used from
// two places at once.
unsafe impl Sync for Heap {}

impl Heap {
    /// The one dlmalloc instance.
    ///
    /// # Safety
    /// No other reference to it may be live: each use below ends before
    /// the next begins, and none calls back into the allocator.
    #[allow(clippy::mut_from_ref)]
    unsafe fn get(&self) -> &mut dlmalloc::Dlmalloc<Pages> {
        // SAFETY: the caller's promise.
        unsafe { &mut *self.0.get() }
    }
}

/// dlmalloc's source of memory: private anonymous mappings.
struct Pages;

// SAFETY: every region handed out is a fresh private mapping of at least
// the size asked, zeroed by the kernel; the others only resize or unmap
// regions dlmalloc got from `alloc`.
unsafe impl dlmalloc::Allocator for Pages {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        let (prot, flags) = (ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE);
        // SAFETY: a new mapping at an address of the kernel's choosing
        // aliases nothing.
        match unsafe { rustix::mm::mmap_anonymous(ptr::null_mut(), size, prot, flags) } {
            Ok(p) => (p.cast(), size, 0),
            Err(_) => (ptr::null_mut(), 0, 0),
        }
    }

    fn remap(&self, ptr: *mut u8, oldsize: usize, newsize: usize, can_move: bool) -> *mut u8 {
        let flags = match can_move {
            true => MremapFlags::MAYMOVE,
            false => MremapFlags::empty(),
        };
        // SAFETY: dlmalloc remaps only a whole region it got from `alloc`.
        match unsafe { rustix::mm::mremap(ptr.cast(), oldsize, newsize, flags) } {
            Ok(p) => p.cast(),
            Err(_) => ptr::null_mut(),
        }
    }

    fn free_part(&self, ptr: *mut u8, oldsize: usize, newsize: usize) -> bool {
        // SAFETY: as for `remap`; the tail past newsize is unused.
        unsafe {
            if rustix::mm::mremap(ptr.cast(), oldsize, newsize, MremapFlags::empty()).is_ok() {
                return true;
            }
            rustix::mm::munmap(ptr.add(newsize).cast(), oldsize - newsize).is_ok()
        }
    }

    fn free(&self, ptr: *mut u8, size: usize) -> bool {
        // SAFETY: dlmalloc frees only a whole region it no longer uses.
        unsafe { rustix::mm::munmap(ptr.cast(), size).is_ok() }
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        true
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        // mmap rounds lengths up to the real page size, so 4 KiB is right
        // on systems with larger pages too.
        4096
    }
}

/// Blocks at least this large get a mapping of their own, as glibc's malloc
/// does above its threshold: the kernel's pages are zero until written, so
/// a buffer made with `vec![0; N]` (logsink's 256 KiB input) costs memory
/// only as far as it is used, where dlmalloc would have cleared it, every
/// page, and kept what it freed. Which is which follows from the layout
/// alone, which every call carries.
const OWN_MAPPING: usize = 64 * 1024;

fn own_mapping(size: usize, align: usize) -> bool {
    size >= OWN_MAPPING && align <= 4096
}

fn map(size: usize) -> *mut u8 {
    Pages.alloc(size).0
}

// SAFETY: the arena hands out disjoint 16-aligned blocks and takes back
// only its own; own mappings are page-aligned, zeroed and as long as
// asked, and are recognised by their layout; everything else is
// dlmalloc's, which meets GlobalAlloc's contract for any size and
// alignment.
unsafe impl GlobalAlloc for Malloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = ARENA.alloc(layout.size(), layout.align());
        if !p.is_null() {
            return p;
        }
        if own_mapping(layout.size(), layout.align()) {
            return map(layout.size());
        }
        // SAFETY: one use of the heap at a time (see `Heap::get`).
        unsafe { HEAP.get().malloc(layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if own_mapping(layout.size(), layout.align()) {
            return map(layout.size());
        }
        let p = ARENA.alloc(layout.size(), layout.align());
        if !p.is_null() {
            // SAFETY: a live block of layout.size() bytes.
            unsafe { p.write_bytes(0, layout.size()) };
            return p;
        }
        // SAFETY: one use of the heap at a time; calloc clears only what
        // does not come fresh from the kernel.
        unsafe { HEAP.get().calloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARENA.owns(ptr) {
            // SAFETY: GlobalAlloc's contract: ptr came from alloc(layout).
            unsafe { ARENA.dealloc(ptr, layout.size()) }
        } else if own_mapping(layout.size(), layout.align()) {
            // SAFETY: as above: a mapping of layout.size() bytes of its own.
            let _ = unsafe { rustix::mm::munmap(ptr.cast(), layout.size()) };
        } else {
            // SAFETY: as above, and one use of the heap at a time.
            unsafe { HEAP.get().free(ptr, layout.size(), layout.align()) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let (old, new) = (
            own_mapping(layout.size(), layout.align()),
            own_mapping(size, layout.align()),
        );
        if old && new {
            // SAFETY: ptr is a whole mapping of layout.size() bytes.
            return Pages.remap(ptr, layout.size(), size, true);
        }
        if !old && !new && !ARENA.owns(ptr) {
            // SAFETY: ptr is a live dlmalloc block of `layout`.
            return unsafe { HEAP.get().realloc(ptr, layout.size(), layout.align(), size) };
        }
        // SAFETY: GlobalAlloc::realloc's contract, passed on.
        unsafe { move_block(self, ptr, layout, size) }
    }
}

/// realloc by hand, for a block that its allocator cannot resize in place
/// (one of the arena's): a new block, the bytes copied, the old one freed.
///
/// # Safety
/// As `GlobalAlloc::realloc`: `ptr` is a live block of `layout` from `a`,
/// and `size` is non-zero and fits `layout`'s alignment.
unsafe fn move_block<A: GlobalAlloc>(a: &A, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
    // SAFETY: the layout's alignment is valid, and size is non-zero and
    // fits, as the caller promises.
    let new = unsafe { a.alloc(Layout::from_size_align_unchecked(size, layout.align())) };
    if !new.is_null() {
        // SAFETY: both blocks are live, distinct and long enough.
        unsafe {
            ptr::copy_nonoverlapping(ptr, new, layout.size().min(size));
            a.dealloc(ptr, layout);
        }
    }
    new
}

/// The allocator of the programs that link the C library anyway
/// (setuidgid, envdir, softlimit, tai64nlocal): the arena, then the C
/// library's malloc, already in the process, rather than a second heap's
/// code in every binary.
pub struct CMalloc;

// SAFETY: the arena as above; malloc, free and realloc meet GlobalAlloc's
// contract for alignments up to max_align_t (16 on Linux), posix_memalign
// for larger ones.
unsafe impl GlobalAlloc for CMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = ARENA.alloc(layout.size(), layout.align());
        if !p.is_null() {
            return p;
        }
        if layout.align() <= 16 {
            // SAFETY: malloc has no preconditions.
            return unsafe { libc::malloc(layout.size()) }.cast();
        }
        let mut p = ptr::null_mut();
        // SAFETY: the alignment is a power of two and a multiple of the
        // pointer size, as posix_memalign wants.
        match unsafe { libc::posix_memalign(&mut p, layout.align(), layout.size()) } {
            0 => p.cast(),
            _ => ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARENA.owns(ptr) {
            // SAFETY: GlobalAlloc's contract: ptr came from alloc(layout).
            unsafe { ARENA.dealloc(ptr, layout.size()) }
        } else {
            // SAFETY: as above: ptr came from malloc or posix_memalign.
            unsafe { libc::free(ptr.cast()) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        if layout.align() <= 16 && !ARENA.owns(ptr) {
            // SAFETY: ptr came from malloc (alignment up to 16).
            return unsafe { libc::realloc(ptr.cast(), size) }.cast();
        }
        // SAFETY: GlobalAlloc::realloc's contract, passed on.
        unsafe { move_block(self, ptr, layout, size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_blocks_come_from_the_heap_and_keep_their_contents() {
        let m = Malloc;
        let layout = Layout::from_size_align(3000, 8).unwrap();
        unsafe {
            let p = m.alloc(layout);
            assert!(!p.is_null() && !ARENA.owns(p));
            p.write_bytes(7, 3000);
            let q = m.realloc(p, layout, 100_000);
            assert!(!q.is_null());
            assert_eq!(*q.add(2999), 7, "contents move with the block");
            m.dealloc(q, Layout::from_size_align(100_000, 8).unwrap());
            let aligned = Layout::from_size_align(2048, 1024).unwrap();
            let a = m.alloc(aligned);
            assert_eq!(a as usize % 1024, 0);
            m.dealloc(a, aligned);
            // A small block that grows leaves the arena for the heap.
            let small = Layout::from_size_align(16, 8).unwrap();
            let s = m.alloc(small);
            assert!(ARENA.owns(s));
            s.write_bytes(3, 16);
            let g = m.realloc(s, small, 5000);
            assert!(!ARENA.owns(g) && *g.add(15) == 3);
            m.dealloc(g, Layout::from_size_align(5000, 8).unwrap());
        }
    }

    #[test]
    fn large_blocks_have_mappings_of_their_own_across_every_move() {
        let m = Malloc;
        let sizes = [100, 5000, OWN_MAPPING - 1, OWN_MAPPING, 300_000, 70_000, 40];
        unsafe {
            let first = Layout::from_size_align(sizes[0], 8).unwrap();
            let mut p = m.alloc_zeroed(first);
            assert!((0..sizes[0]).all(|i| *p.add(i) == 0));
            p.write_bytes(9, sizes[0]);
            let mut layout = first;
            for &size in &sizes[1..] {
                let keep = layout.size().min(size);
                p = m.realloc(p, layout, size);
                assert!(!p.is_null());
                assert!(
                    (0..keep).all(|i| *p.add(i) == 9),
                    "{} -> {size}",
                    layout.size()
                );
                p.write_bytes(9, size);
                layout = Layout::from_size_align(size, 8).unwrap();
                if own_mapping(size, 8) {
                    assert_eq!(p as usize % 4096, 0, "{size} is a mapping of its own");
                }
            }
            m.dealloc(p, layout);
            let big = Layout::from_size_align(256 * 1024, 16).unwrap();
            let z = m.alloc_zeroed(big);
            assert!((0..big.size()).step_by(4096).all(|i| *z.add(i) == 0));
            m.dealloc(z, big);
        }
    }
}
