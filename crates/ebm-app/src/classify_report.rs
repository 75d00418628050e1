//! What `ebm classify` prints, and writes as `classify.md` (shown in the run's report): the
//! confusion table with per-class accuracy, and the out-of-distribution AUROCs.

use std::fmt::Write;

use crate::ood::OodRow;

/// The confusion table as markdown: a row per true class, a column per predicted class, and
/// the class's accuracy.
pub fn confusion_markdown(m: &[Vec<usize>]) -> String {
    let k = m.len();
    let mut s = String::from("| true \\ predicted |");
    for p in 0..k {
        let _ = write!(s, " {p} |");
    }
    s.push_str(" accuracy |\n|---|");
    s.push_str(&"---|".repeat(k + 1));
    for (y, row) in m.iter().enumerate() {
        let n: usize = row.iter().sum();
        let _ = write!(s, "\n| **{y}** |");
        for c in row {
            let _ = write!(s, " {c} |");
        }
        let _ = write!(s, " {:.3} |", row[y] as f64 / n.max(1) as f64);
    }
    s.push('\n');
    s
}

/// The AUROC of the energy and of the softmax against each outlier set, as markdown.
pub fn ood_markdown(rows: &[OodRow]) -> String {
    let mut s =
        String::from("| outliers | AUROC of E(x) | AUROC of max softmax |\n|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.4} |",
            r.outliers, r.energy_auroc, r.softmax_auroc
        );
    }
    s
}

/// The whole `classify.md`.
pub fn markdown(title: &str, m: &[Vec<usize>], ood: &[OodRow]) -> String {
    let mut s = format!("## {title}\n\nConfusion on the held-out split:\n\n");
    s.push_str(&confusion_markdown(m));
    if !ood.is_empty() {
        s.push_str("\nOut-of-distribution detection (held-out digits as inliers):\n\n");
        s.push_str(&ood_markdown(ood));
    }
    s
}

/// The AUROC of the energy and of the softmax against each outlier set.
pub fn print_ood(rows: &[OodRow]) {
    println!("out-of-distribution (held-out digits as inliers), AUROC of E(x) / of max softmax:");
    for r in rows {
        println!(
            "  {:<16} {:.4} / {:.4}",
            r.outliers, r.energy_auroc, r.softmax_auroc
        );
    }
}

/// Per-class accuracy and the confusion matrix.
pub fn print_confusion(m: &[Vec<usize>]) {
    println!("per class (true class: accuracy, count):");
    for (y, row) in m.iter().enumerate() {
        let n: usize = row.iter().sum();
        println!("  {y}: {:.3} of {n}", row[y] as f64 / n.max(1) as f64);
    }
    println!("confusion (rows: true, columns: predicted):");
    for row in m {
        println!(
            "  {}",
            row.iter().map(|c| format!("{c:>4}")).collect::<String>()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confusion_table_has_a_row_per_class_and_its_accuracy() {
        let md = confusion_markdown(&[vec![3, 1], vec![0, 2]]);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 4, "{md}");
        assert_eq!(lines[0], "| true \\ predicted | 0 | 1 | accuracy |");
        assert_eq!(lines[2], "| **0** | 3 | 1 | 0.750 |");
        assert_eq!(lines[3], "| **1** | 0 | 2 | 1.000 |");
    }
}
