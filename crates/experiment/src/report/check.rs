//! A structural check of a rendered report, parsed as a browser would.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use scraper::{ElementRef, Html, Selector};

use super::BEST_MARKER;

/// What [`check_report_html`] found in a report that passed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportCheck {
    /// The page title.
    pub title: String,
    /// The section headings (`h2`), in order.
    pub headings: Vec<String>,
    /// Width and height of every embedded picture, in order.
    pub images: Vec<(u32, u32)>,
    /// Number of tables.
    pub tables: usize,
    /// The model names of the rollout table, in order (empty without one).
    pub rollout_models: Vec<String>,
    /// For every sub-population column of the rollout table that has a
    /// value: its header text and the models marked best in it.
    pub best: Vec<(String, Vec<String>)>,
    /// The texts of the failure cells of all tables, in order.
    pub failure_cells: Vec<String>,
}

/// The elements a report may contain: anything else (a `script`, a `link`,
/// an element injected through unescaped text) is refused.
const ALLOWED: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "header",
    "nav",
    "section",
    "ol",
    "ul",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "p",
    "div",
    "span",
    "strong",
    "sub",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "figure",
    "img",
    "figcaption",
    "pre",
    "code",
];

fn selector(css: &str) -> Result<Selector, String> {
    Selector::parse(css).map_err(|e| format!("selector {css}: {e}"))
}

/// The text of an element, its pieces joined by single spaces.
fn text(e: ElementRef<'_>) -> String {
    e.text().flat_map(str::split_whitespace).collect::<Vec<_>>().join(" ")
}

/// Parse `html` as a browser would and check that it is a self-contained
/// report that reads correctly:
///
/// - it parses without errors, has a non-empty title and one `h1`, and
///   holds only the elements a report writes (an element that came from
///   unescaped text, a script or a link fails), with no event handlers;
/// - every link points at an anchor of the page, every `img` has a
///   `data:image/png;base64,` URI that decodes as base64 and then as a PNG
///   of non-zero size (nothing is fetched from elsewhere);
/// - every table has one header row and at least one body row, every body
///   row as many cells as the header, and no cell is empty;
/// - in the rollout table, the cells holding the lowest value of each
///   column (their `data-value`) and no others are marked best (class
///   `best`, bold, and the marker).
///
/// Errors: every problem found, one per line.
pub fn check_report_html(html: &str) -> Result<ReportCheck, String> {
    let doc = Html::parse_document(html);
    let mut problems: Vec<String> = doc.errors.iter().map(|e| format!("HTML parse error: {e}")).collect();
    let mut check = ReportCheck {
        title: doc.select(&selector("title")?).next().map(text).unwrap_or_default(),
        headings: doc.select(&selector("h2")?).map(text).collect(),
        ..ReportCheck::default()
    };
    if check.title.is_empty() {
        problems.push("the page has no title".into());
    }
    let h1 = doc.select(&selector("h1")?).count();
    if h1 != 1 {
        problems.push(format!("{h1} h1 headings, expected one"));
    }

    let ids: Vec<&str> = doc.select(&selector("[id]")?).filter_map(|e| e.value().attr("id")).collect();
    for e in doc.select(&selector("*")?) {
        let name = e.value().name();
        if !ALLOWED.contains(&name) {
            problems.push(format!("unexpected element <{name}> holding '{}'", text(e)));
        }
        for (attr, value) in e.value().attrs() {
            if attr.starts_with("on") {
                problems.push(format!("<{name}> has an event handler {attr}"));
            }
            if attr == "href" && !value.strip_prefix('#').is_some_and(|id| ids.contains(&id)) {
                problems.push(format!("link to '{value}', not to an anchor of the page"));
            }
            if attr == "src" && name != "img" {
                problems.push(format!("<{name}> loads '{value}'"));
            }
        }
    }

    for (k, img) in doc.select(&selector("img")?).enumerate() {
        match image_size(img.value().attr("src").unwrap_or("")) {
            Ok(size) => check.images.push(size),
            Err(e) => problems.push(format!("image {}: {e}", k + 1)),
        }
    }

    let (th, td, tr) = (selector("th")?, selector("td")?, selector("tr")?);
    let (head_rows, body_rows) = (selector("thead > tr")?, selector("tbody > tr")?);
    for (k, table) in doc.select(&selector("table")?).enumerate() {
        check.tables += 1;
        let class = table.value().attr("class").unwrap_or("");
        let who = format!("table {} ({class})", k + 1);
        let heads: Vec<ElementRef<'_>> = table.select(&head_rows).collect();
        let Some(head) = heads.first().filter(|_| heads.len() == 1) else {
            problems.push(format!("{who} has {} header rows, expected one", heads.len()));
            continue;
        };
        let header: Vec<String> = head.select(&th).map(text).collect();
        if header.is_empty() || head.select(&td).next().is_some() {
            problems.push(format!("{who}: the header row is not made of th cells"));
        }
        let rows: Vec<ElementRef<'_>> = table.select(&body_rows).collect();
        if rows.is_empty() || table.select(&tr).count() != rows.len() + 1 {
            problems.push(format!("{who} has no body rows, or rows outside thead and tbody"));
        }
        let mut body: Vec<Vec<ElementRef<'_>>> = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            let cells: Vec<ElementRef<'_>> = row.select(&td).collect();
            if cells.len() != header.len() || row.select(&th).next().is_some() {
                problems.push(format!(
                    "{who}, row {}: {} cells for {} header cells",
                    r + 1,
                    cells.len(),
                    header.len()
                ));
            }
            for (c, cell) in cells.iter().enumerate() {
                if text(*cell).is_empty() {
                    problems.push(format!("{who}, row {}, column {}: empty cell", r + 1, c + 1));
                }
                if cell.value().has_class("failed", scraper::CaseSensitivity::CaseSensitive) {
                    check.failure_cells.push(text(*cell));
                }
            }
            body.push(cells);
        }
        if class.split_whitespace().any(|c| c == "rollout") {
            check.rollout_models = body.iter().filter_map(|r| r.first().map(|c| text(*c))).collect();
            rollout_best(&header, &body, &mut check, &mut problems);
        }
    }
    if problems.is_empty() { Ok(check) } else { Err(problems.join("\n")) }
}

