//! Optimizers: Adam for dense weights (dfdx's kernel), lazy sparse Adam for embedding rows
//! (`crate::nn::embedding`), and GRDA for architecture gates.

pub mod adam;
pub mod grda;
