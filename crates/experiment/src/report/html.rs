//! Writing the report's HTML: escaping, the page frame with its style
//! sheet, tables, figures and code blocks.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// `text` with the characters that mean something in HTML (in text and in
/// quoted attributes) replaced by their entities.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Width and height of a PNG file from its header, `None` if `bytes` is
/// not a PNG file.
pub(crate) fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let word = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((word(16), word(20)))
}

/// The style sheet. Widths are kept readable (text at most about 80
/// characters, tables and figures at most the page's width; wide figures
/// scroll sideways on a narrow screen rather than shrink until their labels
/// cannot be read), numbers are right-aligned in tabular figures so that
/// columns of them line up.
const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1b1f24; line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.75rem; margin: 0.5rem 0 0.6rem; }
h2 { font-size: 1.35rem; margin: 2.4rem 0 0.6rem; padding-bottom: 0.25rem; border-bottom: 2px solid #d8dee4; }
h3 { font-size: 1.08rem; margin: 1.6rem 0 0.4rem; }
p, li { max-width: 82ch; }
p.summary { font-size: 1.05rem; }
p.absent { color: #656d76; font-style: italic; }
nav ol { display: flex; flex-wrap: wrap; gap: 0.2rem 1.6rem; padding: 0.6rem 1rem 0.6rem 2.2rem;
  margin: 1rem 0; background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; max-width: none; }
nav li { max-width: none; }
a { color: #0550ae; }
.table-wrap { overflow-x: auto; margin: 0.5rem 0 1.4rem; }
table { border-collapse: collapse; font-size: 0.92rem; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0 0 0.35rem; color: #32383f; }
th, td { border: 1px solid #c9d1d9; padding: 0.28rem 0.65rem; vertical-align: top; }
thead th { background: #eef1f4; text-align: center; vertical-align: bottom; white-space: nowrap; }
th .role { display: block; font-weight: normal; font-size: 0.82em; color: #57606a; }
th.held-out { background: #e8eefb; }
td { text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.model { font-weight: 600; white-space: nowrap; }
td.note { color: #57606a; max-width: 60ch; }
td.best { background: #dcf3e3; }
td.best strong { color: #116329; }
td .mark { display: inline-block; width: 1.3em; text-align: right; color: #116329; }
tr.group td { border-top: 2px solid #8c959f; }
td.failed { background: #fdecea; color: #a40e26; font-style: italic; }
td.na { color: #8c959f; text-align: center; }
td.good { background: #e6f5ea; }
td.fair { background: #fff4d6; }
td.poor { background: #fde4e1; }
table.setup td:first-child, table.provenance td:first-child { white-space: nowrap; }
table.setup td.num { text-align: left; }
figure { margin: 0.6rem 0 1.6rem; overflow-x: auto; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e1e4e8; }
figure.wide img { min-width: 1000px; }
figure.medium img { max-width: min(100%, 900px); }
figcaption { font-size: 0.9rem; color: #424a53; max-width: 82ch; margin-top: 0.4rem; }
pre { background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; padding: 0.6rem 0.9rem;
  overflow-x: auto; max-width: 100%; }
code { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 0.88rem; }
ul.failures li { color: #a40e26; }
.role-inline { font-weight: normal; color: #57606a; }
@media print { main { max-width: none; padding: 0; } figure, table { break-inside: avoid; }
  figure.wide img { min-width: 0; } }
"#;

/// One table cell: escaped HTML content and its attributes.
pub(crate) struct Cell {
    content: String,
    head: bool,
    class: String,
    data_value: Option<f64>,
    title: Option<String>,
}

impl Cell {
    fn new(content: String, head: bool, class: &str) -> Self {
        Self { content, head, class: class.into(), data_value: None, title: None }
    }

    /// A header cell of plain text.
    pub(crate) fn head(text: &str) -> Self {
        Self::new(escape(text), true, "")
    }

    /// A header cell of HTML (escaped by the caller).
    pub(crate) fn head_html(html: String) -> Self {
        Self::new(html, true, "")
    }

    /// A cell of plain text; empty text shows a dash, so that no cell
    /// reads as missing.
    pub(crate) fn text(text: &str) -> Self {
        if text.trim().is_empty() {
            Self::new("–".into(), false, "na")
        } else {
            Self::new(escape(text), false, "")
        }
    }

    /// A right-aligned number (already formatted).
    pub(crate) fn num(text: &str) -> Self {
        Self::text(text).class("num")
    }

    /// A number if `text` reads as one (optionally followed by `%`), else text.
    pub(crate) fn auto(text: &str) -> Self {
        let t = text.trim().trim_end_matches('%').trim_end();
        if t.parse::<f64>().is_ok() { Self::num(text) } else { Self::text(text) }
    }

    /// A cell of HTML (escaped by the caller).
    pub(crate) fn html(html: String) -> Self {
        Self::new(html, false, "")
    }

    /// The same cell with `class` added.
    pub(crate) fn class(mut self, class: &str) -> Self {
        if !self.class.is_empty() {
            self.class.push(' ');
        }
        self.class.push_str(class);
        self
    }

    /// The same cell carrying the exact value it shows rounded.
    pub(crate) fn data_value(mut self, v: f64) -> Self {
        self.data_value = Some(v);
        self
    }

    /// The same cell with a tooltip.
    pub(crate) fn title(mut self, title: &str) -> Self {
        self.title = Some(title.into());
        self
    }

    fn render(&self, out: &mut String) {
        let tag = if self.head { "th" } else { "td" };
        out.push('<');
        out.push_str(tag);
        if !self.class.is_empty() {
            out.push_str(&format!(" class=\"{}\"", escape(&self.class)));
        }
        if let Some(v) = self.data_value {
            out.push_str(&format!(" data-value=\"{v:e}\""));
        }
        if let Some(t) = &self.title {
            out.push_str(&format!(" title=\"{}\"", escape(t)));
        }
        out.push('>');
        out.push_str(&self.content);
        out.push_str(&format!("</{tag}>"));
    }
}

/// A page being written.
pub(crate) struct Html {
    out: String,
}

impl Html {
    /// The page's head (title, style sheet) and the start of its body.
    pub(crate) fn new(title: &str) -> Self {
        let out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"collop\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
             </head>\n<body>\n<main>\n",
            escape(title)
        );
        Self { out }
    }

    /// Append HTML as it is.
    pub(crate) fn raw(&mut self, html: &str) {
        self.out.push_str(html);
    }

    /// Paragraphs of `text` (separated by blank lines) of `class`; nothing
    /// for empty text.
    pub(crate) fn paragraphs(&mut self, text: &str, class: &str) {
        let attr = if class.is_empty() { String::new() } else { format!(" class=\"{}\"", escape(class)) };
        for p in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            self.out.push_str(&format!("<p{attr}>{}</p>\n", escape(p)));
        }
    }

    /// A line saying that the comparison has no `what`.
    pub(crate) fn absent(&mut self, what: &str) {
        self.out.push_str(&format!("<p class=\"absent\">This comparison has no {}.</p>\n", escape(what)));
    }

    /// A preformatted block.
    pub(crate) fn code(&mut self, text: &str) {
        self.out.push_str(&format!("<pre><code>{}</code></pre>\n", escape(text)));
    }

    pub(crate) fn open_section(&mut self, (id, heading): (&str, &str)) {
        self.out.push_str(&format!("<section id=\"{}\">\n<h2>{}</h2>\n", escape(id), escape(heading)));
    }

    pub(crate) fn close_section(&mut self) {
        self.out.push_str("</section>\n");
    }

    /// Start a table of `class` with an optional caption and one header row.
    pub(crate) fn open_table(&mut self, class: &str, caption: Option<&str>, header: &[Cell]) {
        self.out.push_str(&format!("<div class=\"table-wrap\"><table class=\"{}\">\n", escape(class)));
        if let Some(c) = caption {
            self.out.push_str(&format!("<caption>{}</caption>\n", escape(c)));
        }
        self.out.push_str("<thead>");
        self.row(header);
        self.out.push_str("</thead>\n<tbody>\n");
    }

    /// One row of cells.
    pub(crate) fn row(&mut self, cells: &[Cell]) {
        self.row_class(cells, "");
    }

    /// One row of cells of `class` (none when empty).
    pub(crate) fn row_class(&mut self, cells: &[Cell], class: &str) {
        if class.is_empty() {
            self.out.push_str("<tr>");
        } else {
            self.out.push_str(&format!("<tr class=\"{}\">", escape(class)));
        }
        for c in cells {
            c.render(&mut self.out);
        }
        self.out.push_str("</tr>\n");
    }

    pub(crate) fn close_table(&mut self) {
        self.out.push_str("</tbody>\n</table></div>\n");
    }

    /// A PNG embedded as a data URI, shown at most at its own size, with a
    /// caption below; `size` is a class of the style sheet (`wide`, or
    /// `medium` for pictures that would be too large across the page).
    pub(crate) fn figure(&mut self, png: &[u8], caption: &str, size: &str) {
        let dims = png_size(png).map(|(w, h)| format!(" width=\"{w}\" height=\"{h}\"")).unwrap_or_default();
        let alt = if caption.trim().is_empty() { "figure" } else { caption };
        self.out.push_str(&format!(
            "<figure class=\"{}\"><img src=\"data:image/png;base64,{}\"{dims} alt=\"{}\">",
            escape(size),
            STANDARD.encode(png),
            escape(alt)
        ));
        if !caption.trim().is_empty() {
            self.out.push_str(&format!("<figcaption>{}</figcaption>", escape(caption)));
        }
        self.out.push_str("</figure>\n");
    }

    /// The finished page.
    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</main>\n</body>\n</html>\n");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_replaces_every_special_character() {
        assert_eq!(escape(r#"<b> & "x" 'y'"#), "&lt;b&gt; &amp; &quot;x&quot; &#39;y&#39;");
        assert_eq!(escape("A_∥ ω_p"), "A_∥ ω_p");
    }

    #[test]
    fn png_size_reads_the_header_and_refuses_other_files() {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        bytes.extend(640u32.to_be_bytes());
        bytes.extend(480u32.to_be_bytes());
        assert_eq!(png_size(&bytes), Some((640, 480)));
        assert_eq!(png_size(b"GIF89a and more bytes than 24."), None);
        assert_eq!(png_size(&bytes[..20]), None);
    }

    #[test]
    fn cells_show_a_dash_for_empty_text_and_align_numbers() {
        let mut s = String::new();
        Cell::text("  ").render(&mut s);
        Cell::auto("-3.5 %").render(&mut s);
        Cell::auto("tensor").render(&mut s);
        assert_eq!(s, "<td class=\"na\">–</td><td class=\"num\">-3.5 %</td><td>tensor</td>");
    }
}
