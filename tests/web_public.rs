//! The public pages of the web portal in a real browser (web/e2e/public*.test.mjs)
//! against the real router over a demo city, and the MapLibre style
//! validation (web/e2e/styles.test.mjs).

mod common;
mod web_support;

/// One browser at a time: SwiftShader renders on the CPU, and three at once
/// on a small machine make every page slow.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn styles_validate() {
    // No server needed: the styles are files; the address is not used.
    web_support::run_e2e("styles.test.mjs", "127.0.0.1:9".parse().unwrap(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_map() {
    web_support::require_built_portal();
    let db = common::TestDb::new().await.with_demo(0.05, 11).await;
    let addr = web_support::serve(common::app(&db).await).await;
    let _one = BROWSER.lock().await;
    web_support::run_e2e("public.test.mjs", addr, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deputy_district_view() {
    web_support::require_built_portal();
    let db = common::TestDb::new().await.with_demo(0.05, 11).await;
    let addr = web_support::serve(common::app(&db).await).await;
    let _one = BROWSER.lock().await;
    web_support::run_e2e("public_district.test.mjs", addr, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investor_map() {
    web_support::require_built_portal();
    let db = common::TestDb::new().await.with_demo(0.05, 11).await;
    let addr = web_support::serve(common::app(&db).await).await;
    let _one = BROWSER.lock().await;
    web_support::run_e2e("public_invest.test.mjs", addr, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_raster_basemap() {
    web_support::require_built_portal();
    let db = common::TestDb::new().await.with_demo(0.05, 11).await;
    // A free loopback port for the "external" tile server the browser test
    // starts: another origin than the server under test.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let registry = common::registry(&db).await;
    let app = common::app_with_config(&db, registry, |c| {
        c.basemap_url = Some(format!("http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"));
    });
    let addr = web_support::serve(app).await;
    let _one = BROWSER.lock().await;
    web_support::run_e2e(
        "public_basemap.test.mjs",
        addr,
        &[("GEOPORTAL_TEST_BASEMAP_PORT", port.to_string())],
    )
    .await;
}
