//! Map label glyphs: `GET /fonts/{fontstack}/{start}-{end}.pbf`, the
//! signed-distance-field glyph ranges MapLibre needs to draw any text
//! (street, district and water names), made from the TrueType fonts of
//! `GEOPORTAL_FONTS_DIR` (Debian's `fonts-dejavu-core` and `-extra`: Latin
//! and Cyrillic) — no font server on the internet.
//!
//! Glyphs follow the format every MapLibre glyph server uses (node-fontnik,
//! martin): 24 px em, a 3 px buffer, distances out to 8 px, cut off at 0.25.
//! Outlines are rasterised by `ab_glyph`, the distance field is
//! `sdf_glyph_renderer`'s, the protobuf is written with `prost`. A range is
//! rendered once and kept in memory.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prost::Message;

use crate::error::Problem;
use crate::server::AppState;

const EM_PX: f32 = 24.0;
const BUFFER: usize = 3;
const RADIUS: usize = 8;
const CUTOFF: f64 = 0.25;

#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error("unknown font stack `{0}`: see /fonts for the fonts this server has")]
    UnknownStack(String),
    #[error("bad glyph range `{0}`: a range of 256 code points such as 0-255.pbf or 1024-1279.pbf")]
    BadRange(String),
    #[error("cannot render a glyph: {0}")]
    Render(String),
}

impl IntoResponse for FontError {
    fn into_response(self) -> Response {
        let status = match self {
            FontError::UnknownStack(_) => StatusCode::NOT_FOUND,
            FontError::BadRange(_) => StatusCode::BAD_REQUEST,
            FontError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "glyphs");
        }
        Problem::new(status, Some(self.to_string())).into_response()
    }
}

// glyphs.proto of the Mapbox/MapLibre glyph format. Every field of a glyph is
// `required` there: written even when zero (MapLibre reads a missing width as
// undefined).
#[derive(Clone, PartialEq, Message)]
struct Glyphs {
    #[prost(message, repeated, tag = "1")]
    stacks: Vec<Fontstack>,
}

#[derive(Clone, PartialEq, Message)]
struct Fontstack {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    range: Option<String>,
    #[prost(message, repeated, tag = "3")]
    glyphs: Vec<Glyph>,
}

#[derive(Clone, PartialEq, Message)]
struct Glyph {
    #[prost(uint32, optional, tag = "1")]
    id: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "2")]
    bitmap: Option<Vec<u8>>,
    #[prost(uint32, optional, tag = "3")]
    width: Option<u32>,
    #[prost(uint32, optional, tag = "4")]
    height: Option<u32>,
    #[prost(sint32, optional, tag = "5")]
    left: Option<i32>,
    #[prost(sint32, optional, tag = "6")]
    top: Option<i32>,
    #[prost(uint32, optional, tag = "7")]
    advance: Option<u32>,
}

/// The fonts of the fonts directory by their full names ("DejaVu Sans
/// Bold"), and the ranges rendered so far.
#[derive(Clone)]
pub struct Fonts {
    faces: Arc<BTreeMap<String, Arc<FontVec>>>,
    rendered: moka::sync::Cache<(String, u32), bytes::Bytes>,
}

impl Fonts {
    /// Every `.ttf`/`.otf` of `dir`; a missing or unreadable directory or
    /// file leaves the server without those fonts (logged), not down.
    pub fn load(dir: &Path) -> Fonts {
        let mut faces = BTreeMap::new();
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
                    if !matches!(ext.as_deref(), Some("ttf" | "otf")) {
                        continue;
                    }
                    match std::fs::read(&path).map_err(|e| e.to_string()).and_then(face) {
                        Ok((name, font)) => {
                            faces.entry(name).or_insert_with(|| Arc::new(font));
                        }
                        Err(e) => tracing::warn!(file = %path.display(), error = %e, "font skipped"),
                    }
                }
            }
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "no fonts: map labels will not draw"),
        }
        Fonts {
            faces: Arc::new(faces),
            // A range is 10–60 KB; all Latin and Cyrillic ranges of a few
            // fonts fit easily.
            rendered: moka::sync::Cache::builder()
                .weigher(|_, v: &bytes::Bytes| u32::try_from(v.len()).unwrap_or(u32::MAX))
                .max_capacity(64 * 1024 * 1024)
                .build(),
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.faces.keys().cloned().collect()
    }

    /// The glyph range `start..=start + 255` of a font stack: each code
    /// point from the first font of the stack that has it.
    pub fn range(&self, stack: &str, start: u32) -> Result<bytes::Bytes, FontError> {
        let names: Vec<&str> = stack.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let faces: Vec<&FontVec> = names
            .iter()
            .filter_map(|n| self.faces.get(*n).map(|f| f.as_ref()))
            .collect();
        if faces.is_empty() {
            return Err(FontError::UnknownStack(stack.to_string()));
        }
        let key = (names.join(","), start);
        if let Some(b) = self.rendered.get(&key) {
            return Ok(b);
        }
        let end = start + 255;
        let mut glyphs = Vec::new();
        for cp in start..=end {
            let Some(ch) = char::from_u32(cp) else { continue };
            let Some(font) = faces.iter().find(|f| f.glyph_id(ch).0 != 0) else {
                continue;
            };
            glyphs.push(render(font, ch, cp)?);
        }
        let doc = Glyphs {
            stacks: vec![Fontstack {
                name: Some(names.join(", ")),
                range: Some(format!("{start}-{end}")),
                glyphs,
            }],
        };
        let bytes = bytes::Bytes::from(doc.encode_to_vec());
        self.rendered.insert(key, bytes.clone());
        Ok(bytes)
    }
}

