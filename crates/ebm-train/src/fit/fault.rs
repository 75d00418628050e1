//! Deliberate crashes for durability tests, read from the `EBM_FAULT` environment variable.
//!
//! - `step:N` aborts the process right after step `N` is logged, before any checkpoint of it;
//! - `checkpoint:N:STAGE` aborts while step `N`'s checkpoint is being written, right after
//!   `STAGE` (`written`, `synced`, `renamed`, `pointer-written`, `pointer-swapped`; see
//!   [`SaveStage`]).
//!
//! `std::process::abort` ends the process at once, as `SIGKILL` or a power cut would for the
//! files: no destructor runs and nothing buffered is flushed. Unset, nothing happens.

use super::checkpoint::SaveStage;

/// A crash to stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Abort right after this step is logged.
    AfterStep(usize),
    /// Abort while this step's checkpoint is written, after the stage.
    InCheckpoint(usize, SaveStage),
}

impl Fault {
    /// The fault named by `EBM_FAULT`, if any (an unreadable value is ignored with a warning).
    pub fn from_env() -> Option<Self> {
        let text = std::env::var("EBM_FAULT").ok()?;
        let parsed = Self::parse(&text);
        if parsed.is_none() {
            eprintln!(
                "warning: ignoring EBM_FAULT={text:?} (expected step:N or checkpoint:N:STAGE)"
            );
        }
        parsed
    }

    /// Parses `step:N` or `checkpoint:N:STAGE`.
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<&str> = text.split(':').collect();
        match parts.as_slice() {
            ["step", n] => Some(Self::AfterStep(n.parse().ok()?)),
            ["checkpoint", n, stage] => {
                let stage = match *stage {
                    "written" => SaveStage::Written,
                    "synced" => SaveStage::Synced,
                    "renamed" => SaveStage::Renamed,
                    "pointer-written" => SaveStage::PointerWritten,
                    "pointer-swapped" => SaveStage::PointerSwapped,
                    _ => return None,
                };
                Some(Self::InCheckpoint(n.parse().ok()?, stage))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_rejects_others() {
        assert_eq!(Fault::parse("step:7"), Some(Fault::AfterStep(7)));
        assert_eq!(
            Fault::parse("checkpoint:3:renamed"),
            Some(Fault::InCheckpoint(3, SaveStage::Renamed))
        );
        assert_eq!(Fault::parse("checkpoint:3:later"), None);
        assert_eq!(Fault::parse("step:x"), None);
    }
}
