//! Search latency and catalogue load time over the real national catalogue (4,800+ services)
//! plus the shipped service definitions.
//!
//! Run by hand, not in CI (see bench/README.md):
//!
//! ```text
//! cargo bench -p rathaus-catalog --bench search
//! cargo bench -p rathaus-catalog --bench search -- 'search/'   # only the queries
//! ```
//!
//! Needs the catalogue export at `../shared/fixtures/leika/leistungen.csv`, beside the checkout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rathaus_catalog::{Catalog, load_definitions, read_catalogue};
use rathaus_domain::{Lang, LifeSituation, TenantDirectory};

/// Results per page, as the portal's search page and the API's default use.
const PAGE: usize = 20;

/// One measured query: a name for the report, the text, the language and an optional
/// life-situation filter.
struct Case {
    name: &'static str,
    query: String,
    lang: Lang,
    filter: Option<LifeSituation>,
}

fn case(name: &'static str, query: &str, lang: Lang) -> Case {
    Case {
        name,
        query: query.to_owned(),
        lang,
        filter: None,
    }
}

/// A realistic mix: what people type into the portal's search box, plus the hostile and the
/// empty cases the portal must also answer quickly.
fn cases() -> Vec<Case> {
    // About 10 KB of text, as a pasted document or a crafted URL would send. The search reads
    // the first 200 characters and at most 8 distinct words, so the worst case is 8 distinct
    // long words (each gets typo tolerance and n-grams) within those 200 characters.
    let long: String = "Wohnungsgeberbestätigung Personalausweis Baugenehmigung Bewohnerparkausweis \
                        Führerscheinumtausch Hundesteuerbefreiung Gewerbeanmeldung Kindergeldantrag "
        .repeat(80)
        .chars()
        .take(10 * 1024)
        .collect();
    vec![
        // Single words.
        case("word/Personalausweis", "Personalausweis", Lang::De),
        case("word/Hund", "Hund", Lang::De),
        case("word/Ummeldung", "Ummeldung", Lang::De),
        case("word/Baugenehmigung", "Baugenehmigung", Lang::De),
        // Compounds and parts of compounds (n-gram matching).
        case(
            "compound/Bewohnerparkausweis",
            "Bewohnerparkausweis",
            Lang::De,
        ),
        case("compound/Parkausweis", "Parkausweis", Lang::De),
        case(
            "compound/Wohnungsgeberbestätigung",
            "Wohnungsgeberbestätigung",
            Lang::De,
        ),
        // Typos (Levenshtein automata).
        case("typo/Personalausweiss", "Personalausweiss", Lang::De),
        case("typo/Führerschien", "Führerschien", Lang::De),
        case("typo/Hundesteur", "Hundesteur", Lang::De),
        // English phrases.
        case(
            "en/register my new address",
            "register my new address",
            Lang::En,
        ),
        case("en/driving licence", "driving licence", Lang::En),
        case("en/building permit", "building permit", Lang::En),
        // Three-word queries.
        case(
            "three/Kita Gutschein beantragen",
            "Kita Gutschein beantragen",
            Lang::De,
        ),
        case(
            "three/Anmeldung neuer Wohnsitz",
            "Anmeldung neuer Wohnsitz",
            Lang::De,
        ),
        // Hostile input.
        Case {
            name: "long/10KB",
            query: long,
            lang: Lang::De,
            filter: None,
        },
        // Browsing: no query, everything alphabetically.
        case("browse/all", "", Lang::De),
        // Filtered by life situation, with and without a query.
        Case {
            name: "life-situation/Anmeldung+moving",
            query: "Anmeldung".to_owned(),
            lang: Lang::De,
            filter: Some(LifeSituation::Moving),
        },
        Case {
            name: "life-situation/browse moving",
            query: String::new(),
            lang: Lang::De,
            filter: Some(LifeSituation::Moving),
        },
    ]
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The national catalogue export; stops with a message naming the path when it is missing.
fn catalogue_csv() -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/leika/leistungen.csv");
    if !path.is_file() {
        panic!(
            "the catalogue export is missing: {} (expected the shared fixtures beside the \
             checkout, at ../shared/fixtures/leika/leistungen.csv from the workspace root)",
            path.display()
        );
    }
    path
}

