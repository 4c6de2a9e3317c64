//! The backend is chosen by cargo feature, never in model code: `flex` (burn's pure-Rust CPU
//! backend, the default), `wgpu` (Vulkan, Metal, DX12) or `cuda`. With several compiled in,
//! burn picks the first of cuda, wgpu, flex, and `BURN_DEVICE=flex|wgpu|cuda` overrides it.

use burn::prelude::*;

#[cfg(not(any(
    feature = "flex",
    feature = "wgpu",
    feature = "cuda",
    feature = "ndarray"
)))]
compile_error!(
    "tinderbox needs a backend: enable one of the features `flex` (default), `wgpu` or `cuda`"
);

/// The allocator that tinderbox's examples and benches install (feature `mimalloc`, on by
/// default). burn allocates a fresh buffer for every tensor op; glibc's `malloc` hands large
/// buffers back to the kernel on every free, so each training step pays for page faults and TLB
/// shoot-downs. With mimalloc the MNIST CNN's step is about 3x faster on the CPU backend. A
/// binary of your own opts in with:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: tinderbox::backend::Allocator = tinderbox::backend::Allocator;
/// ```
///
/// Call [`keep_freed_memory`] and [`flush_denormals`] first thing in `main` as well.
#[cfg(feature = "mimalloc")]
pub use mimalloc::MiMalloc as Allocator;

/// Tells [`Allocator`] to keep memory that the program frees for its next allocations instead of
/// returning it to the kernel after 10 ms (mimalloc's default). A training step frees and
/// allocates the same large buffers again and again; giving them back means the kernel zeroes
/// fresh pages for every op, a fifth of a MiniLM fine-tuning step on two cores. The cost: the
/// process keeps its peak footprint until it exits, as PyTorch's CPU allocator does. A no-op
/// without the `mimalloc` feature.
pub fn keep_freed_memory() {
    #[cfg(feature = "mimalloc")]
    // SAFETY: sets one of mimalloc's runtime options; takes no pointers and is safe at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
}

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (v2 and v3); libmimalloc-sys names only
/// some of the options.
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Flushes subnormal `f32` values to zero (the FTZ and DAZ flags) on this thread and on every
/// thread of rayon's global pool, where burn's CPU backend and tinderbox's fused kernels compute.
///
/// Why: Intel CPUs take a microcode assist, about a hundred cycles, for every instruction that
/// meets a subnormal, and training makes them: Adam's second moments of small gradients decay
/// below `f32::MIN_POSITIVE` (1.2e-38). On this project's Intel build machine the MNIST CNN's
/// step at batch 32 took 28.6 ms with them and 8.5 ms without. Values that small change no
/// result that a test or a metric reads. x86-64 only (a no-op elsewhere); threads started later
/// keep their own setting. The examples and benches call it first thing in `main`, with
/// [`keep_freed_memory`].
pub fn flush_denormals() {
    #[cfg(target_arch = "x86_64")]
    {
        // The intrinsics are deprecated only in favour of inline assembly doing the same.
        #[allow(deprecated)]
        fn flush_on_this_thread() {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            // FTZ (bit 15): subnormal results become 0; DAZ (bit 6): subnormal inputs read as 0.
            const FTZ_DAZ: u32 = 0x8040;
            // SAFETY: sets two flags of this thread's SSE control register; every x86-64 CPU has
            // both, and nothing else in the register changes.
            unsafe { _mm_setcsr(_mm_getcsr() | FTZ_DAZ) };
        }
        flush_on_this_thread();
        rayon::broadcast(|_| flush_on_this_thread());
    }
}

/// The device that the compiled-in backends and `BURN_DEVICE` select.
pub fn default_device() -> Device {
    Device::default()
}

/// A short name for the backend behind `device`: `flex`, `wgpu`, `cuda`, or burn's description.
pub fn backend_name(device: &Device) -> String {
    let description = format!("{device:?}");
    for (needle, name) in [
        ("Cuda", "cuda"),
        ("Wgpu", "wgpu"),
        ("Flex", "flex"),
        ("NdArray", "ndarray"),
    ] {
        if description.contains(needle) {
            return name.to_string();
        }
    }
    description
}

/// The peak resident memory of this process in bytes (Linux `VmHWM`), if the platform reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_default_backend() {
        let name = backend_name(&default_device());
        assert!(["flex", "wgpu", "cuda"].contains(&name.as_str()), "{name}");
        #[cfg(target_os = "linux")]
        assert!(peak_rss_bytes().unwrap() > 1 << 20);
    }
}
