//! The `retrain { … }` block.

use super::*;

/// The re-train defaults to the base model's MLP and budget: the comparison with the base is
/// then about the architecture alone.
pub(super) fn retrain_block(sink: &mut Sink, b: &Block, model: &ModelSpec) -> Retrain {
    let t = Table::new(
        sink,
        "retrain".into(),
        b.header,
        &b.items,
        &["optimizer", "mlp", "input", "epochs", "patience"],
        &[],
    );
    let names: Vec<&str> = RetrainInput::ALL.iter().map(|(n, _)| *n).collect();
    Retrain {
        optimizer: adam(sink, &t, "optimizer", model.optimizer),
        mlp: t.int_list(sink, "mlp", &model.mlp, 1),
        input: t
            .choice(sink, "input", &names)
            .and_then(|n| RetrainInput::ALL.iter().find(|(m, _)| *m == n))
            .map_or(RetrainInput::default(), |(_, i)| *i),
        epochs: t.count(sink, "epochs", model.epochs, 1),
        patience: t.count(sink, "patience", model.patience, 1),
    }
}
