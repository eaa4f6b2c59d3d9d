//! `geoportal seed-tiles`: every tile of some layers over a zoom range and
//! a bounding box, built into this process's cache, into an MBTiles file,
//! or requested from a running server to warm its cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::encode::Tile;
use super::grid::{self, Bbox};
use super::mbtiles::{self, Metadata};
use super::request::{self, TileFilter};
use super::routes::{get_or_build, tile_key};
use super::sql::{self, TileSpec};
use super::{TileError, tilejson};
use crate::access::Viewer;
use crate::registry::Layer;
use crate::server::AppState;

/// Directory MBTiles files go to when given without a directory.
pub const TILES_DIR: &str = "tiles";

#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// One layer id or a comma list (a composite tileset).
    pub layers: String,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// Lon/lat; default: the extent of the layers' data.
    pub bbox: Option<Bbox>,
    /// Tiles built at once.
    pub concurrency: usize,
}

#[derive(Debug, Clone, Default)]
pub struct SeedSummary {
    pub tiles: u64,
    /// Tiles with at least one feature.
    pub non_empty: u64,
    /// Uncompressed MVT bytes of all tiles.
    pub bytes: u64,
    /// The largest tile, uncompressed.
    pub largest: usize,
    pub mbtiles: Option<PathBuf>,
}

/// Parses `10-16` or `14`.
pub fn parse_zooms(s: &str) -> Result<(u8, u8), TileError> {
    let bad = || TileError::BadRequest(format!("zooms must be `MIN-MAX` or `Z` within 0..=24, got `{s}`"));
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let a: u8 = a.trim().parse().map_err(|_| bad())?;
    let b: u8 = b.trim().parse().map_err(|_| bad())?;
    if a > b || b > super::MAX_ZOOM {
        return Err(bad());
    }
    Ok((a, b))
}

/// Where an MBTiles name goes: a bare file name lands in `tiles/`.
pub fn mbtiles_path(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => file.to_path_buf(),
        _ => Path::new(TILES_DIR).join(file),
    }
}

struct Plan {
    layers: Vec<Arc<Layer>>,
    bbox: Bbox,
    tiles: Vec<(u8, u32, u32)>,
}

async fn plan(state: &AppState, opts: &SeedOptions) -> Result<Plan, TileError> {
    let viewer = Viewer::anonymous();
    let layers = request::parse_layers(&state.registry, &viewer, &opts.layers)?;
    if opts.min_zoom > opts.max_zoom || opts.max_zoom > super::MAX_ZOOM {
        return Err(TileError::BadRequest("bad zoom range".into()));
    }
    let bbox = match opts.bbox {
        Some(b) => b,
        None => tilejson::bounds(&state.pool, &layers, &viewer, None)
            .await?
            .ok_or_else(|| TileError::BadRequest("the layers hold no data: give --bbox".into()))?,
    };
    let minz = layers.iter().map(|l| l.minzoom).min().unwrap_or(0).max(opts.min_zoom);
    let maxz = layers.iter().map(|l| l.maxzoom).max().unwrap_or(0).min(opts.max_zoom);
    let tiles = (minz..=maxz)
        .flat_map(|z| grid::tiles_in(&bbox, z).map(move |(x, y)| (z, x, y)))
        .collect();
    Ok(Plan { layers, bbox, tiles })
}

