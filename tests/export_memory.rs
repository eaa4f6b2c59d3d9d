//! Large exports stream in constant memory (issue #4): the `geoportal`
//! binary's peak resident memory (`VmHWM`) while it exports, and while its
//! server answers an open-data download, is measured with 10,000 and then
//! 100,000 features in the table. The output grows tenfold; the peak may
//! not grow by more than `SLACK`. Holding the rows or the file in memory
//! (a `Vec` of rows, a body built whole) would add at least the output's
//! size, many times `SLACK`, so this test fails on it.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TestDb;
use common::binary::{self, Served};

/// Allowed growth of the peak between the small and the large run, bytes:
/// allocator noise, far below the size of the large output.
const SLACK: u64 = 8 * 1024 * 1024;
const SMALL: i64 = 10_000;
const LARGE: i64 = 100_000;

/// Adds temporary structures `from..=to` (kiosks on a grid over the city) as
/// one registered bulk load, so history keeps one entry, not one per row.
async fn add_structures(db: &TestDb, from: i64, to: i64) {
    let mut tx = db.pool.begin().await.unwrap();
    let batch: i64 =
        sqlx::query_scalar("INSERT INTO import_batches (actor, source) VALUES ('test', 'export_memory') RETURNING id")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    sqlx::query("SELECT set_config('geoportal.batch_id', $1, true)")
        .bind(batch.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO temporary_structures (passport_number, passport_status, issued_at, valid_until, owner_name, \
             owner_edrpou, type, specialization, area_m2, address, status, geom) \
         SELECT 'ПП-' || g, 'issued', date '2024-01-01', date '2027-01-01', 'ТОВ «Кіоск ' || g || '»', \
                (10000000 + g)::text, 'kiosk', 'преса', 12.5, 'вул. Тестова, ' || g, 'installed', \
                ST_MakeEnvelope(c.lon, c.lat, c.lon + 0.00005, c.lat + 0.00004, 4326) \
           FROM generate_series($1::int8, $2::int8) g, \
                LATERAL (SELECT 30.40 + (g % 1000) * 0.0002 AS lon, 50.40 + (g / 1000) * 0.0002 AS lat) c",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("UPDATE import_batches SET finished_at = now() WHERE id = $1")
        .bind(batch)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The peak resident set of a live process, bytes.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn geoportal(db: &TestDb, data_dir: &Path) -> Command {
    let mut cmd = binary::command(&db.url());
    cmd.env("GEOPORTAL_DATA_DIR", data_dir).env_remove("GEOPORTAL_LISTEN");
    cmd
}

/// Runs `geoportal export DIR`; returns its peak memory and the size of the
/// temporary-structures GeoJSON it wrote. The peak is sampled until exit:
/// `VmHWM` only rises, so the last sample holds all but the final moments.
fn export(db: &TestDb, tmp: &Path, dir: &Path) -> (u64, u64) {
    let stderr = std::fs::File::create(tmp.join("export.err")).unwrap();
    let mut child = geoportal(db, &tmp.join("data"))
        .arg("export")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(hwm) = vm_hwm(pid) {
            peak = peak.max(hwm);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        status.success(),
        "export failed: {}",
        std::fs::read_to_string(tmp.join("export.err")).unwrap_or_default()
    );
    assert!(peak > 0, "no memory sample taken");
    let size = std::fs::metadata(dir.join("temporary_structures.geojson"))
        .unwrap()
        .len();
    (peak, size)
}

/// GETs `path` over HTTP/1.1 and counts the body bytes without keeping them.
fn download(port: u16, path: &str) -> u64 {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        if head.len() < 12 {
            head.extend_from_slice(&buf[..n.min(12)]);
        }
        total += n as u64;
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
    total
}

fn serve(db: &TestDb, tmp: &Path) -> Served {
    Served::builder(&db.url())
        .data_dir(tmp.join("data"))
        .stderr(Stdio::null())
        .start()
}

#[tokio::test(flavor = "multi_thread")]
async fn export_and_download_of_100k_features_run_in_constant_memory() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let url = "/opendata/temporary_structures.geojson";

    add_structures(&db, 1, SMALL).await;
    let (export_small, file_small) = export(&db, tmp.path(), &tmp.path().join("small"));
    let server = serve(&db, tmp.path());
    let (pid, port) = (server.child.id(), server.port);
    // The first download warms the server (pool, registry, buffers).
    let body_small = download(port, url);
    assert_eq!(download(port, url), body_small);
    let serve_small = vm_hwm(pid).unwrap();

    add_structures(&db, SMALL + 1, LARGE).await;
    let (export_large, file_large) = export(&db, tmp.path(), &tmp.path().join("large"));
    let body_large = download(port, url);
    let serve_large = vm_hwm(pid).unwrap();
    drop(server);

    let mib = |b: u64| b as f64 / 1048576.0;
    eprintln!(
        "export: {SMALL} rows peak {:.1} MiB, file {:.1} MiB; {LARGE} rows peak {:.1} MiB, file {:.1} MiB",
        mib(export_small),
        mib(file_small),
        mib(export_large),
        mib(file_large)
    );
    eprintln!(
        "serve: {SMALL} rows peak {:.1} MiB, body {:.1} MiB; {LARGE} rows peak {:.1} MiB, body {:.1} MiB",
        mib(serve_small),
        mib(body_small),
        mib(serve_large),
        mib(body_large)
    );
    // The output really grew tenfold, and by far more than the slack.
    assert!(
        file_large > 9 * file_small && file_large > 3 * SLACK,
        "{file_small} → {file_large}"
    );
    assert!(
        body_large > 9 * body_small && body_large > 3 * SLACK,
        "{body_small} → {body_large}"
    );
    // The memory did not.
    assert!(
        export_large < export_small + SLACK,
        "export peak grew from {:.1} to {:.1} MiB",
        mib(export_small),
        mib(export_large)
    );
    assert!(
        serve_large < serve_small + SLACK,
        "server peak grew from {:.1} to {:.1} MiB",
        mib(serve_small),
        mib(serve_large)
    );
}
