//! Every file `aim` reads back, mutated (bytes flipped, truncated, RON numbers replaced): reading
//! it must end in `Ok` or a clear `Err`, never a panic (issue 13). The readers are called in
//! process, as the commands call them; a panic is caught and fails the case.

use aim::data::progress::Progress;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A finished tiny run: its folder, spec, cache folder, architecture and checkpoint.
struct Fixture {
    _dir: tempfile::TempDir,
    spec: aim::spec::Spec,
    cache: PathBuf,
    arch: PathBuf,
    ckpt: PathBuf,
    model: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // Under target/: a static is never dropped, so the folder outlives the run.
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let text = "experiment \"m\" {\n  seed = 2\n  data {\n    format = synthetic\n    rows = 3_000\n    fields = 4\n    vocab = 6\n    planted = [inner(f0, f1, strength = 2.0)]\n  }\n  model {\n    embedding_dim = 4\n    mlp = [8]\n    batch_size = 500\n    epochs = 1\n  }\n  search interactions {\n    functions = [inner, outer]\n    optimizer = grda(lr = 1.0, c = 0.05, mu = 0.6)\n    epochs = 1\n  }\n  search embedding_dims {\n    optimizer = grda(lr = 1.0, c = 0.01, mu = 0.51)\n    epochs = 1\n  }\n  retrain {\n    mlp = [8]\n    epochs = 1\n  }\n  output = \"out/m.ron\"\n}\n";
        let path = dir.path().join("m.aim");
        std::fs::write(&path, text).unwrap();
        let l = aim::spec::load(&path).unwrap();
        let spec = l.spec.unwrap();
        let found = aim::stages::pipeline(&spec, text, None, &Progress::hidden(), &mut |_, _| {})
            .unwrap();
        aim::io::write_ron(&spec.output, &found.arch).unwrap();
        let (model_file, _) = aim::saved::save_beside_output(
            &spec,
            &found.data,
            found.model.as_ref().unwrap(),
            "test",
            "m.model.safetensors",
            None,
        )
        .unwrap();
        let (ds, _) = aim::data::prepare(&spec, false, &Progress::hidden()).unwrap();
        // A checkpoint of one epoch of the base model.
        let cfg = aim::model::ModelConfig::base(&spec.model, aim::train::fields(&ds, 4).unwrap())
            .unwrap();
        let mut model = aim::model::Model::new(cfg, 1);
        let mut opt = aim::model::Optimizers::new(1e-3, 0.0);
        let ckpt = dir.path().join("m.ckpt");
        let o = aim::train::TrainOptions::for_model(&spec.model, 1);
        aim::train::Trainer::new(&ds, &o, &Progress::hidden())
            .fit(
                &mut model,
                &mut opt,
                Default::default(),
                &mut aim::train::OnCheckpoint::new(|m, o, s| {
                    aim::checkpoint::save(&ckpt, "k", m, o, s)
                }),
            )
            .unwrap();
        Fixture {
            cache: ds.dir.clone(),
            arch: spec.output.clone(),
            ckpt,
            model: model_file,
            spec,
            _dir: dir,
        }
    })
}

/// One mutation of a file's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    /// Byte at (position mod length) xor-ed with a non-zero value.
    Flip(usize, u8),
    /// Cut at (position mod length).
    Truncate(usize),
    /// In a text file, the (n mod count)-th number replaced.
    Number(usize, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(p, v)| Mutation::Flip(p, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            prop::sample::select(vec![
                "-1",
                "0",
                "1e40",
                "NaN",
                "inf",
                "18446744073709551616",
                "4294967296",
                "999999",
                "0.5",
                "\"x\"",
                "[]",
            ])
        )
            .prop_map(|(n, s)| Mutation::Number(n, s)),
    ]
}

fn apply(bytes: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match *m {
        Mutation::Flip(p, v) if !b.is_empty() => {
            let i = p % b.len();
            b[i] ^= v;
        }
        Mutation::Truncate(p) => b.truncate(p % (b.len() + 1)),
        Mutation::Number(n, s) => {
            let text = String::from_utf8_lossy(&b).into_owned();
            let spans: Vec<(usize, usize)> = regex_numbers(&text);
            if !spans.is_empty() {
                let (a, e) = spans[n % spans.len()];
                b = format!("{}{s}{}", &text[..a], &text[e..]).into_bytes();
            }
        }
        _ => {}
    }
    b
}

/// Byte spans of the numbers in `text` (digits with an optional sign, point and exponent).
fn regex_numbers(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let start = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_digit() || matches!(b[j], b'.' | b'e' | b'E' | b'-' | b'_'))
            {
                j += 1;
            }
            out.push((start, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Runs `read` and fails the case if it panics.
fn no_panic(what: &str, m: &Mutation, read: impl FnOnce()) -> Result<(), TestCaseError> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    prop_assert!(r.is_ok(), "{what} with {m:?}: panicked");
    Ok(())
}

/// A copy of the cache folder with `file` mutated.
fn mutated_cache(file: &str, m: &Mutation) -> tempfile::TempDir {
    let f = fixture();
    let out = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&f.cache).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_owned();
        let bytes = std::fs::read(&p).unwrap();
        let bytes = if name == file {
            apply(&bytes, m)
        } else {
            bytes
        };
        std::fs::write(out.path().join(name), bytes).unwrap();
    }
    out
}

