//! The machine a benchmark ran on: its CPU, the SIMD path gemm takes there, the thread count.

use serde::Serialize;

/// The CPU a benchmark ran on: a speed claim holds for that CPU, not every one.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `model name` of /proc/cpuinfo (or `unknown`).
    pub cpu: String,
    /// The matrix-product kernels gemm dispatches to on it: `avx512` (x86-64-v4), `avx2`
    /// (x86-64-v3: AVX2 + FMA) or `scalar` (SSE2 or another architecture).
    pub gemm_path: &'static str,
    /// Rayon threads.
    pub threads: usize,
}

impl Machine {
    /// This machine.
    pub fn here() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu,
            gemm_path: gemm_path(),
            threads: rayon::current_num_threads(),
        }
    }
}

/// Which of gemm's kernel families this CPU gets (its runtime dispatch: x86-64-v4 needs
/// AVX-512 F/BW/CD/DQ/VL, x86-64-v3 AVX2 and FMA).
fn gemm_path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f")
            && has!("avx512bw")
            && has!("avx512cd")
            && has!("avx512dq")
            && has!("avx512vl")
        {
            return "avx512";
        }
        if has!("avx2") && has!("fma") {
            return "avx2";
        }
    }
    "scalar"
}
