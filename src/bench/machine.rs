//! The machine a benchmark ran on: its CPU, the SIMD paths taken there, the thread count.

use serde::Serialize;

/// The CPU a benchmark ran on: a speed claim holds for that CPU, not every one.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `model name` of /proc/cpuinfo (or `unknown`).
    pub cpu: String,
    /// The path aim's own kernels took (`crate::simd`: the CPU's best, or `AIM_SIMD`'s).
    pub simd_path: crate::simd::Path,
    /// The best path this CPU has.
    pub simd_best: crate::simd::Path,
    /// The matrix-product kernels gemm ran: `avx512` (x86-64-v4), `avx2` (x86-64-v3: AVX2 +
    /// FMA) or `scalar` (SSE2 or another architecture). gemm follows the SIMD path.
    pub gemm_path: &'static str,
    /// Rayon threads.
    pub threads: usize,
}

impl Machine {
    /// This machine.
    pub fn here() -> Self {
        let simd_path = crate::simd::path();
        Machine {
            cpu: crate::simd::cpu_model(),
            simd_path,
            simd_best: crate::simd::Path::best(),
            gemm_path: match simd_path {
                crate::simd::Path::Avx512 => gemm_path(),
                p => p.name(),
            },
            threads: rayon::current_num_threads(),
        }
    }
}

/// Which of gemm's kernel families its own dispatch picks on this CPU (AVX-512 F for its
/// AVX-512 kernels, else AVX2 and FMA).
fn gemm_path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") {
            return "avx512";
        }
        if has!("fma") {
            return "avx2";
        }
    }
    "scalar"
}
