//! Runs the fuzz targets' bodies on stable Rust: over the seed corpus in `seeds/`, any corpus
//! and crash artifacts cargo-fuzz left in `corpus/` and `artifacts/`, and proptest's inputs.

use std::fs;
use std::path::Path;

use proptest::collection::vec;
use proptest::prelude::*;

/// Every file under `dir/target`, if that folder exists.
fn inputs(dir: &str, target: &str) -> Vec<Vec<u8>> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
    let Ok(entries) = fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| fs::read(e.path()).ok())
        .collect()
}

#[test]
fn expr_over_the_seeds_and_any_corpus() {
    let seeds = inputs("seeds", "expr");
    assert!(seeds.len() >= 10, "the seed corpus is missing");
    for dir in ["seeds", "corpus", "artifacts"] {
        for input in inputs(dir, "expr") {
            rathaus_fuzz::expr(&input);
        }
    }
}

const TOKENS: [&str; 48] = [
    "flag",
    "n",
    "m",
    "name",
    "choices",
    "persons",
    "start_date",
    "end_date",
    "address.postcode",
    "nope",
    "1",
    "0",
    "14",
    "2.5",
    "\"x\"",
    "\"\"",
    "\"a\\\"b\"",
    "true",
    "false",
    "and",
    "or",
    "not",
    "in",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "(",
    ")",
    "[",
    "]",
    ",",
    "today(",
    "age(",
    "days_between(",
    "count(",
    "len(",
    "is_set(",
    "date(\"2024-02-29\")",
    "date(",
    "=",
    "!",
    ".",
    "\"",
];

fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    let sep = prop::sample::select(&[" ", ""][..]);
    vec((prop::sample::select(&TOKENS[..]), sep), 0..40).prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(t, s)| [t, s])
            .collect::<String>()
            .into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn expr_over_token_soup(input in token_soup()) {
        rathaus_fuzz::expr(&input);
    }

    #[test]
    fn expr_over_arbitrary_bytes(input in vec(any::<u8>(), 0..120)) {
        rathaus_fuzz::expr(&input);
    }
}

#[test]
fn definition_and_form_post_over_the_seeds_and_any_corpus() {
    let definitions = inputs("seeds", "definition");
    assert!(definitions.len() >= 2, "the definition seeds are missing");
    for dir in ["seeds", "corpus", "artifacts"] {
        for input in inputs(dir, "definition") {
            rathaus_fuzz::definition(&input);
        }
        for input in inputs(dir, "form_post") {
            rathaus_fuzz::form_post(&input);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn definition_never_panics(text in "\\PC{0,400}") {
        rathaus_fuzz::definition(text.as_bytes());
    }

    #[test]
    fn definition_never_panics_on_mutated_seeds(cut in 0usize..4000, insert in "[\\[\\]=\"{}a-z_.,\n 0-9]{0,20}") {
        let seed = rathaus_fuzz::POST_FORM;
        let at = seed.char_indices().map(|(i, _)| i).nth(cut % seed.chars().count()).unwrap_or(0);
        let mutated = format!("{}{}{}", &seed[..at], insert, &seed[at..]);
        rathaus_fuzz::definition(mutated.as_bytes());
    }

    #[test]
    fn form_post_never_panics(pairs in vec(("(kind|people\\.[0-9]{1,2}\\.(person_name\\.(given_names|family_name)|born)|people\\.count|from|amount|account|home\\.(street|house_number|postcode|city)|topics|csrf|action|step|[a-z.]{1,12})", "\\PC{0,30}"), 0..30)) {
        let body = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        rathaus_fuzz::form_post(body.as_bytes());
    }
}
