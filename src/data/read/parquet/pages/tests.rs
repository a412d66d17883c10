//! The page reader against files the parquet crate writes, and the hybrid decoder against the
//! format specification.

use super::*;
use ::parquet::data_type::{ByteArray, ByteArrayType};
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::reader::{FileReader, SerializedFileReader};
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::parser::parse_message_type;
use std::sync::Arc;

/// The format specification's example: the bit-packed values 0..7 at width 3 are the bytes
/// 10001000 11000110 11111010; before them, an RLE run of four 5s.
#[test]
fn the_hybrid_decoder_reads_the_specifications_example() {
    let data = Bytes::from_static(&[4 << 1, 5, (1 << 1) | 1, 0x88, 0xC6, 0xFA]);
    let mut h = Hybrid::new(data, 3).unwrap();
    let got: Vec<u32> = (0..12).map(|_| h.next().unwrap()).collect();
    assert_eq!(got, [5, 5, 5, 5, 0, 1, 2, 3, 4, 5, 6, 7]);
    assert!(h.next().is_err(), "past the end is an error, not a value");
}

#[test]
fn cut_off_runs_are_errors_not_panics() {
    // A bit-packed run of 8 values at width 3 needs 3 bytes; one is there.
    let mut h = Hybrid::new(Bytes::from_static(&[3, 0x88]), 3).unwrap();
    let got: Vec<_> = (0..8).map(|_| h.next()).collect();
    assert_eq!(got[0], Ok(0));
    assert!(got.iter().any(|r| r.is_err()), "{got:?}");
    // An RLE run whose value is missing, and a width past 32.
    assert!(Hybrid::new(Bytes::from_static(&[4 << 1]), 9)
        .unwrap()
        .next()
        .is_err());
    assert!(Hybrid::new(Bytes::new(), 33).is_err());
}

/// Writes `values` as one optional string column and reads it back page by page in batches
/// of `batch` rows.
fn round_trip(
    values: &[Option<String>],
    props: WriterProperties,
    batch: usize,
) -> Vec<(Option<String>, u32)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let schema = Arc::new(parse_message_type("message m { optional binary s (UTF8); }").unwrap());
    let mut w = SerializedFileWriter::new(
        std::fs::File::create(&path).unwrap(),
        schema,
        Arc::new(props),
    )
    .unwrap();
    let mut g = w.next_row_group().unwrap();
    let mut c = g.next_column().unwrap().unwrap();
    let vals: Vec<ByteArray> = values.iter().flatten().map(|s| s.as_str().into()).collect();
    let def: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
    c.typed::<ByteArrayType>()
        .write_batch(&vals, Some(&def), None)
        .unwrap();
    c.close().unwrap();
    g.close().unwrap();
    w.close().unwrap();

    let r = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let group = r.get_row_group(0).unwrap();
    assert!(readable(group.metadata().column(0).encodings()));
    let mut pages = StringPages::new(group.get_column_page_reader(0).unwrap(), 1);
    let mut out = Vec::new();
    let mut col = Column::default();
    loop {
        col.clear();
        let n = pages.read(batch, &mut col).unwrap();
        if n == 0 {
            break;
        }
        assert_eq!(col.rows.len(), n + 1);
        for r in 0..n {
            let (k, len) = col.span(r);
            let text = (len == 1).then(|| String::from_utf8(col.text(k).to_vec()).unwrap());
            out.push((text, col.entry(r)));
        }
    }
    out
}

#[test]
fn dictionary_plain_and_null_values_read_back_as_written() {
    let values: Vec<Option<String>> = (0..3_000)
        .map(|i| (i % 7 != 3).then(|| format!("v{}", (i * 13) % 41)))
        .collect();
    let small_pages = || {
        WriterProperties::builder()
            .set_data_page_row_count_limit(100)
            .set_write_batch_size(50)
    };
    // All from the dictionary; then a dictionary that overflows into PLAIN pages; then v2.
    for (name, props, from_dictionary) in [
        ("dictionary", small_pages().build(), Some(true)),
        (
            "overflow",
            small_pages().set_dictionary_page_size_limit(64).build(),
            None,
        ),
        (
            "plain",
            small_pages().set_dictionary_enabled(false).build(),
            Some(false),
        ),
        (
            "v2",
            small_pages()
                .set_writer_version(::parquet::file::properties::WriterVersion::PARQUET_2_0)
                .build(),
            Some(true),
        ),
    ] {
        let got = round_trip(&values, props, 1_000);
        let texts: Vec<_> = got.iter().map(|g| g.0.clone()).collect();
        assert!(texts == values, "{name}: the text read back differs");
        let entries = got.iter().filter(|g| g.1 != u32::MAX).count();
        let present = values.iter().flatten().count();
        match from_dictionary {
            Some(true) => assert_eq!(entries, present, "{name}"),
            Some(false) => assert_eq!(entries, 0, "{name}"),
            None => assert!(entries > 0 && entries < present, "{name}: {entries}"),
        }
        // The same entry always holds the same text.
        let mut seen = std::collections::HashMap::new();
        for (t, e) in got.iter().filter(|g| g.1 != u32::MAX) {
            assert_eq!(seen.entry(*e).or_insert(t.clone()), t, "{name}");
        }
    }
}
