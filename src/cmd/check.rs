//! `aim check SPEC…`: checks a spec and prints its plan.

use std::path::Path;

/// Checks the spec at `path` and prints its plan.
pub fn run(path: &Path) -> super::Result {
    let (_, spec) = super::load(path)?;
    let plan = crate::plan::Plan::new(spec);
    println!("{}: ok", path.display());
    print!("{plan}");
    Ok(())
}
