//! `aim`: the Automatic Interaction Machine for click-through-rate prediction.
//!
//! The crate follows the pipeline of a run: [`spec`] (text → checked spec), [`plan`] (spec →
//! fields, candidates, stage budgets), [`data`] (files → id matrices).

#![warn(missing_docs)]

pub mod arch;
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod optim;
pub mod plan;
pub mod spec;
pub mod stages;
pub mod stats;
pub mod text;
pub mod train;
