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
