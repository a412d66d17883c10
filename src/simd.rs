//! The instruction set the hot loops run with, chosen once per process: the best this CPU has,
//! or the one `AIM_SIMD` names (`scalar`, `avx2` or `avx512`), so that every path can be tested
//! and timed on one machine.
//!
//! The binary is built for baseline x86-64 (no `-C target-cpu`), so that it runs on any x86-64.
//! A kernel body runs through [`vectorized`], which calls it inside a function compiled with the chosen
//! path's target features; the body is inlined there and LLVM vectorises it for that width. The
//! kernels fix their lanes in the source and Rust never contracts a multiply and an add into an
//! FMA, so every path gives bit-identical results (the tests compare them exactly). gemm, the
//! MLP's matrix products, follows the same choice (`nn::kernels::dense`); its paths agree to
//! rounding, not bit for bit (its AVX kernels use FMA).

use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that forces a path.
pub const ENV: &str = "AIM_SIMD";

/// A SIMD path: the target features the kernels are compiled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    /// Baseline x86-64 (SSE2), or any other architecture.
    Scalar,
    /// AVX2 and FMA (x86-64-v3).
    Avx2,
    /// AVX-512 F, BW, DQ and VL with AVX2 and FMA (x86-64-v4).
    Avx512,
}

impl Path {
    /// Every path, slowest first.
    pub const ALL: [Path; 3] = [Path::Scalar, Path::Avx2, Path::Avx512];

