//! What std would provide the component: an allocator, a panic handler, the canonical ABI's
//! `cabi_realloc`, and instance-wide state. The benchmark's floor component includes this file
//! too (with `heap.rs`), so both pay the same for memory.

use crate::heap::{Heap, PAGE};
use core::alloc::{GlobalAlloc, Layout};
use core::cell::{RefCell, RefMut, UnsafeCell};
use core::sync::atomic::{AtomicBool, Ordering};

/// [`Heap`] as the global allocator.
struct ComponentAllocator(UnsafeCell<Heap>);

// SAFETY: a wasm32-wasip2 instance runs on one thread, and the heap never calls back into the
// allocator, so no two borrows of the heap overlap.
unsafe impl Sync for ComponentAllocator {}

#[global_allocator]
static ALLOCATOR: ComponentAllocator = ComponentAllocator(UnsafeCell::new(Heap::new(grow)));

unsafe extern "C" {
    /// Set by the linker: where the module's data ends and the heap may begin.
    static __heap_base: u8;
}

/// The heap's memory: first what the initial memory has past the data and stack, then pages
/// from `memory.grow`.
fn grow(pages: usize) -> Option<(usize, usize)> {
    static INITIAL_TAKEN: AtomicBool = AtomicBool::new(false);
    if !INITIAL_TAKEN.swap(true, Ordering::Relaxed) {
        let start = &raw const __heap_base as usize;
        let end = core::arch::wasm32::memory_size(0) * PAGE;
        if start < end {
            return Some((start, end));
        }
    }
    let previous = core::arch::wasm32::memory_grow(0, pages);
    (previous != usize::MAX).then(|| (previous * PAGE, (previous + pages) * PAGE))
}

impl ComponentAllocator {
    #[allow(clippy::mut_from_ref)] // single-threaded and not reentrant: see the `Sync` impl
    fn heap(&self) -> &mut Heap {
        // SAFETY: see the `Sync` impl.
        unsafe { &mut *self.0.get() }
    }
}

unsafe impl GlobalAlloc for ComponentAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.heap().allocate(layout.size(), layout.align())
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: `GlobalAlloc`'s contract is `Heap::release`'s.
        unsafe { self.heap().release(block, layout.size(), layout.align()) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `GlobalAlloc`'s contract is `Heap::resize`'s.
        unsafe {
            self.heap()
                .resize(block, layout.size(), layout.align(), new_size)
        }
    }
}

// memcpy and the like come from the target's wasi-libc, as they do under std (memcmp is
// `crate::mem`'s); the linker takes only those objects from it, none that import WASI interfaces.
#[link(name = "c")]
unsafe extern "C" {}

/// The canonical ABI's allocator, which the host calls to pass lists and strings in. wit-bindgen
/// leaves it to wasi-libc on wasip2, which would bring its malloc; this one is the global
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
    use alloc::alloc::{alloc, realloc};
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

    /// The state, or `None` if it is already borrowed (a reentrant call).
    pub fn try_borrow_mut(&self) -> Option<RefMut<'_, T>> {
        self.0.try_borrow_mut().ok()
    }
}

// SAFETY: a wasm32-wasip2 component instance runs on one thread (the target has no threads), so
// the state is never reached from two threads; the `RefCell` catches reentrance.
unsafe impl<T> Sync for InstanceState<T> {}
