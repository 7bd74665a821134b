//! The bodies of the fuzz targets, shared by `fuzz_targets/` (cargo-fuzz, nightly) and
//! `tests/replay.rs` (plain `cargo test`, stable).
//!
//! A body panics exactly when it has found a bug.

use rathaus_forms::expr::{Env, Expr, Type, Value};

/// The names the fuzzed expressions may use.
pub const SCOPE: [(&str, Type); 9] = [
    ("flag", Type::Bool),
    ("n", Type::Number),
    ("m", Type::Number),
    ("name", Type::Text),
    ("start_date", Type::Date),
    ("end_date", Type::Date),
    ("choices", Type::List),
    ("persons", Type::Group),
    ("address.postcode", Type::Text),
];

fn scope(name: &str) -> Option<Type> {
    SCOPE.iter().find(|(n, _)| *n == name).map(|(_, ty)| *ty)
}

/// The whole input is the expression's source (lossily decoded); a hash of it chooses the
/// values the names have and the date of today.
pub fn expr(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let Ok(expr) = Expr::parse(&source) else {
        return;
    };
    assert_eq!(expr.source(), source);
    assert_eq!(expr.to_string(), source);
    let references = expr.references();
    for (i, name) in references.iter().enumerate() {
        assert!(source.contains(name), "{name} is not in {source:?}");
        assert!(!references[..i].contains(name), "{name} repeated");
    }
    let Ok(ty) = expr.check(&scope) else {
        return;
    };
    assert_ne!(ty, Type::Group);
    let seed = fnv1a(data);
    // Values of any type for every name: must not panic.
    let _ = expr.eval(&FuzzEnv { seed, typed: false });
    // Values of each name's own type: the result has the checked type, or is Missing.
    let env = FuzzEnv { seed, typed: true };
    let value = expr.eval(&env);
    assert!(has_type(&value, ty), "{source:?}: {ty} gave {value:?}");
    if let Value::Number(n) = value {
        assert!(n.is_finite(), "{source:?} gave {n}");
    }
    assert_eq!(expr.holds(&env), value == Value::Bool(true));
}

fn has_type(value: &Value, ty: Type) -> bool {
    matches!(
        (value, ty),
        (Value::Missing, _)
            | (Value::Bool(_), Type::Bool)
            | (Value::Number(_), Type::Number)
            | (Value::Text(_), Type::Text)
            | (Value::Date(_), Type::Date)
            | (Value::List(_), Type::List)
    )
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct FuzzEnv {
    seed: u64,
    typed: bool,
}

fn date(days_from_ce: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_num_days_from_ce_opt(days_from_ce).unwrap_or_default()
}

fn candidates(ty: Type) -> Vec<Value> {
    match ty {
        Type::Bool => vec![Value::Bool(true), Value::Bool(false)],
        Type::Number => [
            0.0,
            1.0,
            -1.0,
            2.5,
            1e300,
            -1e300,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
        ]
        .into_iter()
        .map(Value::Number)
        .collect(),
        Type::Text => ["", " ", "x", "secondary", "Grüße"]
            .into_iter()
            .map(|s| Value::Text(s.to_owned()))
            .collect(),
        Type::Date => vec![
            Value::Date(chrono::NaiveDate::MIN),
            Value::Date(chrono::NaiveDate::MAX),
            Value::Date(date(739_000)),
            Value::Date(date(1)),
        ],
        Type::List => vec![
            Value::List(vec![]),
            Value::List(vec!["x".to_owned()]),
            Value::List(vec!["x".to_owned(), "secondary".to_owned(), "x".to_owned()]),
        ],
        Type::Group => vec![Value::Items(0), Value::Items(3), Value::Items(usize::MAX)],
    }
}

const TYPES: [Type; 6] = [
    Type::Bool,
    Type::Number,
    Type::Text,
    Type::Date,
    Type::List,
    Type::Group,
];

impl Env for FuzzEnv {
    fn value(&self, name: &str) -> Value {
        let h = mix(self.seed, fnv1a(name.as_bytes()));
        let ty = match (self.typed, scope(name)) {
            (true, Some(ty)) => ty,
            _ => TYPES[(h % 6) as usize],
        };
        let options = candidates(ty);
        let pick = (h >> 8) as usize % (options.len() + 1);
        options.get(pick).cloned().unwrap_or(Value::Missing)
    }

    fn today(&self) -> chrono::NaiveDate {
        match mix(self.seed, 0) % 4 {
            0 => chrono::NaiveDate::MIN,
            1 => chrono::NaiveDate::MAX,
            _ => date(739_000),
        }
    }
}

/// A definition file: any text must give a form, nothing, or a located error — never a panic.
pub fn definition(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let path = std::path::Path::new("fuzz.toml");
    if let Ok(Some(form)) = rathaus_forms::parse_form(path, &source) {
        assert!(!form.steps.is_empty());
    }
}

/// The small form every `form_post` input is posted to: a group, conditions, rules, a file.
pub const POST_FORM: &str = include_str!("../seeds/post_form.toml");

/// A form post: the input is split at `&` and `=` into name–value pairs (lossily decoded) and
/// read against each step of [`POST_FORM`] with each action; the engine must answer with
/// answers and messages or refuse the post, never panic, and never keep an undeclared name.
pub fn form_post(data: &[u8]) {
    use rathaus_forms::engine::{self, Action, Posted};
    static FORM: std::sync::OnceLock<rathaus_forms::FormDefinition> = std::sync::OnceLock::new();
    let form = FORM.get_or_init(|| {
        rathaus_forms::parse_form(std::path::Path::new("post_form.toml"), POST_FORM)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the post form of the fuzz crate does not parse"))
    });
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(String, String)> = text
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let posted = Posted::from_pairs(pairs);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default();
    let actions = [
        Action::Next,
        Action::Back,
        Action::Add("people".into()),
        Action::Remove("people".into(), 0),
    ];
    let mut answers = rathaus_forms::Answers::default();
    for index in 0..form.steps.len() {
        for action in &actions {
            if let Ok(outcome) =
                engine::read_step(form, index, &posted, Vec::new(), action, &answers, today)
            {
                for (name, _) in outcome.answers.iter() {
                    assert!(form.field(name).is_some(), "undeclared answer {name}");
                }
                answers = outcome.answers;
            }
        }
    }
    let _ = engine::check_all(form, &answers, today);
    let _ = answers.to_json();
}
