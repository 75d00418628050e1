//! A CoNLL-U reader: sentences of (form, UPOS) pairs.
//!
//! CoNLL-U (<https://universaldependencies.org/format.html>) has one token a line with ten
//! tab-separated fields (`ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC`), comment lines
//! starting with `#`, and a blank line after each sentence. Multiword-token lines (ID `1-2`) and
//! empty nodes (ID `1.1`) carry no UPOS of their own and are skipped; the syntactic words are kept.
//! Files ending in `.gz` are decompressed on the fly. Every error names the file and the line.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::TagError;

/// One sentence: its word forms and gold UPOS tags (as strings), of equal length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// The word forms, in order.
    pub forms: Vec<String>,
    /// The UPOS tag of each form.
    pub tags: Vec<String>,
}

impl Sentence {
    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.forms.len()
    }

    /// Whether the sentence has no tokens.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }
}

/// Reads every sentence of a CoNLL-U file (`.gz` or plain).
pub fn read_conllu(path: &Path) -> Result<Vec<Sentence>, TagError> {
    let io = |source| TagError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    parse_conllu(BufReader::new(reader), path)
}

/// Parses CoNLL-U text from any reader; `path` names the source in errors.
pub fn parse_conllu(reader: impl BufRead, path: &Path) -> Result<Vec<Sentence>, TagError> {
    let mut sentences = Vec::new();
    let mut current = Sentence {
        forms: Vec::new(),
        tags: Vec::new(),
    };
    let mut expected_id = 1usize;
    let mut line_no = 0usize;
    let parse_err = |line: usize, reason: String| TagError::Parse {
        path: PathBuf::from(path),
        line,
        reason,
    };
    for line in reader.lines() {
        line_no += 1;
        let line = line.map_err(|e| parse_err(line_no, format!("unreadable line: {e}")))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.is_empty() {
                sentences.push(std::mem::replace(
                    &mut current,
                    Sentence {
                        forms: Vec::new(),
                        tags: Vec::new(),
                    },
                ));
            }
            expected_id = 1;
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 10 {
            return Err(parse_err(
                line_no,
                format!("expected 10 tab-separated fields, found {}", fields.len()),
            ));
        }
        let id = fields[0];
        if id.contains('-') || id.contains('.') {
            let ok = id
                .split(['-', '.'])
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(parse_err(line_no, format!("malformed token id {id:?}")));
            }
            continue;
        }
        let n: usize = id
            .parse()
            .map_err(|_| parse_err(line_no, format!("malformed token id {id:?}")))?;
        if n != expected_id {
            return Err(parse_err(
                line_no,
                format!("token id {n} out of sequence (expected {expected_id})"),
            ));
        }
        expected_id += 1;
        let (form, upos) = (fields[1], fields[3]);
        if form.is_empty() {
            return Err(parse_err(line_no, "empty FORM".into()));
        }
        if upos.is_empty() || upos == "_" {
            return Err(parse_err(line_no, "missing UPOS".into()));
        }
        current.forms.push(form.to_string());
        current.tags.push(upos.to_string());
    }
    if !current.is_empty() {
        sentences.push(current);
    }
    Ok(sentences)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Sentence>, TagError> {
        parse_conllu(text.as_bytes(), Path::new("t.conllu"))
    }

    const GOOD: &str = "# sent_id = 1\n# text = Don't go.\n1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_\n\
1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_\n2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_\n\
3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_\n3.1\tgone\tgo\tVERB\tVB\t_\t_\t_\t_\t_\n\
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n";

    #[test]
    fn reads_sentences_skipping_comments_multiword_and_empty_nodes() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].forms, ["Do", "n't", "go", "."]);
        assert_eq!(s[0].tags, ["AUX", "PART", "VERB", "PUNCT"]);
        assert_eq!(s[1].forms, ["Hi"]);
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        let cases = [
            ("1\tDo\tdo\tAUX\n", 1, "10 tab-separated"),
            (
                "# c\n1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_\nx\ta\ta\tX\t_\t_\t_\t_\t_\t_\n",
                3,
                "id",
            ),
            ("1\tDo\tdo\t_\tVBP\t_\t3\taux\t_\t_\n", 1, "UPOS"),
            (
                "1\tA\ta\tX\t_\t_\t_\t_\t_\t_\n3\tB\tb\tX\t_\t_\t_\t_\t_\t_\n",
                2,
                "sequence",
            ),
            ("1-x\tA\t_\t_\t_\t_\t_\t_\t_\t_\n", 1, "id"),
            ("1\t\ta\tX\t_\t_\t_\t_\t_\t_\n", 1, "FORM"),
        ];
        for (text, line, needle) in cases {
            match parse(text) {
                Err(TagError::Parse {
                    line: l,
                    reason,
                    path,
                }) => {
                    assert_eq!(l, line, "{text:?}: {reason}");
                    assert!(reason.contains(needle), "{reason}");
                    assert_eq!(path, Path::new("t.conllu"));
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = read_conllu(Path::new("/no/such/file.conllu")).unwrap_err();
        assert!(err.to_string().contains("/no/such/file.conllu"));
    }
}
