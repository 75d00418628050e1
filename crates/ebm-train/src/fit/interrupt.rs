//! Ctrl-C as a request: the loop finishes the step, writes a checkpoint and returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared "please stop" flag.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A flag nobody has raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag raised by Ctrl-C (SIGINT). A second Ctrl-C exits the process at once with status
    /// 130. Only one handler can exist per process: later calls return a flag that Ctrl-C does
    /// not raise, with a warning.
    pub fn on_ctrl_c() -> Self {
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
