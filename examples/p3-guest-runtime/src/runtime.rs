//! The items, on wasm32 only.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::{RefCell, RefMut};

#[link(name = "c")]
unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn aligned_alloc(align: usize, size: usize) -> *mut u8;
    fn realloc(block: *mut u8, size: usize) -> *mut u8;
    fn free(block: *mut u8);
}

/// malloc's blocks are aligned to 16 bytes; larger alignments go through aligned_alloc.
const MALLOC_ALIGN: usize = 16;

struct Libc;

#[global_allocator]
static ALLOCATOR: Libc = Libc;

unsafe impl GlobalAlloc for Libc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: C's allocators take any size; aligned_alloc wants the size a multiple of the
        // alignment, which rounding up gives.
        unsafe {
            if layout.align() <= MALLOC_ALIGN {
                malloc(layout.size())
            } else {
                aligned_alloc(layout.align(), layout.pad_to_align().size())
            }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, _: Layout) {
        // SAFETY: `block` came from `alloc` or `realloc` here (GlobalAlloc's contract).
        unsafe { free(block) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`; C's realloc keeps malloc's alignment only, so larger
        // alignments copy into a new block.
        unsafe {
            if layout.align() <= MALLOC_ALIGN {
                return realloc(block, new_size);
            }
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(block, new, layout.size().min(new_size));
                free(block);
            }
            new
        }
    }
}

/// The canonical ABI's allocator (wit-bindgen leaves it to std on this target).
///
/// # Safety
/// Called by the host under the canonical ABI's contract: `old_ptr`/`old_len`/`align` describe
/// an allocation made here (or `old_len` is 0), `align` is a power of two.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    if new_len == 0 {
        // A dangling, aligned pointer: nothing is read or written through it.
        return align as *mut u8;
    }
    // SAFETY: the ABI contract above.
    let block = unsafe {
        if old_len == 0 {
            ALLOCATOR.alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            ALLOCATOR.realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if block.is_null() {
        // Out of memory: the host is told by a trap, as std's allocation failure would.
        core::arch::wasm32::unreachable()
    }
    block
}

/// A bug that panics traps the instance: the host sees the trap (no stderr is imported).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// State for the life of the instance, like a `thread_local!` without std. Borrowed only between
/// awaits, so overlapping calls never find it borrowed.
pub struct InstanceState<T>(RefCell<T>);

impl<T> InstanceState<T> {
    pub const fn new(value: T) -> InstanceState<T> {
        InstanceState(RefCell::new(value))
    }

    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        self.0.borrow_mut()
    }
}

// SAFETY: a wasm32-wasip2 instance runs on one thread (the target has no threads); the `RefCell`
// catches a borrow held across an await.
unsafe impl<T> Sync for InstanceState<T> {}
