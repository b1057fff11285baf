//! Full-text search input: user text → a `tsquery` string that is safe to bind.
//!
//! Documents are indexed through the `timeline_unaccent` configuration (migration 0002:
//! `simple` with `unaccent` in front), so "prilis zlutoucky kun" finds "Příliš žluťoučký kůň"
//! in either case. The user's text is never interpolated into SQL and never reaches
//! `to_tsquery` raw: it is cut into terms of letters and digits (every `tsquery` operator is
//! punctuation, so none survives), each term becomes a prefix match, and the terms are ANDed.
//! The resulting string is bound as a parameter of `to_tsquery('timeline_unaccent', $n)`.

/// The text search configuration of every document and query (created by migration 0002).
pub const TS_CONFIG: &str = "timeline_unaccent";

/// At most this many terms are used; the rest of a pasted paragraph adds cost, not precision.
const MAX_TERMS: usize = 8;
/// Longer "words" are cut (nobody types them; they would only bloat the query).
const MAX_TERM_CHARS: usize = 64;

/// A sanitized search: `term:* & term:* …`, ready to bind into `to_tsquery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    tsquery: String,
    terms: Vec<String>,
}

impl SearchQuery {
    /// Parses what a user typed; `None` when it holds no letter or digit.
    pub fn parse(input: &str) -> Option<Self> {
        let terms: Vec<String> = words(input).into_iter().take(MAX_TERMS).collect();
        if terms.is_empty() {
            return None;
        }
        // One-character prefixes match a large part of any index; a single letter is matched whole.
        let tsquery = terms
            .iter()
            .map(|t| if t.chars().count() > 1 { format!("{t}:*") } else { t.clone() })
            .collect::<Vec<_>>()
            .join(" & ");
        Some(Self { tsquery, terms })
    }

    /// The `tsquery` text to bind.
    pub fn tsquery(&self) -> &str {
        &self.tsquery
    }

    /// The sanitized terms (lowercase, letters and digits only).
    pub fn terms(&self) -> &[String] {
        &self.terms
    }
}

