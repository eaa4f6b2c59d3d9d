//! A built tile as it is cached and served: compressed once with gzip
//! (brotli made on the first request that prefers it and kept), a weak
//! `ETag` from the content, `If-None-Match` → 304, and 204 for an empty tile.

use std::io::{Read, Write};
use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::{MVT_CONTENT_TYPE, TileError};

/// A tile, compressed.
#[derive(Debug)]
pub struct Tile {
    /// Length of the uncompressed MVT; 0 for an empty tile.
    pub raw_len: usize,
    /// Kept only by tiles that will not be cached (compressing those would
    /// be work for nothing when the client takes identity).
    raw: Option<Bytes>,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
    /// Weak validator (the same bytes under any content coding).
    pub etag: String,
}

fn etag(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    format!("W/\"{}\"", hex::encode(&digest[..12]))
}

fn gzip(raw: &[u8]) -> Result<Bytes, TileError> {
    if raw.is_empty() {
        return Ok(Bytes::new());
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(raw.len() / 2), flate2::Compression::fast());
    enc.write_all(raw)
        .map_err(|e| TileError::Internal(format!("gzip: {e}")))?;
    Ok(Bytes::from(
        enc.finish().map_err(|e| TileError::Internal(format!("gzip: {e}")))?,
    ))
}

impl Tile {
    /// A tile for the cache: gzip-compressed now, once.
    pub fn new(raw: &[u8]) -> Result<Tile, TileError> {
        let compressed = OnceLock::new();
        let _ = compressed.set(gzip(raw)?);
        Ok(Tile {
            raw_len: raw.len(),
            raw: None,
            gzip: compressed,
            brotli: OnceLock::new(),
            etag: etag(raw),
        })
    }

    /// A tile served once and not cached: compressed only if asked.
    pub fn uncached(raw: Vec<u8>) -> Tile {
        Tile {
            raw_len: raw.len(),
            etag: etag(&raw),
            raw: Some(Bytes::from(raw)),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.raw_len == 0
    }

    /// Bytes charged to the cache: the gzip copy, and as much again for
    /// the brotli copy a client may ask for later.
    pub fn weight(&self) -> usize {
        2 * self.gzip.get().map_or(self.raw_len, |g| g.len()) + self.etag.len() + 64
    }

    pub fn gzip(&self) -> Result<Bytes, TileError> {
        if let Some(g) = self.gzip.get() {
            return Ok(g.clone());
        }
        let g = gzip(&self.raw()?)?;
        Ok(self.gzip.get_or_init(|| g).clone())
    }

    fn brotli(&self) -> Result<Bytes, TileError> {
        if let Some(b) = self.brotli.get() {
            return Ok(b.clone());
        }
        let raw = self.raw()?;
        let mut out = Vec::with_capacity(raw.len() / 2);
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(&raw)
                .map_err(|e| TileError::Internal(format!("brotli: {e}")))?;
        }
        Ok(self.brotli.get_or_init(|| Bytes::from(out)).clone())
    }

    /// The uncompressed MVT.
    pub fn raw(&self) -> Result<Bytes, TileError> {
        if let Some(r) = &self.raw {
            return Ok(r.clone());
        }
        let Some(g) = self.gzip.get().filter(|g| !g.is_empty()) else {
            return Ok(Bytes::new());
        };
        let mut out = Vec::with_capacity(self.raw_len);
        flate2::read::GzDecoder::new(&g[..])
            .read_to_end(&mut out)
            .map_err(|e| TileError::Internal(format!("gunzip: {e}")))?;
        Ok(Bytes::from(out))
    }
}

/// Which coding the client takes, by preference: brotli, gzip, identity.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case(coding) && !q_zero
        })
}

/// Whether `If-None-Match` names this tile (weak comparison).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let ours = bare(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || bare(t) == ours)
}

/// The response for `tile`: 204 when empty, 304 on a matching
/// `If-None-Match`, else the MVT in the best coding the client takes.
pub fn respond(tile: &Tile, headers: &HeaderMap, cache_control: &HeaderValue) -> Result<Response, TileError> {
    let mut builder = Response::builder()
        .header(header::CACHE_CONTROL, cache_control.clone())
        .header(header::VARY, "Accept-Encoding");
    if tile.is_empty() {
        return builder
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
            .map_err(|e| TileError::Internal(e.to_string()));
    }
    builder = builder.header(header::ETAG, tile.etag.as_str());
    if not_modified(headers, &tile.etag) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(|e| TileError::Internal(e.to_string()));
    }
    builder = builder.header(header::CONTENT_TYPE, MVT_CONTENT_TYPE);
    let (body, coding) = if accepts(headers, "br") {
        (tile.brotli()?, Some("br"))
    } else if accepts(headers, "gzip") {
        (tile.gzip()?, Some("gzip"))
    } else {
        (tile.raw()?, None)
    };
    if let Some(c) = coding {
        builder = builder.header(header::CONTENT_ENCODING, c);
    }
    builder
        .status(StatusCode::OK)
        .body(Body::from(body))
        .map_err(|e| TileError::Internal(e.to_string()))
}
