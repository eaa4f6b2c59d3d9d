//! The web portal's pages and its settings: each page of `web/` (built by
//! Vite into `web/dist`) has a clean path, MapLibre styles come from
//! `styles/`, and `/api/portal` tells the pages what this server offers.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};

use super::AppState;
use crate::config::Config;

/// Clean paths of the portal's pages and the HTML file each one is.
pub const PAGES: &[(&str, &str)] = &[
    ("/districts/{number}", "district.html"),
    ("/districts", "district.html"),
    ("/invest", "invest.html"),
    ("/editor", "editor.html"),
    ("/office", "office.html"),
    ("/admin", "admin.html"),
];

pub fn routes(config: &Config) -> Router<AppState> {
    let mut router = Router::new()
        .route("/api/portal", get(portal))
        .nest_service("/styles", ServeDir::new(&config.styles_dir));
    for (path, file) in PAGES {
        router = router.route_service(path, ServeFile::new(config.web_dir.join(file)));
    }
    router
}

/// What the pages need to know before they draw anything.
#[utoipa::path(get, path = "/api/portal", tag = "server",
    responses((status = 200, description = "Settings of the web portal: public URL, optional external basemap (null = drawn from our own base layers), styles, languages", content_type = "application/json")))]
pub async fn portal(State(state): State<AppState>) -> impl IntoResponse {
    let config = &state.config;
    Json(json!({
        "public_url": config.public_url(),
        // Without an external basemap the portal draws styles/basemap.json
        // from our own base layers: nothing is fetched from the internet.
        "basemap_url": config.basemap_url,
        "styles": "/styles/",
        "languages": ["uk", "en"],
        "layers": "/api/layers",
    }))
}
