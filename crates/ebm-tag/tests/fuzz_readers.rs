//! Fuzzing the readers of the tagging crate: the CoNLL-U reader on arbitrary text and bytes and
//! on mutations of real treebank sentences (plain, and gzipped from a file), and the vocabulary
//! and tagger-config JSON read back from a run folder. No input may panic; a CoNLL-U error
//! names the file and a line of it; what parses is well formed.

use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};

use ebm_tag::{NetConfig, Sentence, TagError, TaggerConfig, Vocab, parse_conllu, read_conllu};
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// `cases` cases from a fixed seed: a run is reproducible without `PROPTEST_RNG_SEED`.
fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

const ORIGIN: &str = "fuzz-input.conllu";

/// The first `lines` lines of the treebank slice in `datasets/` (a few real sentences).
fn treebank_head(lines: usize) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/ud-en-ewt/slice/en_ewt-ud-dev-200.conllu");
    let text = std::fs::read_to_string(&path).expect("the treebank slice in datasets/");
    text.lines().take(lines).map(|l| format!("{l}\n")).collect()
}

/// A sample with a multiword token, an empty node, CRLF and a comment inside a sentence.
const SPECIAL: &str = "# text = Don't go.\r\n1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_\r\n\
1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_\n2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_\n# mid\n\
3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_\n3.1\tgone\tgo\tVERB\tVB\t_\t_\t_\t_\t_\n\
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n\n";

/// Checks one outcome: what parses is well formed, an error names the origin and a line.
fn check(result: Result<Vec<Sentence>, TagError>, origin: &str) -> Result<(), TestCaseError> {
    match result {
        Ok(sentences) => {
            for s in &sentences {
                prop_assert!(!s.is_empty());
                prop_assert_eq!(s.forms.len(), s.tags.len());
                prop_assert!(s.forms.iter().all(|f| !f.is_empty()));
                prop_assert!(s.tags.iter().all(|t| !t.is_empty() && t != "_"));
            }
        }
        Err(TagError::Parse { path, line, reason }) => {
            prop_assert!(path.ends_with(origin), "{:?}", path);
            prop_assert!(line >= 1, "line {} ({})", line, reason);
        }
        Err(other) => prop_assert!(false, "unexpected error kind: {}", other),
    }
    Ok(())
}

/// Pieces that CoNLL-U text is made of, and some that break it.
fn piece() -> impl Strategy<Value = String> {
    let fixed = proptest::sample::select(vec![
        "\t",
        "\n",
        "\r\n",
        "\r",
        "#",
        "_",
        "-",
        ".",
        "1",
        "2",
        "3",
        "0",
        "10",
        "1-2",
        "1.1",
        "2-1",
        "-1",
        "+1",
        "99999999999999999999",
        "NOUN",
        "VERB",
        "word",
        " ",
        "\u{feff}",
        "\u{0}",
        "é",
        "\t_\t_\t_\t_\t_\t_",
        "\t_",
        "1\tA\ta\tX\t_\t_\t_\t_\t_\t_\n",
    ]);
    prop_oneof![4 => fixed.prop_map(str::to_string), 1 => any::<String>()]
}

/// Arbitrary text from [`piece`]s, or arbitrary bytes (often not UTF-8).
fn arbitrary_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(piece(), 0..48).prop_map(|p| p.concat().into_bytes()),
        vec(any::<u8>(), 0..256),
    ]
}

/// One edit of a text: of its bytes or of its lines; positions are taken modulo the length.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    DupLine(usize),
    DelLine(usize),
    SwapLines(usize, usize),
    TabToSpace(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![
        Just(b'\t'),
        Just(b'\n'),
        Just(b'-'),
        Just(b'.'),
        any::<u8>()
    ];
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Edit::Flip(i, m)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Truncate),
        any::<usize>().prop_map(Edit::DupLine),
        any::<usize>().prop_map(Edit::DelLine),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Edit::SwapLines(i, j)),
        any::<usize>().prop_map(Edit::TabToSpace),
    ]
}

fn apply(text: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = text.to_vec();
    for e in edits {
        let len = b.len();
        let mut lines: Vec<Vec<u8>> = b.split(|c| *c == b'\n').map(<[u8]>::to_vec).collect();
        let n = lines.len();
        match e {
            Edit::Flip(i, m) if len > 0 => b[i % len] ^= m,
            Edit::Insert(i, v) => b.insert(i % (len + 1), *v),
            Edit::Remove(i) if len > 0 => {
                b.remove(i % len);
            }
            Edit::Truncate(i) => b.truncate(i % (len + 1)),
            Edit::DupLine(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
                b = lines.join(&b'\n');
            }
            Edit::DelLine(i) => {
                lines.remove(i % n);
                b = lines.join(&b'\n');
            }
            Edit::SwapLines(i, j) => {
                lines.swap(i % n, j % n);
                b = lines.join(&b'\n');
            }
            Edit::TabToSpace(i) => {
                let tabs: Vec<usize> = (0..len).filter(|&k| b[k] == b'\t').collect();
                if !tabs.is_empty() {
                    b[tabs[i % tabs.len()]] = b' ';
                }
            }
            _ => {}
        }
    }
    b
}