/// A font and its full name (name table: full name, else family and
/// subfamily).
fn face(bytes: Vec<u8>) -> Result<(String, FontVec), String> {
    let name = {
        let parsed = ttf_parser::Face::parse(&bytes, 0).map_err(|e| e.to_string())?;
        let get = |id: u16| {
            parsed
                .names()
                .into_iter()
                .filter(|n| n.name_id == id && n.is_unicode())
                .find_map(|n| n.to_string())
        };
        get(ttf_parser::name_id::FULL_NAME)
            .or_else(|| {
                Some(format!(
                    "{} {}",
                    get(ttf_parser::name_id::FAMILY)?,
                    get(ttf_parser::name_id::SUBFAMILY)?
                ))
            })
            .ok_or("the font has no name")?
    };
    let font = FontVec::try_from_vec(bytes).map_err(|e| e.to_string())?;
    Ok((name, font))
}

/// One glyph: its distance field and metrics at a 24 px em.
fn render(font: &FontVec, ch: char, cp: u32) -> Result<Glyph, FontError> {
    // ab_glyph scales by the font's height (ascent − descent); the glyph
    // format is defined for an em of 24 px.
    let upem = font.units_per_em().unwrap_or(2048.0);
    let scale = PxScale::from(EM_PX * font.height_unscaled() / upem);
    let scaled = font.as_scaled(scale);
    let id = font.glyph_id(ch);
    let ascender = scaled.ascent().round() as i32;
    let advance = scaled.h_advance(id).round().max(0.0) as u32;
    let glyph = id.with_scale_and_position(scale, ab_glyph::point(0.0, 0.0));
    let Some(outline) = font.outline_glyph(glyph) else {
        // a space: advance only
        return Ok(Glyph {
            id: Some(cp),
            bitmap: None,
            width: Some(0),
            height: Some(0),
            left: Some(0),
            top: Some(-ascender),
            advance: Some(advance),
        });
    };
    let bounds = outline.px_bounds();
    let (w, h) = (bounds.width().max(0.0) as usize, bounds.height().max(0.0) as usize);
    let mut alpha = vec![0u8; w * h];
    outline.draw(|x, y, c| {
        if let Some(p) = alpha.get_mut(y as usize * w + x as usize) {
            *p = (c.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    });
    let bitmap = sdf_glyph_renderer::BitmapGlyph::from_unbuffered(&alpha, w, h, BUFFER)
        .map_err(|e| FontError::Render(format!("U+{cp:04X}: {e}")))?;
    let sdf = sdf_glyph_renderer::clamp_to_u8(&bitmap.render_sdf(RADIUS), CUTOFF)
        .map_err(|e| FontError::Render(format!("U+{cp:04X}: {e}")))?;
    Ok(Glyph {
        id: Some(cp),
        bitmap: Some(sdf),
        width: Some(w as u32),
        height: Some(h as u32),
        left: Some(bounds.min.x.round() as i32),
        // from the top of the em box (the ascender) down to the bitmap's top
        top: Some((-bounds.min.y).round() as i32 - ascender),
        advance: Some(advance),
    })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/fonts", get(list))
        .route("/fonts/{stack}/{range}", get(glyphs))
}

/// `GET /fonts`: the font names a style may use in `text-font`.
#[utoipa::path(get, path = "/fonts", tag = "tiles",
    responses((status = 200, description = "Font names usable in a style's `text-font`", content_type = "application/json")))]
pub async fn list(State(state): State<AppState>) -> Response {
    axum::Json(serde_json::json!({ "fonts": state.fonts.names() })).into_response()
}

/// `GET /fonts/{stack}/{start}-{end}.pbf`.
#[utoipa::path(get, path = "/fonts/{stack}/{range}", tag = "tiles",
    params(
        ("stack" = String, Path, description = "Font names, comma-separated (the first that has a glyph draws it)"),
        ("range" = String, Path, description = "`{start}-{end}.pbf`, 256 code points from a multiple of 256"),
    ),
    responses(
        (status = 200, description = "Signed distance field glyphs (Mapbox glyph protobuf)", content_type = "application/x-protobuf"),
        (status = 400, description = "Not a glyph range", content_type = "application/problem+json"),
        (status = 404, description = "No font of the stack is on this server", content_type = "application/problem+json"),
    ))]
pub async fn glyphs(
    State(state): State<AppState>,
    UrlPath((stack, range)): UrlPath<(String, String)>,
) -> Result<Response, FontError> {
    let start = parse_range(&range).ok_or_else(|| FontError::BadRange(range.clone()))?;
    let fonts = state.fonts.clone();
    // Rendering a range takes tens of milliseconds of CPU the first time.
    let bytes = tokio::task::spawn_blocking(move || fonts.range(&stack, start))
        .await
        .map_err(|e| FontError::Render(e.to_string()))??;
    let mut r = bytes.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(r)
}

/// `1024-1279.pbf` → 1024; only whole ranges of 256 within the BMP.
fn parse_range(s: &str) -> Option<u32> {
    let (a, b) = s.strip_suffix(".pbf")?.split_once('-')?;
    let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
    (a % 256 == 0 && b == a + 255 && b <= 0xFFFF).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_whole_blocks_of_256() {
        assert_eq!(parse_range("0-255.pbf"), Some(0));
        assert_eq!(parse_range("1024-1279.pbf"), Some(1024));
        for bad in [
            "0-256.pbf",
            "1-256.pbf",
            "0-255",
            "65536-65791.pbf",
            "a-b.pbf",
            "-1-254.pbf",
            "",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }
}
