//! The regions this provider knows: one table, which the documentation lists and which names
//! the nearest known region when a configured one is not in it. A region outside the table still
//! works (Huawei Cloud opens regions faster than any list is updated): it draws a warning, not
//! an error, because a mistyped region otherwise fails only at the first request, as a host that
//! does not exist.
//!
//! The table is the official SDK's list of CSMS regions (`huaweicloudsdkcsms`'
//! `CsmsRegion`), plus the Europe regions the IAM SDK lists under [`EUROPE_CLOUD`]; the tests
//! compare it with the installed SDK.
//!
//! [`EUROPE_CLOUD`]: super::config::EUROPE_CLOUD

/// Every known region name, sorted.
pub const KNOWN: &[&str] = &[
    "ae-ad-1",
    "af-north-1",
    "af-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "cn-east-2",
    "cn-east-3",
    "cn-east-4",
    "cn-east-5",
    "cn-north-1",
    "cn-north-11",
    "cn-north-12",
    "cn-north-2",
    "cn-north-4",
    "cn-north-9",
    "cn-south-1",
    "cn-south-2",
    "cn-southwest-2",
    "cn-southwest-3",
    "eu-west-101",
    "la-north-2",
    "la-south-2",
    "me-east-1",
    "my-kualalumpur-1",
    "na-mexico-1",
    "ru-moscow-1",
    "sa-brazil-1",
    "tr-west-1",
];

/// Whether `region` is in the table.
pub fn is_known(region: &str) -> bool {
    KNOWN.binary_search(&region).is_ok()
}

/// The known region closest to `region` in edits (a letter left out, added, changed, or two
/// swapped), when it is close enough to be a typo of it: one edit, or two within the same
/// geography (the part before the first `-`, so `us-east-1` does not suggest `me-east-1`).
/// `None` for a known region, or for one unlike any.
pub fn nearest(region: &str) -> Option<&'static str> {
    if is_known(region) {
        return None;
    }
    let geography = |r: &str| r.split('-').next().unwrap_or_default().to_string();
    KNOWN
        .iter()
        .map(|known| (edits(region, known), *known))
        .filter(|(d, known)| *d == 1 || (*d == 2 && geography(known) == geography(region)))
        .min()
        .map(|(_, known)| known)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
/// of adjacent characters, each one edit.
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_without_repeats() {
        assert!(KNOWN.windows(2).all(|w| w[0] < w[1]), "{KNOWN:?}");
    }

    /// The typos users make, each to the region meant; far-off names suggest nothing.
    #[test]
    fn nearest_names_the_region_a_typo_meant() {
        for (typo, meant) in [
            ("cn-nrth-4", "cn-north-4"),
            ("cn-north4", "cn-north-4"),
            ("cn-notrh-4", "cn-north-4"),
            ("cn-north-44", "cn-north-4"),
            ("ap-southeast-l", "ap-southeast-1"),
            ("eu-west-10", "eu-west-101"),
            ("af-suoth-1", "af-south-1"),
        ] {
            assert_eq!(nearest(typo), Some(meant), "{typo}");
        }
        for far in ["cn-north-4", "us-east-1", "local", "xx-nowhere-9", "a"] {
            assert_eq!(nearest(far), None, "{far}");
        }
    }
}