fn read_mutated(path: &Path, m: &Mutation) -> tempfile::NamedTempFile {
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(t.path(), apply(&std::fs::read(path).unwrap(), m)).unwrap();
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn architecture_files(m in mutation()) {
        let t = read_mutated(&fixture().arch, &m);
        no_panic("the architecture", &m, || {
            if let Ok(a) = aim::arch::Architecture::load(t.path()) {
                let _ = a.show(10);
                let _ = serde_json::to_string(&a).unwrap();
            }
        })?;
    }

    #[test]
    fn cache_files(m in mutation(), file in prop::sample::select(vec!["meta.ron", "vocab.ron", "train.ids.npy", "train.labels.npy", "valid.ids.npy", "test.labels.npy"])) {
        let dir = mutated_cache(file, &m);
        no_panic(file, &m, || {
            if let Ok(ds) = aim::data::Dataset::open(dir.path()) {
                let _ = ds.vocab();
                // What training reads: every split's rows through the tables.
                let cfg = aim::model::ModelConfig::base(
                    &fixture().spec.model,
                    aim::train::fields(&ds, 4).unwrap(),
                );
                // A vocabulary past this machine's memory is an error, not an abort.
                if let Ok(mut model) = cfg.and_then(|cfg| aim::model::Model::try_new(cfg, 1)) {
                    for split in &ds.splits {
                        let _ = aim::train::evaluate(&mut model, split, 512);
                    }
                }
            }
        })?;
    }

    #[test]
    fn checkpoints(m in mutation()) {
        let f = fixture();
        let t = read_mutated(&f.ckpt, &m);
        let (ds, _) = aim::data::prepare(&f.spec, false, &Progress::hidden()).unwrap();
        no_panic("the checkpoint", &m, || {
            let cfg = aim::model::ModelConfig::base(&f.spec.model, aim::train::fields(&ds, 4).unwrap())
                .unwrap();
            let mut model = aim::model::Model::new(cfg, 1);
            let mut opt = aim::model::Optimizers::new(1e-3, 0.0);
            if let Ok(Some(_)) = aim::checkpoint::load(t.path(), "k", &mut model, &mut opt) {
                let _ = aim::train::evaluate(&mut model, &ds.splits[1], 512);
            }
        })?;
    }

    #[test]
    fn saved_models(m in mutation()) {
        let t = read_mutated(&fixture().model, &m);
        let bytes = std::fs::read(t.path()).unwrap();
        no_panic("the saved model", &m, || {
            if let Ok(mut s) = aim::saved::read(t.path(), &bytes) {
                // Id 0 (out-of-vocabulary) exists in every field, whatever the file says.
                let cols = s.model.cfg.fields.iter().filter(|f| !f.multi).count();
                let b = aim::data::Batch::from_matrix(vec![0; 4 * cols], 4);
                let _ = s.model.predict(&b);
            }
        })?;
    }

    #[test]
    fn stages_files(m in mutation()) {
        let f = fixture();
        let path = aim::stages::Finished::path(&f.spec);
        let t = read_mutated(&path, &m);
        no_panic("the stages file", &m, || {
            let _ = aim::stages::Finished::load(t.path(), "any");
        })?;
    }
}

/// The harness reads what it means to: the fixture files load as they are, and a cut in half
/// (or a count replaced by a negative number) is an error, not a pass-through.
#[test]
fn the_readers_see_the_mutations() {
    let f = fixture();
    assert!(aim::arch::Architecture::load(&f.arch).is_ok());
    let half = read_mutated(
        &f.arch,
        &Mutation::Truncate(std::fs::metadata(&f.arch).unwrap().len() as usize / 2),
    );
    assert!(aim::arch::Architecture::load(half.path()).is_err());
    assert!(aim::data::Dataset::open(&f.cache).is_ok());
    let model = std::fs::read(&f.model).unwrap();
    assert!(aim::saved::read(&f.model, &model).is_ok());
    assert!(aim::saved::read(&f.model, &model[..model.len() / 2]).is_err());
    let cut = mutated_cache("train.ids.npy", &Mutation::Truncate(200));
    let e = aim::data::Dataset::open(cut.path())
        .err()
        .expect("a truncated ids file");
    assert!(format!("{e:#}").contains("train.ids.npy"), "{e:#}");
    let (ds, _) = aim::data::prepare(&f.spec, false, &Progress::hidden()).unwrap();
    let cfg =
        aim::model::ModelConfig::base(&f.spec.model, aim::train::fields(&ds, 4).unwrap()).unwrap();
    let mut model = aim::model::Model::new(cfg, 1);
    let mut opt = aim::model::Optimizers::new(1e-3, 0.0);
    assert!(matches!(
        aim::checkpoint::load(&f.ckpt, "k", &mut model, &mut opt),
        Ok(Some(_))
    ));
    let cut = read_mutated(&f.ckpt, &Mutation::Truncate(100));
    assert!(aim::checkpoint::load(cut.path(), "k", &mut model, &mut opt).is_err());
}