/// Width and height of the PNG in a `data:image/png;base64,` URI.
fn image_size(src: &str) -> Result<(u32, u32), String> {
    let data = src.strip_prefix("data:image/png;base64,").ok_or_else(|| {
        format!("source '{}' is not a base64 PNG data URI", src.chars().take(40).collect::<String>())
    })?;
    let bytes = STANDARD.decode(data).map_err(|e| format!("base64: {e}"))?;
    let mut reader =
        png::Decoder::new(std::io::Cursor::new(bytes)).read_info().map_err(|e| format!("PNG: {e}"))?;
    let size = reader.output_buffer_size().ok_or("PNG: image too large")?;
    let mut pixels = vec![0; size];
    let info = reader.next_frame(&mut pixels).map_err(|e| format!("PNG data: {e}"))?;
    if info.width == 0 || info.height == 0 {
        return Err(format!("PNG of {} x {} pixels", info.width, info.height));
    }
    Ok((info.width, info.height))
}

/// Check the best marks of the rollout table: columns from the third on are
/// sub-populations.
fn rollout_best(
    header: &[String],
    body: &[Vec<ElementRef<'_>>],
    check: &mut ReportCheck,
    problems: &mut Vec<String>,
) {
    let is_best = |c: &ElementRef<'_>| c.value().has_class("best", scraper::CaseSensitivity::CaseSensitive);
    for (col, name) in header.iter().enumerate().skip(2) {
        let cells: Vec<(String, &ElementRef<'_>, Option<f64>)> = body
            .iter()
            .filter_map(|r| {
                let cell = r.get(col)?;
                let value = cell.value().attr("data-value").and_then(|v| v.parse::<f64>().ok());
                Some((r.first().map(|m| text(*m)).unwrap_or_default(), cell, value))
            })
            .collect();
        let Some(min) = cells.iter().filter_map(|c| c.2).reduce(f64::min) else {
            if let Some((model, ..)) = cells.iter().find(|c| is_best(c.1)) {
                problems.push(format!("rollout column '{name}' has no value but marks {model} best"));
            }
            continue;
        };
        let mut marked = Vec::new();
        for (model, cell, value) in &cells {
            let lowest = *value == Some(min);
            let shown =
                is_best(cell) && text(**cell).contains(BEST_MARKER) && cell.inner_html().contains("<strong>");
            if lowest && !shown {
                problems
                    .push(format!("rollout column '{name}': the lowest value ({model}) is not marked best"));
            }
            if !lowest && (is_best(cell) || text(**cell).contains(BEST_MARKER)) {
                problems
                    .push(format!("rollout column '{name}': {model} is marked best but is not the lowest"));
            }
            if lowest && shown {
                marked.push(model.clone());
            }
        }
        check.best.push((name.clone(), marked));
    }
}