/// Splits `input` into lowercase runs of letters and digits. Combining accents (a decomposed
/// "č" is "c" + U+030C) are dropped instead of splitting the word, since matching ignores
/// diacritics anyway.
fn words(input: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in input.chars() {
        if c.is_alphanumeric() {
            // `to_lowercase` may add a combining mark (`İ` → `i̇`), which is no term character.
            for lower in c.to_lowercase().filter(|l| l.is_alphanumeric()) {
                if current.chars().count() < MAX_TERM_CHARS {
                    current.push(lower);
                }
            }
        } else if !is_combining_mark(c) && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Most characters of one document that are indexed. A `tsvector` must stay under 1 MB, or
/// PostgreSQL rejects the row — and a message that can never be stored would stall its
/// partition; a conversation that long is still found by everything in its first 200,000
/// characters.
pub const MAX_INDEXED_CHARS: usize = 200_000;

/// `text` cut to at most `max` characters (on a character boundary).
pub fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Extra index terms for a document: the letter-and-digit parts of every token that is not
/// letters and digits only. PostgreSQL's parser keeps some tokens whole (e-mail addresses, URLs,
/// paths, signed numbers: `jan.novak@example.cz`, `-20`, `faktura/_`) and indexes none of their
/// parts, while a search only ever has letter-and-digit terms; with the parts as aliases,
/// `novak` finds the address and `20` the discount. A part PostgreSQL indexes anyway (`den` of
/// `den,`) is indexed twice, at the lowest weight, which ranking hardly notices.
pub fn alias_terms(text: &str) -> String {
    let mut out = String::new();
    for token in text.split_whitespace().filter(|t| !t.chars().all(char::is_alphanumeric)) {
        for part in words(token) {
            out.push_str(&part);
            out.push(' ');
        }
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_become_anded_prefix_matches_in_lowercase() {
        let q = SearchQuery::parse("Příliš  žluťoučký KŮŇ").expect("terms");
        assert_eq!(q.tsquery(), "příliš:* & žluťoučký:* & kůň:*");
    }

    #[test]
    fn tsquery_operators_and_quotes_never_survive() {
        let q = SearchQuery::parse("a' | b:* & !(c) <-> d\\ ; DROP TABLE x; --").expect("terms");
        assert_eq!(q.tsquery(), "a & b & c & d & drop:* & table:* & x");
        assert!(!q.tsquery().contains('\''));
        assert_eq!(SearchQuery::parse("!!! ::: ''' ---"), None);
        assert_eq!(SearchQuery::parse(""), None);
    }

    #[test]
    fn decomposed_accents_do_not_split_a_word() {
        let q = SearchQuery::parse("zlu\u{0165}ou\u{010d}ky\u{0301} ku\u{030A}n\u{030C}").expect("terms");
        assert_eq!(q.terms(), ["zluťoučky", "kun"]);
    }

    #[test]
    fn long_input_is_capped_in_terms_and_length() {
        let q = SearchQuery::parse(&"slovo ".repeat(50)).expect("terms");
        assert_eq!(q.terms().len(), MAX_TERMS);
        let q = SearchQuery::parse(&"x".repeat(500)).expect("terms");
        assert_eq!(q.terms()[0].len(), MAX_TERM_CHARS);
    }

    #[test]
    fn a_lowercase_that_adds_a_combining_mark_keeps_only_the_letter() {
        let q = SearchQuery::parse("İSTANBUL").expect("terms");
        assert_eq!(q.terms(), ["istanbul"]);
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate_chars("kůň", 2), "ků");
        assert_eq!(truncate_chars("kůň", 5), "kůň");
    }

    #[test]
    fn addresses_and_numbers_get_their_parts_as_aliases() {
        assert_eq!(alias_terms("Napište na jan.novak@example.cz, děkuji."), "jan novak example cz děkuji");
        assert_eq!(alias_terms("volejte +420777123456"), "420777123456");
        assert_eq!(alias_terms("sleva -20 % na soubor/_"), "20 soubor");
        assert_eq!(alias_terms("Dobrý den objednávka 4411"), "");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_query_is_anded_lowercase_terms_and_parsing_it_again_changes_nothing(input in "(?s).{0,300}") {
                let Some(query) = SearchQuery::parse(&input) else {
                    prop_assert!(!input.chars().any(char::is_alphanumeric), "{input:?} has a letter or digit");
                    return Ok(());
                };
                prop_assert!(!query.terms().is_empty() && query.terms().len() <= MAX_TERMS);
                for term in query.terms() {
                    prop_assert!(!term.is_empty() && term.chars().count() <= MAX_TERM_CHARS, "{term:?}");
                    prop_assert!(term.chars().all(char::is_alphanumeric), "only letters and digits: {term:?}");
                    prop_assert_eq!(&term.to_lowercase(), term);
                }
                let expected: Vec<String> =
                    query.terms().iter().map(|t| if t.chars().count() > 1 { format!("{t}:*") } else { t.clone() }).collect();
                prop_assert_eq!(query.tsquery(), expected.join(" & "));
                prop_assert_eq!(SearchQuery::parse(&query.terms().join(" ")), Some(query.clone()), "idempotent");
                prop_assert_eq!(SearchQuery::parse(query.tsquery()), Some(query.clone()), "its own tsquery reads back");
            }

            #[test]
            fn aliases_are_letter_and_digit_parts_of_the_text(text in "(?s).{0,200}") {
                let aliases = alias_terms(&text);
                let parts: Vec<String> = text.split_whitespace().flat_map(words).collect();
                prop_assert!(aliases.split(' ').filter(|a| !a.is_empty()).all(|a| parts.iter().any(|p| p == a)), "{aliases:?}");
            }
        }
    }
}
