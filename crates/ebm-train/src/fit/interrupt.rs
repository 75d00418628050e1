//! Ctrl-C as a request: the loop finishes the step, writes a checkpoint and returns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// A shared "please stop" flag.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A flag nobody has raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// The process's flag raised by Ctrl-C (SIGINT). A second Ctrl-C exits the process at once
    /// with status 130. The handler is installed on the first call; later calls (a command that
    /// trains several models in turn) return the same flag, so one Ctrl-C stops them all.
    pub fn on_ctrl_c() -> Self {
        static CTRL_C: OnceLock<Interrupt> = OnceLock::new();
        CTRL_C
            .get_or_init(|| {
                let flag = Self::new();
                let raised = flag.clone();
                let installed = ctrlc::set_handler(move || {
                    if raised.0.swap(true, Ordering::SeqCst) {
                        std::process::exit(130);
                    }
                });
                if let Err(e) = installed {
                    eprintln!("warning: Ctrl-C will not checkpoint before stopping ({e})");
                }
                flag
            })
            .clone()
    }

    /// Raises the flag.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is raised.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command that trains several models asks for the Ctrl-C flag once per model: every call
    /// gets the one flag (a second handler cannot be installed), so raising it reaches them all.
    #[test]
    fn every_call_gets_the_one_ctrl_c_flag() {
        let first = Interrupt::on_ctrl_c();
        let second = Interrupt::on_ctrl_c();
        assert!(!second.requested());
        first.request();
        assert!(second.requested());
        // The negative control: a fresh flag is not the process's.
        assert!(!Interrupt::new().requested());
    }
}
