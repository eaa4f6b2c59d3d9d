//! Loading: one transaction, one import batch, COPY per table fed from the
//! generator thread, sequences advanced, one history row per table.

use super::copy::{Cancelled, Msg, Sink};
use super::{DemoError, DemoOptions, DemoSummary, TABLES, generate};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;
use std::time::Instant;
use tokio::sync::mpsc;

/// Rows per COPY statement: bounds the server's queue of after-row trigger
/// events (history, foreign keys) for the big tables.
const MAX_ROWS_PER_COPY: u64 = 250_000;
/// Chunks the generator may run ahead of the database.
const CHANNEL_DEPTH: usize = 8;
/// Serialises concurrent demo loads (pg_advisory_xact_lock key).
const LOCK_KEY: i64 = 0x6465_6d6f_6369_7479; // "democity"

pub async fn run(pool: &PgPool, opts: &DemoOptions, progress: bool) -> Result<DemoSummary, DemoError> {
    if !opts.scale.is_finite() || opts.scale <= 0.0 || opts.scale > 100.0 {
        return Err(DemoError::InvalidScale(opts.scale));
    }
    let started = Instant::now();
    let source = format!("demo:scale={},seed={}", opts.scale, opts.seed);
    let sha = hex::encode(Sha256::digest(source.as_bytes()));
    tracing::info!(%source, "loading demo city");

    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    for t in TABLES {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {t})");
        let busy: bool = sqlx::query_scalar(&sql).fetch_one(&mut *tx).await?;
        if busy {
            return Err(DemoError::NotEmpty((*t).to_string()));
        }
    }
    let batch_id: i64 = sqlx::query_scalar(
        "INSERT INTO import_batches (actor, source, source_sha256) VALUES ('demo', $1, $2) RETURNING id",
    )
    .bind(&source)
    .bind(&sha)
    .fetch_one(&mut *tx)
    .await?;
    // Transaction-local: the history trigger skips per-row entries for this batch.
    sqlx::query("SELECT set_config('geoportal.batch_id', $1, true)")
        .bind(batch_id.to_string())
        .execute(&mut *tx)
        .await?;

    let bar = if progress {
        ProgressBar::new(TABLES.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("building the city layout");

    let (sender, mut receiver) = mpsc::channel::<Msg>(CHANNEL_DEPTH);
    let (seed, scale) = (opts.seed, opts.scale);
    let generator = tokio::task::spawn_blocking(move || {
        let mut sink = Sink::new(sender);
        generate::generate(seed, scale, &mut sink)
    });
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    let copied = copy_all(&mut tx, &mut receiver, &bar, &mut rows).await;
    // If the database side failed, closing the channel stops the generator.
    drop(receiver);
    let generated = generator.await;
    copied?;
    match generated {
        Ok(Ok(())) => {}
        Ok(Err(Cancelled)) => return Err(DemoError::Generator("generator stopped early".into())),
        Err(e) => return Err(DemoError::Generator(e.to_string())),
    }
    for t in TABLES {
        if !rows.contains_key(*t) {
            return Err(DemoError::Generator(format!("table {t} was not generated")));
        }
    }

    bar.set_message("finishing");
    for t in TABLES {
        let sql = format!("SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))");
        sqlx::query(&sql).execute(&mut *tx).await?;
    }
    let names: Vec<String> = TABLES.iter().map(|t| (*t).to_string()).collect();
    let counts: Vec<i64> = TABLES
        .iter()
        .map(|t| rows.get(*t).copied().unwrap_or(0) as i64)
        .collect();
    sqlx::query(
        "INSERT INTO history (table_name, actor, operation, new_row, batch_id) \
         SELECT u.t, 'demo', 'bulk_load', jsonb_build_object('rows', u.n, 'source', $3::text, 'sha256', $4::text), $1 \
         FROM unnest($2::text[], $5::bigint[]) WITH ORDINALITY AS u(t, n, ord) ORDER BY u.ord",
    )
    .bind(batch_id)
    .bind(&names)
    .bind(&source)
    .bind(&sha)
    .bind(&counts)
    .execute(&mut *tx)
    .await?;
    let row_counts = serde_json::Value::Object(
        rows.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::from(*v)))
            .collect(),
    );
    sqlx::query("UPDATE import_batches SET finished_at = clock_timestamp(), row_counts = $2 WHERE id = $1")
        .bind(batch_id)
        .bind(&row_counts)
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT set_config('geoportal.batch_id', '', true)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    bar.finish_with_message("demo city loaded");
    let total: u64 = rows.values().sum();
    tracing::info!(
        batch_id,
        rows = total,
        elapsed_s = started.elapsed().as_secs_f64(),
        "demo city loaded"
    );
    Ok(DemoSummary { batch_id, rows })
}

/// Receives the generator's stream and runs one COPY per table (split into
/// several statements for very large tables).
async fn copy_all(
    conn: &mut PgConnection,
    rx: &mut mpsc::Receiver<Msg>,
    bar: &ProgressBar,
    rows: &mut BTreeMap<String, u64>,
) -> Result<(), DemoError> {
    let mut expected = TABLES.iter();
    while let Some(msg) = rx.recv().await {
        let Msg::Begin { table, columns } = msg else {
            return Err(DemoError::Generator("data outside a table".into()));
        };
        if expected.next() != Some(&table) {
            return Err(DemoError::Generator(format!("unexpected table {table}")));
        }
        let t0 = Instant::now();
        bar.set_message(table);
        let stmt = format!("COPY {table} ({columns}) FROM STDIN");
        let mut copy = conn.copy_in_raw(&stmt).await?;
        let (mut in_stmt, mut total, mut sent) = (0u64, 0u64, 0u64);
        loop {
            match rx.recv().await {
                Some(Msg::Data { bytes, rows: n }) => {
                    if in_stmt >= MAX_ROWS_PER_COPY {
                        total += copy.finish().await?;
                        copy = conn.copy_in_raw(&stmt).await?;
                        in_stmt = 0;
                    }
                    copy.send(bytes).await?;
                    in_stmt += n;
                    sent += n;
                    bar.set_message(format!("{table}: {sent} rows"));
                }
                Some(Msg::End) => {
                    total += copy.finish().await?;
                    break;
                }
                Some(Msg::Begin { .. }) | None => {
                    copy.abort("demo generator stopped").await?;
                    return Err(DemoError::Generator(format!("stream for {table} ended early")));
                }
            }
        }
        tracing::info!(
            table,
            rows = total,
            elapsed_ms = t0.elapsed().as_millis() as u64,
            "table loaded"
        );
        rows.insert(table.to_string(), total);
        bar.inc(1);
    }
    Ok(())
}
