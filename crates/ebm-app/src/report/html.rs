//! The report page: one self-contained HTML file (styles, scripts, charts as inline SVG and
//! pictures as `data:` URIs; nothing fetched), with a self-check that a browser runs on load.

use std::fmt::Write;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A table of `(key, value)` rows.
pub fn key_value_table(rows: &[(String, String)]) -> String {
    let mut html = String::from("<table class=kv>");
    for (k, v) in rows {
        let _ = write!(
            html,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    html.push_str("</table>");
    html
}

/// Markdown as written by the commands (headings, pipe tables, code blocks, paragraphs).
pub fn markdown(text: &str) -> String {
    let mut html = String::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut in_code = false;
    let flush = |table: &mut Vec<Vec<String>>, html: &mut String| {
        if table.is_empty() {
            return;
        }
        html.push_str("<table class=md>");
        for (i, cells) in table.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            html.push_str("<tr>");
            for c in cells {
                let _ = write!(html, "<{tag}>{}</{tag}>", inline(c));
            }
            html.push_str("</tr>");
        }
        html.push_str("</table>");
        table.clear();
    };
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            flush(&mut table, &mut html);
            html.push_str(if in_code { "</pre>" } else { "<pre>" });
            in_code = !in_code;
        } else if in_code {
            html.push_str(&escape(line));
            html.push('\n');
        } else if t.starts_with('|') {
            let cells: Vec<String> = t
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            if !cells
                .iter()
                .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')) && !c.is_empty())
            {
                table.push(cells);
            }
        } else {
            flush(&mut table, &mut html);
            if let Some(h) = t.strip_prefix('#') {
                let _ = write!(
                    html,
                    "<h4>{}</h4>",
                    inline(h.trim_start_matches('#').trim())
                );
            } else if !t.is_empty() {
                let _ = write!(html, "<p>{}</p>", inline(t));
            }
        }
    }
    flush(&mut table, &mut html);
    if in_code {
        html.push_str("</pre>");
    }
    html
}

/// Inline markdown: `code` and **bold**.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            for (j, p) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    let _ = write!(out, "<b>{p}</b>");
                } else {
                    out.push_str(p);
                }
            }
        }
    }
    out
}

/// The page's head: styles, and the error trap that must run before anything else.
pub const HEAD: &str = r#"<meta charset="utf-8"><meta name="viewport" content="width=device-width">
<script>
window.__problems = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  __problems.push(t && t.tagName ? 'failed to load ' + t.tagName.toLowerCase() + ' ' + (t.alt || '') : 'script error: ' + e.message);
}, true);
(function () { var f = console.error; console.error = function () { __problems.push('console error: ' + Array.prototype.join.call(arguments, ' ')); f.apply(console, arguments); }; })();
</script>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1240px; padding: 16px 24px; color: #222; }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 18px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 28px; }
h3 { font-size: 15px; margin: 14px 0 6px; } h4 { font-size: 14px; margin: 10px 0 4px; }
nav a { margin-right: 14px; } .meta { color: #555; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
figure { margin: 0; } figure.chart svg { max-width: 100%; height: auto; border: 1px solid #eee; }
.gallery { display: flex; flex-wrap: wrap; gap: 16px; } .gallery figure { max-width: 100%; }
.gallery img { max-width: 100%; border: 1px solid #eee; image-rendering: pixelated; }
figcaption { color: #555; font-size: 12px; }
.scrubber img { image-rendering: pixelated; border: 1px solid #eee; max-width: 100%; }
.scrubber input { width: 360px; vertical-align: middle; } .strip img { height: 64px; margin: 1px; image-rendering: pixelated; cursor: pointer; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; } td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
table.kv th { font-weight: normal; color: #444; background: #fafafa; } table.md th { background: #f3f3f3; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; } #selfcheck { color: #888; font-size: 12px; margin-top: 32px; }
</style>"#;

/// The page's script: the epoch scrubbers, and the self-check that runs on load (every image
/// has loaded and has a size, every chart has a drawn line or point, no error was raised) and writes its verdict
/// into `body[data-selfcheck]` ("ok" or the problems).
pub const SCRIPT: &str = r#"<script>
document.querySelectorAll('.scrubber').forEach(function (s) {
  var range = s.querySelector('input'), frames = s.querySelectorAll('.frame'), label = s.querySelector('.label');
  var thumbs = s.querySelectorAll('.strip img');
  function show(i) {
    frames.forEach(function (f, j) { f.hidden = j !== i; });
    label.textContent = frames[i].dataset.label;
    range.value = i;
  }
  range.addEventListener('input', function () { show(+range.value); });
  thumbs.forEach(function (t, j) { t.addEventListener('click', function () { show(j); }); });
  show(frames.length - 1);
});
window.addEventListener('load', function () {
  Array.prototype.forEach.call(document.images, function (img) {
    if (!img.complete || !img.naturalWidth) __problems.push('broken image ' + img.alt);
  });
  document.querySelectorAll('figure.chart').forEach(function (f) {
    var drawn = Array.prototype.filter.call(f.querySelectorAll('svg polyline, svg circle'), function (el) {
      var b = el.getBBox(); return b.width > 0 || b.height > 0;
    });
    if (!drawn.length) __problems.push('blank plot ' + f.dataset.title);
  });
  var verdict = __problems.length ? __problems.join('; ') : 'ok';
  document.body.dataset.selfcheck = verdict;
  document.getElementById('selfcheck').textContent = 'self-check: ' + verdict;
});
</script>"#;
