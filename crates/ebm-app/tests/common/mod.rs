//! Running the `ebm` binary from integration tests.

use std::path::Path;
use std::process::Command;

/// Runs `ebm args...` in `dir`; returns whether it succeeded and its stdout and stderr together.
pub fn ebm(dir: &Path, args: &[&str]) -> (bool, String) {
    ebm_with_fault(dir, args, None)
}

/// [`ebm`] with `EBM_FAULT=fault` set when given (the process aborts at that point; see
/// `ebm_train::fit::fault`).
#[allow(dead_code)]
pub fn ebm_with_fault(dir: &Path, args: &[&str], fault: Option<&str>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ebm"));
    command.current_dir(dir).args(args);
    if let Some(fault) = fault {
        command.env("EBM_FAULT", fault);
    }
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The embedded digits, `datasets/mnist-4k`.
#[allow(dead_code)]
pub fn data() -> String {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-4k");
    d.to_str().unwrap().to_string()
}

/// The arguments of a tiny `train-conditional` run of `target` into the run folder `run`: 80 images (64 to train, 16 held out),
/// batches of 8, 2 sampler steps, `epochs` epochs of 8 steps, at most `max_steps`.
#[allow(dead_code)]
pub fn tiny(target: &str, run: &str, epochs: &str, max_steps: Option<&str>) -> Vec<String> {
    let d = data();
    let mut args: Vec<&str> = vec![
        "train-conditional",
        "--target",
        target,
        "--run",
        run,
        "--data",
        &d,
        "--limit",
        "80",
        "--hidden",
        "4",
        "--batch-size",
        "8",
        "--sampler-steps",
        "2",
        "--buffer",
        "16",
        "--epochs",
        epochs,
    ];
    if let Some(m) = max_steps {
        args.extend(["--max-steps", m]);
    }
    args.iter().map(|s| s.to_string()).collect()
}

/// Checks the run's `report.html`: it exists, holds every section and each of `expect`, and
/// passes in a browser (see [`open_in_browser`]).
#[allow(dead_code)]
pub fn check_report(run: &Path, expect: &[&str]) {
    let path = run.join("report.html");
    let html = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for section in [
        "id=curves",
        "id=samples",
        "id=pictures",
        "id=evaluation",
        "id=settings",
    ] {
        assert!(
            html.contains(section),
            "{section} missing from {}",
            path.display()
        );
    }
    for text in expect {
        assert!(
            html.contains(text),
            "`{text}` missing from {}",
            path.display()
        );
    }
    open_in_browser(&path);
}

/// The headless browser: `$EBM_CHROMIUM`, or `chromium` / `chromium-browser` on the path.
fn browser() -> Option<String> {
    if let Ok(b) = std::env::var("EBM_CHROMIUM") {
        return Some(b);
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
}

/// Runs headless Chromium on `url` with a fresh profile and `extra` flags; its stdout and stderr.
fn chromium(browser: &str, profile: &Path, url: &str, extra: &[String]) -> (String, String) {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            // Containers often give /dev/shm only 64 MB.
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--virtual-time-budget=10000",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(extra)
        .arg(url)
        .output()
        .expect("running chromium");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "chromium failed on {url}: {stderr}");
    (String::from_utf8_lossy(&out.stdout).to_string(), stderr)
}

/// The page's self-check verdict in headless Chromium (`body[data-selfcheck]`: "ok", or the
/// problems: an image that did not load, a chart with nothing drawn, an error raised) and the
/// browser's log; `None` without a browser. Without one the check is skipped with a note,
/// unless `EBM_REQUIRE_BROWSER` is set (CI sets it), which makes that a failure.
#[allow(dead_code)]
pub fn self_check(path: &Path) -> Option<(String, String)> {
    let Some(browser) = browser() else {
        assert!(
            std::env::var_os("EBM_REQUIRE_BROWSER").is_none(),
            "EBM_REQUIRE_BROWSER is set but no chromium was found"
        );
        eprintln!(
            "note: no chromium on this machine; {} not opened in a browser",
            path.display()
        );
        return None;
    };
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", path.canonicalize().unwrap().display());
    let (dom, log) = chromium(&browser, profile.path(), &url, &["--dump-dom".into()]);
    let verdict = dom
        .split("data-selfcheck=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("(none: the page's script did not run)")
        .to_string();
    Some((verdict, log))
}

/// Opens the page at `path` in headless Chromium: its self-check must say "ok", the browser
/// must log no console message, and a screenshot of the page must not be blank.
#[allow(dead_code)]
pub fn open_in_browser(path: &Path) {
    let Some((verdict, log)) = self_check(path) else {
        return;
    };
    assert_eq!(verdict, "ok", "{}: self-check", path.display());
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "{}: console messages {console:?}",
        path.display()
    );
    let profile = tempfile::tempdir().unwrap();
    let shot = profile.path().join("shot.png");
    let url = format!("file://{}", path.canonicalize().unwrap().display());
    let flags = [
        format!("--screenshot={}", shot.display()),
        "--window-size=1280,1600".into(),
    ];
    chromium(&browser().unwrap(), profile.path(), &url, &flags);
    let img = image::open(&shot).unwrap().to_rgb8();
    let ink = img
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 200))
        .count();
    let share = ink as f64 / (img.width() * img.height()) as f64;
    assert!(
        share > 0.01,
        "{url}: the screenshot is blank ({:.2}% ink)",
        100.0 * share
    );
}

/// A copy of the report at `path` broken in three ways (an image that does not decode, a chart
/// with nothing drawn, an error logged), which the browser check must reject: the negative
/// control of [`open_in_browser`].
#[allow(dead_code)]
pub fn broken_copy(path: &Path) -> std::path::PathBuf {
    let html = std::fs::read_to_string(path).unwrap();
    let bad = concat!(
        "<img alt=\"damaged\" src=\"data:image/png;base64,AAAA\">",
        "<figure class=chart data-title=\"empty\"><svg width=10 height=10></svg></figure>",
        "<script>console.error('deliberate')</script></body>"
    );
    let out = path.with_file_name("broken.html");
    std::fs::write(&out, html.replacen("</body>", bad, 1)).unwrap();
    out
}
