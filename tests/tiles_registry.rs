//! The tile keys of a layer file (`cluster`, `tile_minzoom`, `tile_engine`)
//! are checked when layers load.

mod common;

use geoportal::registry::Registry;

fn load_with(file: &str, edit: impl Fn(String) -> String) -> Result<Registry, geoportal::registry::RegistryError> {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::layers_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if name == file {
            text = edit(text);
        }
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    Registry::load_dir(dir.path())
}

#[test]
fn the_cluster_key_is_validated() {
    let ok = load_with("appeals.toml", |t| t).unwrap();
    let spec = ok.get("appeals").unwrap().cluster.clone().unwrap();
    assert_eq!((spec.below_zoom, spec.dominant.as_deref()), (15, Some("category")));

    let polygons = load_with("land_plots.toml", |t| {
        t.replacen("minzoom = 13", "minzoom = 13\ncluster = { below_zoom = 15 }", 1)
    })
    .unwrap_err();
    assert!(polygons.problems().iter().any(|p| p.key == "cluster"), "{polygons}");

    let cases = [
        ("below_zoom = 11, dominant = \"category\"", "cluster.below_zoom"),
        ("below_zoom = 30", "cluster.below_zoom"),
        ("below_zoom = 15, dominant = \"nope\"", "cluster.dominant"),
        ("below_zoom = 15, dominant = \"created_at\"", "cluster.dominant"),
    ];
    for (value, key) in cases {
        let err = load_with("appeals.toml", |t| {
            t.replace(
                "cluster = { below_zoom = 15, dominant = \"category\" }",
                &format!("cluster = {{ {value} }}"),
            )
        })
        .unwrap_err();
        assert!(err.problems().iter().any(|p| p.key == key), "{value}: {err}");
    }
    let unknown = load_with("appeals.toml", |t| {
        t.replace("dominant = \"category\" }", "dominant = \"category\", radius = 3 }")
    })
    .unwrap_err();
    assert!(!unknown.problems().is_empty(), "unknown keys in `cluster` are refused");
}

#[test]
fn the_tile_minzoom_and_tile_engine_keys_are_validated() {
    use geoportal::registry::TileEngine;
    let ok = load_with("land_plots.toml", |t| {
        t.replacen("maxzoom = 22", "maxzoom = 22\ntile_engine = \"rust\"", 1)
    })
    .unwrap();
    let plots = ok.get("land_plots").unwrap();
    assert_eq!(plots.tile_engine, Some(TileEngine::Rust));
    assert_eq!(plots.attribute("cadastral_number").unwrap().tile_minzoom, Some(14));
    assert_eq!(plots.attribute("ownership").unwrap().tile_minzoom, None);

    for (from, to) in [
        // Below the layer's minzoom, above its maxzoom, or without `tile`.
        ("tile_minzoom = 14", "tile_minzoom = 12"),
        ("tile_minzoom = 14", "tile_minzoom = 23"),
        ("tile = true\n# From z14", "tile = false\n# From z14"),
    ] {
        let err = load_with("land_plots.toml", |t| t.replacen(from, to, 1)).unwrap_err();
        assert!(
            err.problems().iter().any(|p| p.key.ends_with("tile_minzoom")),
            "{to}: {err}"
        );
    }
    let unknown = load_with("land_plots.toml", |t| {
        t.replacen("maxzoom = 22", "maxzoom = 22\ntile_engine = \"mapnik\"", 1)
    });
    assert!(unknown.is_err(), "an unknown tile engine is refused");
}
