//! Test support: reading the tables of `docs/PROTOCOL.md`, so tests can hold the code and
//! the reference to each other.

/// The first cell of each row of the table under `## {heading}` in `docs/PROTOCOL.md`,
/// without backticks.
pub fn first_column(heading: &str) -> Vec<String> {
    let doc = include_str!("../docs/PROTOCOL.md");
    let section = doc
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("PROTOCOL.md has a `## {heading}` section"));
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("|---"))
        .skip(1) // the header row
        .map(|l| {
            let cell = l
                .trim_start_matches('|')
                .split('|')
                .next()
                .unwrap_or_default();
            cell.trim().trim_matches('`').to_owned()
        })
        .collect()
}

/// Every row (header excluded) of the first table after the line that starts with
/// `marker` in `docs/PROTOCOL.md`, as trimmed cells.
pub fn table_after(marker: &str) -> Vec<Vec<String>> {
    let doc = include_str!("../docs/PROTOCOL.md");
    let rest = after_line(doc, marker);
    rest.lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| !l.starts_with("|---"))
        .skip(1)
        .map(|l| {
            let inner = l.trim().trim_start_matches('|').trim_end_matches('|');
            inner.split('|').map(|c| c.trim().to_owned()).collect()
        })
        .collect()
}

/// The first fenced code block after the line that starts with `marker` in
/// `docs/PROTOCOL.md`, without its fences.
pub fn code_block_after(marker: &str) -> String {
    let doc = include_str!("../docs/PROTOCOL.md");
    let rest = after_line(doc, marker);
    let body = rest
        .split("```")
        .nth(1)
        .unwrap_or_else(|| panic!("a code block follows `{marker}`"));
    // Drop the info string (`json`) on the opening fence's line.
    body.split_once('\n').map_or("", |(_, b)| b).to_owned()
}

fn after_line<'a>(doc: &'a str, marker: &str) -> &'a str {
    let start = doc
        .find(&format!("\n{marker}"))
        .unwrap_or_else(|| panic!("PROTOCOL.md has a line starting `{marker}`"));
    &doc[start + 1..]
}
