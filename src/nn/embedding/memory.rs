//! How the tables meet memory: huge pages for the table, prefetches and fixed-size copies for
//! the scattered rows a batch reads.

/// Asks the kernel to back `v`'s reserved capacity with 2 MiB pages (Linux transparent huge
/// pages in `madvise` mode), before it is written. Batches touch rows scattered over hundreds of
/// megabytes, and with 4 KiB pages nearly every row is also a TLB miss.
pub(super) fn advise_huge_pages(v: &mut Vec<f32>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_mut_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<f32>();
        let (a, b) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if b > a {
            // SAFETY: [a, b) lies inside the vector's own allocation; the advice changes only how
            // the kernel backs it, not its contents. A failure (no THP support) is harmless.
            unsafe {
                libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// `dst.copy_from_slice(src)` in 16-float pieces of constant size, which compile to vector
/// moves; a copy of a run-time length calls memmove, whose call costs more than the 64 bytes.
/// A one-float row (the linear term's) is a plain move.
#[inline(always)]
pub(super) fn copy_row(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "row lengths");
    if let ([a], [b]) = (&mut *dst, src) {
        *a = *b;
        return;
    }
    let mut d = dst.chunks_exact_mut(16);
    let mut s = src.chunks_exact(16);
    for (a, b) in (&mut d).zip(&mut s) {
        let a: &mut [f32; 16] = a.try_into().expect("a block");
        *a = b.try_into().expect("a block");
    }
    d.into_remainder().copy_from_slice(s.remainder());
}

/// How many rows ahead the gather and the update fetch: the rows are scattered over the table,
/// and each is a cache miss the hardware prefetcher cannot predict. With 64-byte-aligned
/// 16-float rows, 16 ahead gathered 20–25% faster than 8 (AMD EPYC, 2 threads; 24 and 32 no
/// better); the update, which sorts its rows first, did not change.
pub(super) const PREFETCH: usize = 16;

/// Hints that `data[start .. start + len]` is about to be read (a no-op off x86-64): every
/// cache line the range touches, so a row that straddles two lines (an unaligned width) has
/// both fetched. Any range is fine: the addresses are formed with `wrapping_*` (an
/// out-of-bounds `add` would be undefined even for a hint), and a prefetch never faults.
#[inline]
pub(super) fn prefetch(data: &[f32], start: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        if len == 0 {
            return;
        }
        let first = data.as_ptr().wrapping_add(start).cast::<i8>();
        let last = data.as_ptr().wrapping_add(start + len - 1).cast::<i8>();
        // From the line holding the first float to the one holding the last.
        let lines = (last as usize / 64).wrapping_sub(first as usize / 64);
        let mut p = first.wrapping_sub(first as usize % 64);
        for _ in 0..=lines.min(len) {
            // SAFETY: SSE is part of x86-64; a prefetch reads nothing and never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p) };
            p = p.wrapping_add(64);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, start, len);
}
