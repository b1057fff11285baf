//! Full-text search on a contact's timeline and tenant-wide, and the search input held to
//! PostgreSQL: whatever anyone types is a query it accepts, and words typed from a document
//! find it.

use std::collections::{BTreeSet, HashSet};

use contracts::Channel;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use timeline::search::{alias_terms, SearchQuery};
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn czech_text_is_found_without_diacritics_on_a_contact_and_tenant_wide_with_snippets() {
    let timeline = spawn().await;
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let chat = |m: Msg| m.channel(Channel::Webchat).conversation(Some("chat-1"));
    let horse = chat(msg(a, "w.1", 0).text("Příliš žluťoučký kůň úpěl ďábelské ódy."));
    let thanks = chat(msg(a, "w.2", 60).text("Děkuji za informaci."));
    let claim = msg(a, "e.1", 5000)
        .channel(Channel::Email)
        .conversation(None)
        .subject("Reklamace: žluťoučký kůň")
        .text("Dobrý den, posílám reklamaci.");
    let other = msg(b, "wa.1", 100).text("Kůň je žluťoučký, ale ne příliš.");
    let markup = msg(c, "wa.2", 200).text("Pozor <script>alert(1)</script> na koně, kůň kope.");
    let foreign = msg(Uuid::new_v4(), "wa.3", 300).tenant("globex").text("Příliš žluťoučký kůň");
    timeline.apply(&resolved(&[&horse, &thanks, &claim, &other, &markup, &foreign])).await;

    // One contact's timeline.
    let found = timeline.timeline(a, "q=prilis%20zlutoucky%20kun", "acme").await;
    let hits = interactions(&found);
    assert_eq!((found.len(), hits[0].interaction_id), (1, horse.id()), "{found:#?}");
    let snippet = hits[0].snippet.as_deref().expect("snippet");
    assert!(snippet.contains("<mark>Příliš</mark> <mark>žluťoučký</mark> <mark>kůň</mark>"), "{snippet}");
    assert!(hits[0].rank.is_some_and(|r| r > 0.0));
    assert_eq!(timeline.timeline(a, "q=ZLUTOU", "acme").await.len(), 2, "prefix, any case, subject included");
    assert_eq!(
        texts(&timeline.timeline(a, "q=dekuji", "acme").await),
        ["Příliš žluťoučký kůň úpěl ďábelské ódy."],
        "the whole transcript is searched"
    );
    assert!(timeline.timeline(a, "q=zlutoucky%20kone", "acme").await.is_empty(), "every term must match");

    // The whole tenant, best first.
    let results = timeline.search("q=prilis%20zlutoucky%20kun", "acme").await;
    let ids: BTreeSet<Uuid> = results.items.iter().map(|h| h.interaction_id).collect();
    assert_eq!(ids, [horse.id(), other.id()].into_iter().collect(), "{results:#?}");
    assert!(results.items.iter().all(|h| h.snippet.as_deref().is_some_and(|s| s.contains("<mark>"))));
    let ranks: Vec<f32> = results.items.iter().map(|h| h.rank.expect("rank")).collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "ranked: {ranks:?}");
    let subject = timeline.search("q=reklam", "acme").await.items;
    assert_eq!(subject.len(), 1);
    assert!(subject[0].snippet.as_deref().is_some_and(|s| s.contains("<mark>Reklamace</mark>")), "{:?}", subject[0].snippet);
    let escaped = timeline.search("q=kope", "acme").await.items;
    let snippet = escaped[0].snippet.as_deref().expect("snippet");
    let markup_left = snippet.replace("<mark>", "").replace("</mark>", "");
    assert!(snippet.contains("&gt;") && !markup_left.contains(['<', '>']), "snippets are HTML-safe: {snippet}");
    assert_eq!(timeline.search("q=kun&channel=email", "acme").await.items.len(), 1);

    // Paging through ranked hits returns each once.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = timeline
            .search(&format!("q=zlut&limit=1{}", cursor.map(|c| format!("&cursor={c}")).unwrap_or_default()), "acme")
            .await;
        walked.extend(page.items.iter().map(|h| h.interaction_id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!((walked.len(), walked.iter().collect::<HashSet<_>>().len()), (3, 3), "{walked:?}");

    // Hostile input is only ever a bound search string.
    let injection =
        timeline.search("q=k%C5%AF%C5%88%27%3B%20DROP%20TABLE%20interactions%3B%20--%20%7C%20%21%20%3A%2A", "acme").await;
    assert!(injection.items.is_empty());
    let page = timeline.search("q=kun", "acme").await;
    assert_eq!(page.items.len(), 4, "and the table is still there");
    assert_eq!((page.ranked_matches, page.rank_window), (4, 2000), "every match was ranked");
}

/// `n` values of `strategy` from a fixed seed (the property is checked against PostgreSQL in
/// one statement, not once per case).
fn samples<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n).map(|_| strategy.new_tree(&mut runner).expect("a value").current()).collect()
}

#[tokio::test]
async fn any_text_is_a_query_postgresql_accepts_and_words_typed_from_a_document_find_it() {
    let timeline = spawn().await;
    // Anything at all, including tsquery syntax, quotes, control characters and astral planes.
    let mut typed = samples(proptest::string::string_regex("(?s).{0,80}").expect("regex"), 400);
    typed.extend(samples(proptest::string::string_regex("[a-z&|!:*()'<>\\\\ -]{1,40}").expect("regex"), 200));
    let queries: Vec<String> = typed.iter().filter_map(|t| SearchQuery::parse(t)).map(|q| q.tsquery().to_owned()).collect();
    assert!(queries.len() > 400, "most samples hold a letter or digit");
    let accepted: Result<i64, _> =
        sqlx::query_scalar("SELECT count(to_tsquery('timeline_unaccent', q)) FROM unnest($1::text[]) q")
            .bind(&queries)
            .fetch_one(&timeline.pool)
            .await;
    if accepted.is_err() {
        for query in &queries {
            let one = sqlx::query("SELECT to_tsquery('timeline_unaccent', $1)").bind(query).execute(&timeline.pool).await;
            assert!(one.is_ok(), "PostgreSQL refuses the query {query:?}: {one:?}");
        }
    }
    assert_eq!(accepted.ok(), i64::try_from(queries.len()).ok());

    // Documents of words (Czech letters, digits) between punctuation, as messages are written:
    // searching for the whole text finds the document it came from.
    let documents = samples(
        proptest::string::string_regex("([A-Za-z0-9ěščřžýáíéúůďťňĚŠČŘŽÝÁÍÉÚŮĎŤŇ]{1,12}[ ,.;:!?'()/@+&|_#*=-]{1,2}){1,10}")
            .expect("regex"),
        300,
    );
    let queries: Vec<String> = documents.iter().map(|d| SearchQuery::parse(d).expect("words").tsquery().to_owned()).collect();
    let aliases: Vec<String> = documents.iter().map(|d| alias_terms(d)).collect();
    let missed: Vec<(String, String)> = sqlx::query_as(
        "SELECT body, q FROM unnest($1::text[], $2::text[], $3::text[]) AS d(body, aliases, q)
         WHERE NOT search_document(NULL, body, aliases) @@ to_tsquery('timeline_unaccent', q)",
    )
    .bind(&documents)
    .bind(&aliases)
    .bind(&queries)
    .fetch_all(&timeline.pool)
    .await
    .expect("matched");
    assert!(missed.is_empty(), "documents their own words do not find: {missed:#?}");
}
