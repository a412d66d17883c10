//! A model's learned values: its parameters in a fixed order, snapshots for restoring the best
//! epoch, and the batch norms' running statistics.

use super::*;
use crate::nn::embedding::Table;
use crate::nn::Param;

impl Model {
    /// Every dense parameter.
    pub fn params(&self) -> Vec<&Param> {
        let mut out: Vec<&Param> = vec![&self.bias];
        out.extend(
            self.dim_gates
                .iter()
                .take(1)
                .filter_map(|g| g.param.as_ref()),
        );
        for o in &self.orders {
            for b in &o.blocks {
                out.extend(b.function.kernel.iter());
                out.extend(b.gate.param.iter());
            }
        }
        if let Some(m) = &self.mlp {
            out.extend(m.params());
        }
        out
    }

    /// Every dense parameter, mutable, in the order of [`Model::params`] (for tests that perturb
    /// weights).
    #[doc(hidden)]
    pub fn params_for_test(&mut self) -> Vec<&mut Param> {
        self.params_mut()
    }

    /// Every dense parameter, mutable, in the order of [`Model::params`].
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut out: Vec<&mut Param> = vec![&mut self.bias];
        // β is one parameter shared by the tables: the first gate holds it.
        out.extend(
            self.dim_gates
                .iter_mut()
                .take(1)
                .filter_map(|g| g.param.as_mut()),
        );
        for o in &mut self.orders {
            for b in &mut o.blocks {
                out.extend(b.function.kernel.iter_mut());
                out.extend(b.gate.param.iter_mut());
            }
        }
        if let Some(m) = &mut self.mlp {
            out.extend(m.params_mut());
        }
        out
    }

    /// Number of trained values: embeddings (kept positions only), linear weights and dense
    /// parameters.
    pub fn num_params(&self) -> usize {
        self.tables.iter().map(Table::num_weights).sum::<usize>()
            + self.linear.as_ref().map_or(0, Table::num_weights)
            + self.params().iter().map(|p| p.len()).sum::<usize>()
    }

    /// Every learned value, for restoring the best epoch: dense parameters, tables, statistics.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            params: self.params().iter().map(|p| p.values()).collect(),
            tables: self
                .tables
                .iter()
                .chain(self.linear.iter())
                .map(Table::weights)
                .collect(),
            running: self
                .running()
                .into_iter()
                .map(|r| (r.mean.clone(), r.var.clone()))
                .collect(),
        }
    }

    /// Restores a snapshot taken of this model.
    pub fn restore(&mut self, s: &Snapshot) {
        for (p, v) in self.params_mut().into_iter().zip(&s.params) {
            p.set(v);
        }
        for (t, w) in self
            .tables
            .iter_mut()
            .chain(self.linear.iter_mut())
            .zip(&s.tables)
        {
            t.set_weights(w);
        }
        for (r, (m, v)) in self.running_mut().into_iter().zip(&s.running) {
            r.mean.clone_from(m);
            r.var.clone_from(v);
        }
    }

    /// Every batch norm's running statistics, in a fixed order.
    pub fn running(&self) -> Vec<&crate::nn::batch_norm::Running> {
        let mut out: Vec<&crate::nn::batch_norm::Running> = self
            .dim_gates
            .iter()
            .filter_map(|g| g.running.as_ref())
            .collect();
        for o in &self.orders {
            out.extend(o.blocks.iter().filter_map(|b| b.gate.running.as_ref()));
        }
        if let Some(n) = self.mlp.as_ref().and_then(|m| m.norms.as_ref()) {
            out.extend(n.iter());
        }
        out
    }

    /// A name for each of [`Model::running`]'s statistics, in its order: `beta.table{t}` for
    /// the dimension gates, the gate's parameter name (`order2.inner.alpha`) for an
    /// interaction block's, `mlp.bn{i}` for the MLP's hidden layers.
    pub fn running_names(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .dim_gates
            .iter()
            .enumerate()
            .filter(|(_, g)| g.running.is_some())
            .map(|(t, _)| format!("beta.table{t}"))
            .collect();
        for o in &self.orders {
            for b in &o.blocks {
                if b.gate.running.is_some() {
                    out.push(format!(
                        "order{}.{}.alpha",
                        o.order,
                        b.function.function.name()
                    ));
                }
            }
        }
        if let Some(n) = self.mlp.as_ref().and_then(|m| m.norms.as_ref()) {
            out.extend((0..n.len()).map(|i| format!("mlp.bn{i}")));
        }
        out
    }

    /// Every batch norm's running statistics, mutable, in the order of [`Model::running`].
    pub fn running_mut(&mut self) -> Vec<&mut crate::nn::batch_norm::Running> {
        let mut out: Vec<&mut crate::nn::batch_norm::Running> = self
            .dim_gates
            .iter_mut()
            .filter_map(|g| g.running.as_mut())
            .collect();
        for o in &mut self.orders {
            out.extend(o.blocks.iter_mut().filter_map(|b| b.gate.running.as_mut()));
        }
        if let Some(n) = self.mlp.as_mut().and_then(|m| m.norms.as_mut()) {
            out.extend(n.iter_mut());
        }
        out
    }
}
