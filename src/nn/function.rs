//! The interaction functions: what a layer computes, and their names in the spec language.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An interaction function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InteractionFn {
    /// Σ_k Π_q e_{q,k}.
    Inner,
    /// The outer product approximated as Π_q (w_qᵀ e_q).
    Outer,
    /// Σ_k φ_k Π_q e_{q,k} with a learned vector φ per interaction.
    VectorKernel,
    /// s · Σ_k Π_q e_{q,k} with a learned scalar s per interaction.
    ScalarKernel,
}

impl InteractionFn {
    /// All four, in the canonical order.
    pub const ALL: [InteractionFn; 4] = [
        InteractionFn::Inner,
        InteractionFn::Outer,
        InteractionFn::VectorKernel,
        InteractionFn::ScalarKernel,
    ];

    /// The function's name in the spec language.
    pub fn name(self) -> &'static str {
        match self {
            InteractionFn::Inner => "inner",
            InteractionFn::Outer => "outer",
            InteractionFn::VectorKernel => "vector_kernel",
            InteractionFn::ScalarKernel => "scalar_kernel",
        }
    }

    /// The function with this spec name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for InteractionFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
