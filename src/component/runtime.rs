//! What std would provide the component: an allocator, a panic handler, and instance-wide state.

use core::cell::RefCell;

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

// memcpy, memcmp and the like come from the target's wasi-libc, as they do under std; the linker
// takes only those objects from it, none that import WASI interfaces.
#[link(name = "c")]
unsafe extern "C" {}

/// The canonical ABI's allocator, which the host calls to pass lists and strings in. wit-bindgen
/// leaves it to wasi-libc on wasip2, which would bring a second malloc; this one is the global
/// allocator's.
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
    use alloc::alloc::{Layout, alloc, realloc};
    if new_len == 0 {
        // A dangling, aligned pointer: nothing is read or written through it.
        return align as *mut u8;
    }
    // SAFETY: the ABI contract above; sizes come from the host's own lowering.
    let ptr = unsafe {
        if old_len == 0 {
            alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if ptr.is_null() {
        // Out of memory: the host is told by a trap, as std's allocation failure would.
        core::arch::wasm32::unreachable()
    }
    ptr
}

/// The core returns errors instead of panicking; should a bug panic anyway, the instance traps
/// (the host sees the trap; there is no stderr to print to, and none is imported).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// State for the life of the instance, like a `thread_local!` without std.
pub struct InstanceState<T>(RefCell<T>);

impl<T> InstanceState<T> {
    pub const fn new(value: T) -> InstanceState<T> {
        InstanceState(RefCell::new(value))
    }

    pub fn with_borrow_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.borrow_mut())
    }
}

// SAFETY: a wasm32-wasip2 component instance runs on one thread (the target has no threads), so
// the state is never reached from two threads; the `RefCell` catches reentrance.
unsafe impl<T> Sync for InstanceState<T> {}
