//! Syncing a tenant directory, the part both backends share: which tables and columns hold the
//! directory, how a [`TenantDirectory`] becomes rows, and which rows to insert, update or retire.
//!
//! The backends only read the stored rows and carry out the [`Plan`]; deciding what changed lives
//! here, once, so SQLite and PostgreSQL cannot count differently. Rows are never deleted: records
//! such as submissions will point at authorities, and an authority that leaves the directory must
//! keep its name for them.

use std::collections::HashMap;

use rathaus_domain::TenantDirectory;
use rathaus_domain::tenant::Scope;

use crate::model::SyncReport;

/// A directory table: every one has `tenant_id`, `id`, these data columns, `created_at`,
/// `updated_at` and `retired_at`, with the primary key `(tenant_id, id)`.
#[derive(Debug)]
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

impl Table {
    /// Reads every row of a tenant, retired ones included: `id`, the data columns, `retired`.
    pub fn select_sql(&self) -> String {
        format!(
            "SELECT id, {}, retired_at IS NOT NULL AS retired FROM {} WHERE tenant_id = $1",
            self.columns.join(", "),
            self.name
        )
    }

    /// Inserts a row or brings an existing one up to date and active again. Binds: `$1` tenant,
    /// `$2` id, the data columns, then `now` twice (created_at, updated_at).
    pub fn upsert_sql(&self) -> String {
        let n = self.columns.len();
        let params: Vec<String> = (3..3 + n + 2).map(|i| format!("${i}")).collect();
        let sets: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO {table} (tenant_id, id, {columns}, created_at, updated_at, retired_at) \
             VALUES ($1, $2, {params}, NULL) \
             ON CONFLICT (tenant_id, id) DO UPDATE SET {sets}, updated_at = excluded.updated_at, retired_at = NULL",
            table = self.name,
            columns = self.columns.join(", "),
            params = params.join(", "),
            sets = sets.join(", "),
        )
    }

    /// Marks a row retired. Binds: `$1` now, `$2` tenant, `$3` id.
    pub fn retire_sql(&self) -> String {
        format!(
            "UPDATE {} SET retired_at = $1, updated_at = $1 WHERE tenant_id = $2 AND id = $3",
            self.name
        )
    }
}

pub(crate) const NODES: Table = Table {
    name: "nodes",
    columns: &["name_de", "name_en"],
};
pub(crate) const DISTRICTS: Table = Table {
    name: "districts",
    columns: &["name_de", "name_en"],
};
pub(crate) const AUTHORITY_KINDS: Table = Table {
    name: "authority_kinds",
    columns: &["name_de", "name_en", "scope"],
};
pub(crate) const AUTHORITIES: Table = Table {
    name: "authorities",
    columns: &["kind_id", "district_id", "name_de", "name_en", "node_id"],
};

/// The tables in the order they are written: a row's foreign keys point only to earlier tables.
pub(crate) const TABLES: [&Table; 4] = [&NODES, &DISTRICTS, &AUTHORITY_KINDS, &AUTHORITIES];

/// One row of a directory table: its id and its data columns in [`Table::columns`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub id: String,
    pub values: Vec<Option<String>>,
}

/// A row as stored, with whether it is retired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredRow {
    pub row: Row,
    pub retired: bool,
}

/// The rows the directory wants, one list per table in [`TABLES`] order.
pub(crate) fn desired_rows(directory: &TenantDirectory) -> [Vec<Row>; 4] {
    let text = |t: &rathaus_domain::Text| vec![Some(t.de().to_owned()), Some(t.en().to_owned())];
    let nodes = directory
        .nodes
        .iter()
        .map(|n| Row {
            id: n.id.to_string(),
            values: text(&n.name),
        })
        .collect();
    let districts = directory
        .districts
        .iter()
        .map(|d| Row {
            id: d.id.to_string(),
            values: text(&d.name),
        })
        .collect();
    let kinds = directory
        .authority_kinds
        .iter()
        .map(|k| {
            let mut values = text(&k.name);
            values.push(Some(scope_name(k.scope).to_owned()));
            Row {
                id: k.id.to_string(),
                values,
            }
        })
        .collect();
    let authorities = directory
        .authorities
        .iter()
        .map(|a| Row {
            id: a.id.to_string(),
            values: vec![
                Some(a.kind.to_string()),
                a.district.as_ref().map(ToString::to_string),
                Some(a.name.de().to_owned()),
                Some(a.name.en().to_owned()),
                Some(a.node.to_string()),
            ],
        })
        .collect();
    [nodes, districts, kinds, authorities]
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::District => "district",
        Scope::Tenant => "tenant",
    }
}

/// What to do to one table.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Rows to insert, change or bring back (all one upsert).
    pub upsert: Vec<Row>,
    /// Ids of active rows to retire.
    pub retire: Vec<String>,
    pub report: SyncReport,
}

/// Compares what is stored with what the directory wants. Unchanged active rows are left alone,
/// so `updated_at` keeps meaning "last changed" and a second sync reports nothing.
pub(crate) fn plan(stored: Vec<StoredRow>, desired: Vec<Row>) -> Plan {
    let mut stored: HashMap<String, StoredRow> =
        stored.into_iter().map(|s| (s.row.id.clone(), s)).collect();
    let mut plan = Plan::default();
    for row in desired {
        match stored.remove(&row.id) {
            None => {
                plan.report.added += 1;
                plan.upsert.push(row);
            }
            Some(old) if old.retired => {
                plan.report.added += 1;
                plan.upsert.push(row);
            }
            Some(old) if old.row != row => {
                plan.report.updated += 1;
                plan.upsert.push(row);
            }
            Some(_) => {}
        }
    }
    let mut retire: Vec<String> = stored
        .into_values()
        .filter(|s| !s.retired)
        .map(|s| s.row.id)
        .collect();
    // Deterministic order keeps lock order stable between concurrent syncs.
    retire.sort();
    plan.report.retired = retire.len() as u64;
    plan.retire = retire;
    plan
}

impl std::ops::AddAssign for SyncReport {
    fn add_assign(&mut self, other: Self) {
        self.added += other.added;
        self.updated += other.updated;
        self.retired += other.retired;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str) -> Row {
        Row {
            id: id.into(),
            values: vec![Some(name.into()), None],
        }
    }

    fn stored(id: &str, name: &str, retired: bool) -> StoredRow {
        StoredRow {
            row: row(id, name),
            retired,
        }
    }

    #[test]
    fn plans_count_each_kind_of_change() {
        let plan = plan(
            vec![
                stored("same", "A", false),
                stored("changed", "old", false),
                stored("gone", "G", false),
                stored("back", "B", true),
                stored("long-gone", "L", true),
            ],
            vec![
                row("same", "A"),
                row("changed", "new"),
                row("back", "B"),
                row("new", "N"),
            ],
        );
        assert_eq!(
            plan.report,
            SyncReport {
                added: 2,
                updated: 1,
                retired: 1
            }
        );
        let ids: Vec<_> = plan.upsert.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["changed", "back", "new"]);
        assert_eq!(plan.retire, ["gone"]);
    }

    #[test]
    fn upsert_binds_every_column() {
        let sql = AUTHORITIES.upsert_sql();
        assert!(
            sql.contains("VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)"),
            "{sql}"
        );
        assert!(sql.contains("node_id = excluded.node_id"), "{sql}");
    }
}
