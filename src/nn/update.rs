//! How a parameter is trained: the rule names its optimizer and carries what that optimizer
//! needs (GRDA's schedule), so the step reads no per-name settings.

/// Which optimizer updates a parameter.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Update {
    /// Adam (the model's weights).
    Adam,
    /// GRDA with these settings (architecture gates during a search).
    Grda(GrdaSchedule),
    /// Not updated.
    Frozen,
}

/// GRDA's settings for one run: the learning rate γ and the threshold's scale c and growth μ.
/// A spec's `grda(…)` with `c = auto` becomes one of these per rung of its ladder.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GrdaSchedule {
    /// Learning rate γ.
    pub lr: f64,
    /// Threshold scale c.
    pub c: f64,
    /// Threshold growth exponent μ ∈ (0, 1).
    pub mu: f64,
}

impl GrdaSchedule {
    /// The L1 threshold after `t` steps: c·γ^½·(tγ)^μ.
    pub fn threshold(&self, t: u64) -> f64 {
        self.c * self.lr.sqrt() * (t as f64 * self.lr).powf(self.mu)
    }
}
