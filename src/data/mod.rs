//! Turning what a user has on disk (or a generator) into the id matrices training reads.

pub mod formats;
pub mod split;