fn services_dir() -> PathBuf {
    root().join("services")
}

fn tenant() -> TenantDirectory {
    let path = root().join("demo/tenant.toml");
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the demo tenant {}: {e}", path.display()));
    TenantDirectory::parse(&path, &source)
        .unwrap_or_else(|e| panic!("the demo tenant {} is invalid: {e}", path.display()))
}

fn load(csv: &Path, tenant: &TenantDirectory) -> Catalog {
    Catalog::load(&services_dir(), Some(csv), tenant).unwrap_or_else(|e| {
        let details: Vec<String> = e.details().iter().map(ToString::to_string).collect();
        panic!("cannot load the catalogue: {e}\n{}", details.join("\n"))
    })
}

fn search(c: &mut Criterion) {
    let csv = catalogue_csv();
    let tenant = tenant();
    let catalog = load(&csv, &tenant);
    assert!(
        catalog.len() > 4_800,
        "expected the full catalogue, got {} entries",
        catalog.len()
    );
    let cases = cases();
    // What each case finds, so a reader can see that the mix measures real searches.
    eprintln!(
        "catalogue: {} entries; hits per case (of {PAGE} shown):",
        catalog.len()
    );
    for case in &cases {
        let results = catalog.search(&case.query, case.lang, case.filter, 0, PAGE);
        eprintln!("  {:<40} {:>5} hits", case.name, results.total);
    }

    let mut group = c.benchmark_group("search");
    group.measurement_time(Duration::from_secs(3));
    for case in &cases {
        group.bench_function(BenchmarkId::from_parameter(case.name), |b| {
            b.iter(|| {
                let results =
                    catalog.search(black_box(&case.query), case.lang, case.filter, 0, PAGE);
                black_box((results.items.len(), results.total, results.facets.len()))
            });
        });
    }
    group.finish();

    // The everyday cases one after the other (all but the hostile 10 KB query, which would
    // dominate the sum): the mean per query of a mixed workload, as queries per second.
    let everyday: Vec<&Case> = cases
        .iter()
        .filter(|c| !c.name.starts_with("long/"))
        .collect();
    let mut group = c.benchmark_group("search-mix");
    group.throughput(Throughput::Elements(everyday.len() as u64));
    group.bench_function(format!("everyday ({} cases)", everyday.len()), |b| {
        b.iter(|| {
            for case in &everyday {
                let results =
                    catalog.search(black_box(&case.query), case.lang, case.filter, 0, PAGE);
                black_box(results.total);
            }
        });
    });
    group.finish();
}

/// Cold start: everything the portal does with the catalogue before it can answer, and its
/// parts, so a slow start can be traced to reading, parsing or indexing.
fn load_catalogue(c: &mut Criterion) {
    let csv = catalogue_csv();
    let tenant = tenant();
    let bytes =
        std::fs::read(&csv).unwrap_or_else(|e| panic!("cannot read {}: {e}", csv.display()));

    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("cold-start (definitions + csv + index)", |b| {
        b.iter(|| black_box(load(&csv, &tenant).len()));
    });
    group.bench_function("parse csv", |b| {
        b.iter(|| {
            let records = read_catalogue(&csv, black_box(&bytes))
                .unwrap_or_else(|e| panic!("{} errors in {}", e.len(), csv.display()));
            black_box(records.len())
        });
    });
    group.bench_function("read + check definitions", |b| {
        b.iter(|| {
            black_box(
                load_definitions(&services_dir(), Some(&tenant))
                    .definitions
                    .len(),
            )
        });
    });
    group.bench_function("build index (from parsed parts)", |b| {
        b.iter_batched(
            || {
                let definitions = load_definitions(&services_dir(), Some(&tenant))
                    .definitions
                    .into_iter()
                    .map(|(_, d)| d)
                    .collect::<Vec<_>>();
                let records = read_catalogue(&csv, &bytes)
                    .unwrap_or_else(|e| panic!("{} errors in {}", e.len(), csv.display()));
                (definitions, records)
            },
            |(definitions, records)| {
                let catalog = Catalog::from_parts(definitions, records)
                    .unwrap_or_else(|e| panic!("cannot build the index: {e}"));
                black_box(catalog.len())
            },
            criterion::BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, search, load_catalogue);
criterion_main!(benches);
