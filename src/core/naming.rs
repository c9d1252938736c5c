//! Names flotilla derives for users: branch names from session titles.

const PREFIX: &str = "flotilla/";
const MAX_SLUG: usize = 40;

/// The branch name derived from a session title: `flotilla/` and a lowercase ASCII
/// slug, e.g. "fix login!" -> "flotilla/fix-login"; an empty slug becomes "session".
pub fn branch_from_title(title: &str) -> String {
    let mut slug = String::new();
    let mut gap = false;
    // Escape sequences are not words: `ESC[31m` must not leave a "31m" in the branch.
    for c in super::sanitize(title).chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !slug.is_empty() {
                slug.push('-');
            }
            gap = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    // The slug is pure ASCII, so byte truncation cannot split a character.
    slug.truncate(MAX_SLUG);
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "session" } else { slug };
    format!("{PREFIX}{slug}")
}

#[cfg(test)]
mod tests {
    use super::{PREFIX, branch_from_title};

    #[test]
    fn slugs() {
        assert_eq!(branch_from_title("fix login!"), "flotilla/fix-login");
        assert_eq!(
            branch_from_title("  --Hello,  World--  "),
            "flotilla/hello-world"
        );
        assert_eq!(branch_from_title(""), "flotilla/session");
        assert_eq!(branch_from_title("!!! ééé"), "flotilla/session");
        assert_eq!(branch_from_title("café au lait"), "flotilla/caf-au-lait");
        assert_eq!(
            branch_from_title("with \u{1b}[31mred\u{1b}[0m"),
            "flotilla/with-red"
        );
        let long = branch_from_title(&"ab ".repeat(30));
        assert!(
            long.len() <= PREFIX_LEN + 40 && !long.ends_with('-'),
            "{long}"
        );
    }

    const PREFIX_LEN: usize = PREFIX.len();
}