    /// The name `AIM_SIMD` takes.
    pub fn name(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
        }
    }

    /// The CPU features the path needs, as /proc/cpuinfo names them.
    fn needs(self) -> &'static str {
        match self {
            Path::Scalar => "nothing",
            Path::Avx2 => "avx2 and fma",
            Path::Avx512 => "avx512f, avx512bw, avx512dq, avx512vl, avx2 and fma",
        }
    }

    /// Whether this CPU can run the path.
    pub fn available(self) -> bool {
        match self {
            Path::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => {
                use std::arch::is_x86_feature_detected as has;
                has!("avx2") && has!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => {
                use std::arch::is_x86_feature_detected as has;
                Path::Avx2.available()
                    && has!("avx512f")
                    && has!("avx512bw")
                    && has!("avx512dq")
                    && has!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest path this CPU can run.
    pub fn best() -> Path {
        *Path::ALL
            .iter()
            .rev()
            .find(|p| p.available())
            .unwrap_or(&Path::Scalar)
    }

    /// The paths this CPU can run, slowest first.
    pub fn available_all() -> Vec<Path> {
        Path::ALL.into_iter().filter(|p| p.available()).collect()
    }

    /// Parses an `AIM_SIMD` value and checks this CPU can run it.
    pub fn parse(value: &str) -> Result<Path, String> {
        let names: Vec<&str> = Path::available_all().iter().map(|p| p.name()).collect();
        let p = Path::ALL
            .into_iter()
            .find(|p| p.name() == value.trim())
            .ok_or_else(|| {
                format!(
                    "{ENV}={value:?} is not a SIMD path: expected one of scalar, avx2, avx512 \
                     (this CPU can run {})",
                    names.join(", ")
                )
            })?;
        if !p.available() {
            return Err(format!(
                "{ENV}={} needs {}, which this CPU ({}) lacks; it can run {}",
                p.name(),
                p.needs(),
                cpu_model(),
                names.join(", ")
            ));
        }
        Ok(p)
    }
}

/// `model name` of /proc/cpuinfo, or `unknown`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

const UNSET: u8 = u8::MAX;

/// The chosen path as its index in [`Path::ALL`]; only ever a path this CPU has.
static CHOSEN: AtomicU8 = AtomicU8::new(UNSET);

/// The path `AIM_SIMD` asks for, or the best one when it is unset.
pub fn from_env() -> Result<Path, String> {
    match std::env::var(ENV) {
        Ok(v) if v.trim().is_empty() => Ok(Path::best()),
        Ok(v) => Path::parse(&v),
        Err(std::env::VarError::NotPresent) => Ok(Path::best()),
        Err(std::env::VarError::NotUnicode(v)) => Err(format!(
            "{ENV}={v:?} is not a SIMD path: expected one of scalar, avx2, avx512"
        )),
    }
}

/// Chooses the path from `AIM_SIMD` at start-up: an invalid value, or a path this CPU cannot
/// run, is an error here rather than an illegal instruction later.
pub fn init() -> Result<Path, String> {
    let p = from_env()?;
    force(p)?;
    Ok(p)
}

/// Makes every kernel from now on run `p` (tests and benchmarks compare the paths). An error if
/// this CPU cannot run it.
pub fn force(p: Path) -> Result<(), String> {
    if !p.available() {
        return Path::parse(p.name()).map(|_| ());
    }
    CHOSEN.store(p as u8, Ordering::Relaxed);
    Ok(())
}

thread_local! {
    /// A path forced for this thread alone (the tests' thread pools), over [`CHOSEN`].
    static LOCAL: std::cell::Cell<u8> = const { std::cell::Cell::new(UNSET) };
}

/// The path the kernels take.
#[inline]
pub fn path() -> Path {
    let local = LOCAL.with(|c| c.get());
    if local != UNSET {
        return Path::ALL[local as usize];
    }
    match CHOSEN.load(Ordering::Relaxed) {
        UNSET => {
            // Library use without `init` (the tests): the CLI has already reported a bad value.
            let p = from_env().unwrap_or_else(|e| panic!("{e}"));
            CHOSEN.store(p as u8, Ordering::Relaxed);
            p
        }
        i => Path::ALL[i as usize],
    }
}

/// Lanes per block in [`zip_update`] and [`update4`]: one AVX-512 register of f32.
const BLOCK: usize = 16;

/// `dst[i] = f(dst[i], x[i])`, 16 elements at a time, each block loaded whole before it is
/// stored. After inlining (rustc's MIR inliner drops the slices' no-alias facts) LLVM cannot
/// tell `dst` from `x` and keeps every lane scalar, in case a store changes a later load; whole
/// blocks leave nothing to reorder, and it emits one vector operation per block. The result is
/// the element-wise `f`, so the same on every SIMD path.
#[inline(always)]
pub(crate) fn zip_update(dst: &mut [f32], x: &[f32], f: impl Fn(f32, f32) -> f32) {
    assert_eq!(dst.len(), x.len(), "zip_update lengths");
    let mut d = dst.chunks_exact_mut(BLOCK);
    let mut s = x.chunks_exact(BLOCK);
    for (dc, sc) in (&mut d).zip(&mut s) {
        let dc: &mut [f32; BLOCK] = dc.try_into().expect("a block");
        let (sv, mut dv): ([f32; BLOCK], [f32; BLOCK]) = (sc.try_into().expect("a block"), *dc);
        for l in 0..BLOCK {
            dv[l] = f(dv[l], sv[l]);
        }
        *dc = dv;
    }
    for (a, &b) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *a = f(*a, b);
    }
}

/// `(w[i], m[i], v[i]) = f(w[i], m[i], v[i], g[i])` (an Adam update), by whole blocks as
/// [`zip_update`].
#[inline(always)]
pub(crate) fn update4(
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: &[f32],
    f: impl Fn(f32, f32, f32, f32) -> (f32, f32, f32),
) {
    let n = w.len();
    assert!(
        m.len() == n && v.len() == n && g.len() == n,
        "update4 lengths"
    );
    let full = n - n % BLOCK;
    for i in (0..full).step_by(BLOCK) {
        let r = i..i + BLOCK;
        let wb: &mut [f32; BLOCK] = (&mut w[r.clone()]).try_into().expect("a block");
        let mb: &mut [f32; BLOCK] = (&mut m[r.clone()]).try_into().expect("a block");
        let vb: &mut [f32; BLOCK] = (&mut v[r.clone()]).try_into().expect("a block");
        let gv: [f32; BLOCK] = g[r].try_into().expect("a block");
        let (mut wv, mut mv, mut vv) = (*wb, *mb, *vb);
        for l in 0..BLOCK {
            (wv[l], mv[l], vv[l]) = f(wv[l], mv[l], vv[l], gv[l]);
        }
        (*wb, *mb, *vb) = (wv, mv, vv);
    }
    for i in full..n {
        (w[i], m[i], v[i]) = f(w[i], m[i], v[i], g[i]);
    }
}

/// Runs a block compiled for the chosen path: `vectorized!({ … })` as the whole body of each
/// parallel task (a rayon closure), so that the loop nest is inlined into a feature-enabled
/// function. Each path gets its own copy of the block as a closure with one call site, which
/// LLVM inlines however large it is (one closure called from three places was not inlined, and
/// so ran as baseline code).
macro_rules! vectorized {
    ($body:block) => {
        match $crate::simd::path() {
            // SAFETY: `path` only returns a path whose features this CPU has: `force` and
            // `path` store only checked choices, and the tests' pools only available paths.
            #[cfg(target_arch = "x86_64")]
            $crate::simd::Path::Avx512 => {
                let body = || $body;
                unsafe { $crate::simd::x86::avx512(body) }
            }
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            $crate::simd::Path::Avx2 => {
                let body = || $body;
                unsafe { $crate::simd::x86::avx2(body) }
            }
            _ => $crate::simd::baseline::scalar(|| $body),
        }
    };
}
pub(crate) use vectorized;

/// The baseline path's wrapper (no target features), so that a body's `return` means the same on
/// every path.
#[doc(hidden)]
pub mod baseline {
    /// Calls `f`.
    #[inline(always)]
    pub fn scalar<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}

#[cfg(target_arch = "x86_64")]
#[doc(hidden)]
pub mod x86 {
    /// # Safety
    /// The CPU must have every feature enabled here.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    #[inline]
    pub unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}

/// Runs `f` once on every path this CPU has, each time in a thread pool of its own whose
/// threads take that path (other tests running meanwhile keep theirs), and returns the results
/// in [`Path::ALL`] order.
#[cfg(test)]
pub(crate) fn on_every_path<R: Send>(mut f: impl FnMut(Path) -> R + Send) -> Vec<(Path, R)> {
    Path::available_all()
        .into_iter()
        .map(|p| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .start_handler(move |_| LOCAL.with(|c| c.set(p as u8)))
                .build()
                .expect("a thread pool");
            let r = pool.install(|| {
                assert_eq!(path(), p, "the pool's threads take the forced path");
                f(p)
            });
            (p, r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_names_are_rejected() {
        for p in Path::available_all() {
            assert_eq!(Path::parse(p.name()), Ok(p));
        }
        let e = Path::parse("avx3").unwrap_err();
        assert!(e.contains("expected one of scalar, avx2, avx512"), "{e}");
        assert!(Path::best().available());
        assert!(Path::Scalar.available());
    }

    #[test]
    fn a_path_this_cpu_lacks_is_an_error_naming_the_features() {
        match Path::ALL.into_iter().find(|p| !p.available()) {
            Some(p) => {
                let e = Path::parse(p.name()).unwrap_err();
                assert!(e.contains("lacks"), "{e}");
                assert!(force(p).is_err());
            }
            // Every path is available here: nothing can be refused.
            None => assert_eq!(Path::best(), Path::Avx512),
        }
    }

    #[test]
    fn every_path_runs_a_closure_and_gives_the_same_bits() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let runs = on_every_path(|_| {
            vectorized!({
                let mut acc = [0.0f32; 16];
                for c in x.chunks_exact(16) {
                    for k in 0..16 {
                        acc[k] += c[k] * c[k] + 0.5 * c[k];
                    }
                }
                acc
            })
        });
        assert!(!runs.is_empty());
        for (p, r) in &runs {
            assert_eq!(r.map(f32::to_bits), runs[0].1.map(f32::to_bits), "{p:?}");
        }
    }
}