fn progress_bar(total: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} tiles ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Builds every tile into `state`'s cache (public viewer, no filter).
pub async fn into_cache(state: &AppState, opts: &SeedOptions, progress: bool) -> Result<SeedSummary, TileError> {
    let plan = plan(state, opts).await?;
    // Tiles are stored only while the change listener is up.
    state.tiles.start_listener(&state.pool);
    for _ in 0..100 {
        if state.tiles.is_live() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let viewer = Viewer::anonymous();
    let filter = TileFilter::default();
    let bar = progress_bar(plan.tiles.len() as u64, progress);
    let mut summary = SeedSummary::default();
    let layers = &plan.layers;
    let mut results = futures::stream::iter(plan.tiles.iter().copied())
        .map(|(z, x, y)| {
            let key = tile_key(layers, &viewer, (z, x, y), &filter);
            let viewer = &viewer;
            async move { get_or_build(state, &key, layers, viewer, None).await }
        })
        .buffer_unordered(opts.concurrency.max(1));
    while let Some(tile) = results.next().await {
        count(&mut summary, &*tile?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(summary)
}

fn count(summary: &mut SeedSummary, tile: &Tile) {
    summary.tiles += 1;
    summary.bytes += tile.raw_len as u64;
    summary.largest = summary.largest.max(tile.raw_len);
    if !tile.is_empty() {
        summary.non_empty += 1;
    }
}

/// Writes every non-empty tile into an MBTiles file at `path`.
pub async fn into_mbtiles(
    state: &AppState,
    opts: &SeedOptions,
    path: &Path,
    progress: bool,
) -> Result<SeedSummary, TileError> {
    let plan = plan(state, opts).await?;
    let viewer = Viewer::anonymous();
    let bar = progress_bar(plan.tiles.len() as u64, progress);
    // SQLite is blocking: one writer thread fed through a channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(u8, u32, u32, Arc<Tile>)>(64);
    let writer_path = path.to_path_buf();
    let writer = tokio::task::spawn_blocking(move || -> Result<mbtiles::Writer, TileError> {
        let w = mbtiles::Writer::create(&writer_path)?;
        while let Some((z, x, y, tile)) = rx.blocking_recv() {
            w.add(z, x, y, &tile.gzip()?)?;
        }
        Ok(w)
    });
    let mut summary = SeedSummary::default();
    let layers = &plan.layers;
    let mut results = futures::stream::iter(plan.tiles.iter().copied())
        .map(|(z, x, y)| {
            let viewer = &viewer;
            async move {
                let spec = TileSpec {
                    layers,
                    z,
                    x,
                    y,
                    viewer,
                    filter: None,
                };
                let raw = sql::build(&state.pool, &spec).await?;
                Ok::<_, TileError>((z, x, y, Arc::new(Tile::new(&raw)?)))
            }
        })
        .buffer_unordered(opts.concurrency.max(1));
    while let Some(result) = results.next().await {
        let (z, x, y, tile) = result?;
        count(&mut summary, &tile);
        if !tile.is_empty() && tx.send((z, x, y, tile)).await.is_err() {
            break; // the writer failed; its error is reported below
        }
        bar.inc(1);
    }
    drop(results);
    drop(tx);
    let w = writer
        .await
        .map_err(|e| TileError::Internal(format!("MBTiles writer: {e}")))??;
    let ids: Vec<&str> = plan.layers.iter().map(|l| l.id.as_str()).collect();
    let meta = Metadata {
        name: ids.join(","),
        description: plan
            .layers
            .iter()
            .map(|l| l.title.en.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        attribution: plan
            .layers
            .iter()
            .filter_map(|l| l.attribution.as_deref())
            .collect::<Vec<_>>()
            .join("; "),
        bounds: plan.bbox,
        minzoom: opts
            .min_zoom
            .max(plan.layers.iter().map(|l| l.minzoom).min().unwrap_or(0)),
        maxzoom: opts
            .max_zoom
            .min(plan.layers.iter().map(|l| l.maxzoom).max().unwrap_or(0)),
        json: serde_json::json!({
            "vector_layers": plan.layers.iter().map(|l| tilejson::vector_layer(l, &viewer)).collect::<Vec<_>>()
        }),
    };
    tokio::task::spawn_blocking(move || w.finish(&meta))
        .await
        .map_err(|e| TileError::Internal(format!("MBTiles writer: {e}")))??;
    bar.finish_and_clear();
    summary.mbtiles = Some(path.to_path_buf());
    Ok(summary)
}

/// Requests every tile from a running server at `base_url` so that its
/// cache holds them (the server builds and stores them as for any client).
pub async fn warm_server(
    state: &AppState,
    opts: &SeedOptions,
    base_url: &str,
    progress: bool,
) -> Result<SeedSummary, TileError> {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let plan = plan(state, opts).await?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<axum::body::Bytes>>();
    let bar = progress_bar(plan.tiles.len() as u64, progress);
    let base = base_url.trim_end_matches('/');
    let ids: Vec<&str> = plan.layers.iter().map(|l| l.id.as_str()).collect();
    let list = ids.join(",");
    let mut summary = SeedSummary::default();
    let mut results = futures::stream::iter(plan.tiles.iter().copied())
        .map(|(z, x, y)| {
            let client = &client;
            let uri = format!("{base}/tiles/{list}/{z}/{x}/{y}.mvt");
            async move {
                let req = axum::http::Request::get(&uri)
                    .header(axum::http::header::ACCEPT_ENCODING, "gzip")
                    .body(Empty::new())
                    .map_err(|e| TileError::BadRequest(format!("{uri}: {e}")))?;
                let resp = client
                    .request(req)
                    .await
                    .map_err(|e| TileError::Internal(format!("{uri}: {e}")))?;
                let status = resp.status();
                let body = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| TileError::Internal(format!("{uri}: {e}")))?
                    .to_bytes();
                if !status.is_success() {
                    return Err(TileError::Internal(format!("{uri}: HTTP {status}")));
                }
                Ok::<_, TileError>(body.len())
            }
        })
        .buffer_unordered(opts.concurrency.max(1));
    while let Some(result) = results.next().await {
        let len = result?;
        summary.tiles += 1;
        summary.bytes += len as u64;
        summary.largest = summary.largest.max(len);
        if len > 0 {
            summary.non_empty += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// The flags of `geoportal seed-tiles`.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// One layer id or a comma list (one composite tileset).
    #[arg(long)]
    pub layers: String,
    /// Zoom range, e.g. 10-16 (clipped to the layers' own zooms).
    #[arg(long, default_value = "10-16")]
    pub zooms: String,
    /// minlon,minlat,maxlon,maxlat (default: the extent of the layers' data).
    #[arg(long)]
    pub bbox: Option<String>,
    /// Write an MBTiles file instead (a bare file name goes into tiles/).
    #[arg(long)]
    pub mbtiles: Option<PathBuf>,
    /// The running server whose cache to warm (default: the public URL).
    #[arg(long)]
    pub url: Option<String>,
    /// Tiles built or requested at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// `geoportal seed-tiles`: writes the MBTiles file, or warms the server.
pub async fn run_cli(state: &AppState, args: SeedArgs) -> anyhow::Result<()> {
    let (min_zoom, max_zoom) = parse_zooms(&args.zooms)?;
    let bbox = match &args.bbox {
        Some(s) => Some(Bbox::parse(s).ok_or_else(|| anyhow::anyhow!("--bbox must be minlon,minlat,maxlon,maxlat"))?),
        None => None,
    };
    let opts = SeedOptions {
        layers: args.layers,
        min_zoom,
        max_zoom,
        bbox,
        concurrency: args.concurrency,
    };
    let started = std::time::Instant::now();
    let summary = match &args.mbtiles {
        Some(file) => into_mbtiles(state, &opts, &mbtiles_path(file), true).await?,
        None => {
            let url = args.url.clone().unwrap_or_else(|| state.config.public_url());
            warm_server(state, &opts, &url, true).await?
        }
    };
    let secs = started.elapsed().as_secs_f64();
    match &summary.mbtiles {
        Some(p) => println!(
            "{} tiles ({} with features, largest {} bytes) written to {} in {secs:.1} s",
            summary.tiles,
            summary.non_empty,
            summary.largest,
            p.display()
        ),
        None => println!(
            "{} tiles ({} with features) requested in {secs:.1} s: the server's cache is warm",
            summary.tiles, summary.non_empty
        ),
    }
    Ok(())
}