/// Up to five edits of real sentences or of the special sample.
fn mutated_input() -> impl Strategy<Value = Vec<u8>> {
    let base = prop_oneof![Just(treebank_head(40)), Just(SPECIAL.to_string())];
    (base, vec(edit(), 1..6)).prop_map(|(text, edits)| apply(text.as_bytes(), &edits))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

proptest! {
    #![proptest_config(config(10_000, 0xC0_11_01))]

    /// Arbitrary text and bytes never panic the CoNLL-U parser.
    #[test]
    fn conllu_arbitrary_input_never_panics(bytes in arbitrary_input()) {
        check(parse_conllu(bytes.as_slice(), Path::new(ORIGIN)), ORIGIN)?;
    }
}

/// Mutated treebank text never panics the CoNLL-U parser. The fuzz is not vacuous: at least
/// a tenth of the cases parse and at least a tenth are rejected (counted over the run).
#[test]
fn conllu_mutated_input_never_panics() {
    let (parsed, rejected) = (Cell::new(0u32), Cell::new(0u32));
    let mut runner = proptest::test_runner::TestRunner::new(config(10_000, 0xC0_11_02));
    let result = runner.run(&mutated_input(), |bytes| {
        let result = parse_conllu(bytes.as_slice(), Path::new(ORIGIN));
        if result.is_ok() {
            parsed.set(parsed.get() + 1);
        } else {
            rejected.set(rejected.get() + 1);
        }
        check(result, ORIGIN)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (parsed, rejected) = (parsed.get(), rejected.get());
    eprintln!("{parsed} parsed, {rejected} rejected");
    assert!(
        parsed >= 1_000 && rejected >= 1_000,
        "{parsed} parsed, {rejected} rejected"
    );
}

/// Mutated text gzipped into a `.conllu.gz` file, maybe with its gzip stream mutated too,
/// read by `read_conllu`: no panic, errors name the file. One file serves every case.
#[test]
fn conllu_gzipped_files_never_panic() {
    let dir = tempfile::TempDir::new().expect("a temporary folder");
    let path: PathBuf = dir.path().join("case.conllu.gz");
    let mut runner = proptest::test_runner::TestRunner::new(config(10_000, 0xC0_11_03));
    let result = runner.run(
        &(mutated_input(), vec(edit(), 0..3)),
        |(bytes, gz_edits)| {
            // Unlinked first: overwriting in place makes ext4 flush the file, 5 ms a case.
            let _ = std::fs::remove_file(&path);
            std::fs::write(&path, apply(&gzip(&bytes), &gz_edits)).expect("writing the file");
            match read_conllu(&path) {
                Err(TagError::Io { path: p, .. }) => prop_assert_eq!(p, path.clone()),
                other => check(other, "case.conllu.gz")?,
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A small vocabulary and tagger config, as the app writes them to `vocab.json` and
/// `config.json`.
fn json_bases() -> Vec<String> {
    let s = Sentence {
        forms: vec!["The".into(), "cat".into(), "1999".into()],
        tags: vec!["DET".into(), "NOUN".into(), "NUM".into()],
    };
    let vocab = Vocab::build(&[s], 1).expect("a vocabulary");
    let tagger = TaggerConfig {
        net: NetConfig::new(vocab.n_words(), vocab.n_tags()),
        structured: true,
    };
    vec![
        serde_json::to_string(&vocab).expect("serialising"),
        serde_json::to_string(&tagger).expect("serialising"),
    ]
}

proptest! {
    #![proptest_config(config(10_000, 0xC0_11_04))]

    /// Mutated vocabulary and config JSON: parsing, reindexing, lookups and validation never
    /// panic.
    #[test]
    fn vocab_and_config_json_never_panic(
        base in proptest::sample::select(json_bases()),
        edits in vec(edit(), 0..4),
        probe in piece(),
    ) {
        let bytes = apply(base.as_bytes(), &edits);
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(v) = serde_json::from_str::<Vocab>(&text) {
            let v = v.reindex();
            let id = v.word_id(&probe);
            prop_assert!(id < v.n_words().max(2));
            let s = Sentence { forms: vec![probe.clone()], tags: vec![probe.clone()] };
            let _ = v.tag_ids(&s);
        }
        if let Ok(c) = serde_json::from_str::<TaggerConfig>(&text) {
            let _ = c.net.validate();
        }
    }
}

#[test]
fn the_unmutated_bases_parse() {
    let s = parse_conllu(treebank_head(40).as_bytes(), Path::new(ORIGIN)).unwrap();
    assert!(s.len() >= 2, "{}", s.len());
    let s = parse_conllu(SPECIAL.as_bytes(), Path::new(ORIGIN)).unwrap();
    assert_eq!(s[0].forms, ["Do", "n't", "go", "."]);
    assert_eq!(apply(SPECIAL.as_bytes(), &[]), SPECIAL.as_bytes());
    for j in json_bases() {
        assert!(
            serde_json::from_str::<Vocab>(&j).is_ok()
                || serde_json::from_str::<TaggerConfig>(&j).is_ok()
        );
    }
}
