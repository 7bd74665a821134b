// `sqlx::migrate!` embeds the migration files at compile time, but cargo does not know that it
// reads them: without this, a changed or added migration leaves a stale copy in the binary.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
