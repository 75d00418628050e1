//! Numeric CSV: a header line of column names, then one row of numbers per line.
//!
//! Cells are separated by commas; spaces around a cell and a pair of double quotes around a cell
//! are dropped; empty lines (and a trailing `\r`) are skipped. Every cell must parse as a finite
//! number: a cell that does not is [`DataError::NotNumeric`] naming the file, line and column; a
//! `NaN` or infinite cell is [`DataError::NonFinite`] (the policy: no silent imputation). A row
//! with another number of cells than the header is [`DataError::Ragged`]. One column may be
//! named as the label column: it is read as a 0/1 label (any non-zero number counts as 1) and
//! left out of the features.
//!
//! [`CsvSchema`] parses one row at a time, for a stream read line by line (a sensor feed on
//! standard input); [`read_csv`] reads a whole file into a [`Table`].

use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::table::Table;

/// The columns of a CSV source, from its header: which cells are features and which is the label.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvSchema {
    source: PathBuf,
    columns: Vec<String>,
    label: Option<usize>,
}

impl CsvSchema {
    /// The schema of the header line `header` of `source` (a file, or `-` for standard input),
    /// with `label` the name of the label column, if any.
    pub fn from_header(
        source: impl Into<PathBuf>,
        header: &str,
        label: Option<&str>,
    ) -> Result<Self, DataError> {
        let source = source.into();
        let columns: Vec<String> = split_cells(header).map(str::to_string).collect();
        if columns.iter().all(String::is_empty) {
            return Err(DataError::Malformed {
                path: source,
                reason: "line 1: the header names no column".into(),
            });
        }
        let label = match label {
            None => None,
            Some(name) => Some(columns.iter().position(|c| c == name).ok_or_else(|| {
                DataError::MissingArray {
                    path: source.clone(),
                    name: name.to_string(),
                    available: columns.join(", "),
                }
            })?),
        };
        Ok(Self {
            source,
            columns,
            label,
        })
    }

    /// The names of the feature columns (every column but the label's), in file order.
    pub fn feature_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .enumerate()
            .filter(|&(i, _)| Some(i) != self.label)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// The number of feature columns.
    pub fn n_features(&self) -> usize {
        self.columns.len() - usize::from(self.label.is_some())
    }

    /// The features and the label (if the schema has a label column) of the row `text`, line
    /// `line` (1-based, for messages).
    pub fn parse_row(&self, text: &str, line: usize) -> Result<(Vec<f64>, Option<u8>), DataError> {
        let cells: Vec<&str> = split_cells(text).collect();
        if cells.len() != self.columns.len() {
            return Err(DataError::Ragged {
                path: self.source.clone(),
                line,
                expected: self.columns.len(),
                found: cells.len(),
            });
        }
        let mut features = Vec::with_capacity(self.n_features());
        let mut label = None;
        for (i, cell) in cells.into_iter().enumerate() {
            let value = self.number(cell, line, i)?;
            if Some(i) == self.label {
                label = Some(u8::from(value != 0.0));
            } else {
                features.push(value);
            }
        }
        Ok((features, label))
    }

    fn number(&self, cell: &str, line: usize, column: usize) -> Result<f64, DataError> {
        let value: f64 = cell.parse().map_err(|_| DataError::NotNumeric {
            path: self.source.clone(),
            line,
            column: self.columns[column].clone(),
            cell: cell.chars().take(40).collect(),
        })?;
        if !value.is_finite() {
            return Err(DataError::NonFinite {
                path: self.source.clone(),
                row: line,
                column: self.columns[column].clone(),
                value,
            });
        }
        Ok(value)
    }
}

/// The cells of one line: split at commas, trimmed, surrounding double quotes dropped.
fn split_cells(line: &str) -> impl Iterator<Item = &str> {
    line.trim_end_matches(['\r', '\n']).split(',').map(|c| {
        let c = c.trim();
        c.strip_prefix('"')
            .and_then(|c| c.strip_suffix('"'))
            .unwrap_or(c)
    })
}

/// Reads the numeric CSV file at `path` (see the module docs), with `label` the name of the
/// label column, if any.
pub fn read_csv(path: impl AsRef<Path>, label: Option<&str>) -> Result<Table, DataError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    parse_csv(&text, path, label)
}

/// Parses CSV text read from `path` (see [`read_csv`]).
pub fn parse_csv(text: &str, path: &Path, label: Option<&str>) -> Result<Table, DataError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| DataError::Malformed {
        path: path.to_path_buf(),
        reason: "empty file: expected a header line".into(),
    })?;
    let schema = CsvSchema::from_header(path, header, label)?;
    let mut values = Vec::new();
    let mut labels = schema.label.map(|_| Vec::new());
    let mut rows = 0;
    for (line, text) in lines {
        let (row, y) = schema.parse_row(text, line)?;
        values.extend(row);
        if let (Some(labels), Some(y)) = (labels.as_mut(), y) {
            labels.push(y);
        }
        rows += 1;
    }
    Table::new(path, schema.feature_names(), rows, values, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, label: Option<&str>) -> Result<Table, DataError> {
        parse_csv(text, Path::new("t.csv"), label)
    }

    #[test]
    fn reads_features_and_label() {
        let t = parse("a, b ,\"y\"\n1,2,0\r\n\n3.5,-4e1,1\n", Some("y")).unwrap();
        assert_eq!(t.columns, vec!["a", "b"]);
        assert_eq!((t.rows, t.cols), (2, 2));
        assert_eq!(t.values, vec![1.0, 2.0, 3.5, -40.0]);
        assert_eq!(t.labels, Some(vec![0, 1]));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse("a,b\n1,2\n1,x\n", None).unwrap_err().to_string();
        assert!(
            err.contains("t.csv") && err.contains("line 3") && err.contains("`b`"),
            "{err}"
        );
        let err = parse("a,b\n1,2,3\n", None).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("3 cells"), "{err}");
        let err = parse("a,b\n1,NaN\n", None).unwrap_err().to_string();
        assert!(err.contains("row 2") && err.contains("`b`"), "{err}");
        let err = parse("a,b\n1,2\n", Some("y")).unwrap_err().to_string();
        assert!(err.contains("`y`") && err.contains("a, b"), "{err}");
        assert!(parse("", None).is_err());
        assert!(parse("a\n", None).is_err(), "no rows");
    }

    #[test]
    fn schema_parses_one_row() {
        let s = CsvSchema::from_header("-", "x,label,z", Some("label")).unwrap();
        assert_eq!(s.feature_names(), vec!["x", "z"]);
        assert_eq!(s.parse_row("1,5,2", 7).unwrap(), (vec![1.0, 2.0], Some(1)));
    }
}
